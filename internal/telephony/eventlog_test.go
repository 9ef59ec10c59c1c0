package telephony

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
	"github.com/omstil/omstil/queue"
)

// eventStore is a migrated SQLite store and an organisation index whose
// default is the store's default organisation, which owns queue
// default/bs and agent 7.
func eventStore(t *testing.T) (*config.Store, *OrgIndex, config.OrgID) {
	t.Helper()
	st := configtest.SQLite(t, config.Options{})
	def, err := st.DefaultOrg(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	orgs := NewOrgIndex(def.ID)
	orgs.Update(config.Runtime{
		QueueInfo: map[queue.QueueID]config.RuntimeQueue{"default/bs": {OrgID: def.ID}},
		AgentInfo: map[queue.AgentID]config.RuntimeAgent{"7": {OrgID: def.ID}},
	})
	return st, orgs, def.ID
}

// Issue 14: an agent whose offers fail over and over. Every event the
// engine emits for it is a row of the log; before, OfferEnded (and the
// other events engineEvent did not know) had neither a call nor an agent,
// and the store refused the whole batch they were in.
func TestEventWriterKeepsEveryEventOfFailingOffers(t *testing.T) {
	st, orgs, _ := eventStore(t)
	w := NewEventWriter(st, orgs, slog.New(slog.DiscardHandler))

	e := queue.New(queue.Options{})
	if err := e.SetQueue(queue.QueueConfig{ID: "default/bs"}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgent(queue.AgentConfig{ID: "7", Queues: []queue.Membership{{Queue: "default/bs"}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var logged int
	feed := func(outs []queue.Output) {
		for _, o := range outs {
			if _, ok := engineEvent(o); ok {
				logged++
			}
			w.Engine(o)
		}
	}
	feed(e.Handle(now, queue.AgentLogin{Agent: "7"}))
	feed(e.Handle(now, queue.CallArrived{Call: "c1", Queue: "default/bs", Caller: "+4512345678"}))
	for range 20 {
		feed(e.Handle(now, queue.OfferFailed{Call: "c1", Agent: "7", Reason: queue.FailUnavailable}))
		now = now.Add(30 * time.Second)
		feed(e.Advance(now))
	}
	feed(e.Handle(now, queue.OfferAnswered{Call: "c1", Agent: "7"})) // stale or not: logged either way
	feed(e.Handle(now, queue.CallHungUp{Call: "unknown"}))          // Ignored: names the call in its input
	w.Close()

	rows, err := st.CallEventsSince(context.Background(), config.CallEventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != logged {
		t.Fatalf("%d rows in the log, want every one of the %d events", len(rows), logged)
	}
	kinds := map[string]int{}
	for _, r := range rows {
		kinds[r.Kind]++
	}
	if kinds["OfferEnded"] < 20 || kinds["Ignored"] == 0 {
		t.Fatalf("kinds logged: %v; want the 20 failed offers and the ignored input", kinds)
	}
}

// Every event of the engine becomes a row that names what it is about.
func TestEngineEventNamesCallAndAgent(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		out         queue.Output
		call, agent string
	}{
		{queue.CallJoined{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.Offered{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.OfferEnded{At: at, Call: "c", Agent: "a", Reason: queue.FailBusy}, "c", "a"},
		{queue.Answered{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.CallCompleted{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.Abandoned{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.Overflowed{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.PriorityChanged{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.CallbackQueued{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.CallbackAttempted{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.CallbackConnected{At: at, Call: "c", Queue: "q", Agent: "a"}, "c", "a"},
		{queue.CallbackFailed{At: at, Call: "c", Queue: "q"}, "c", ""},
		{queue.AgentStateChanged{At: at, Agent: "a"}, "", "a"},
		{queue.Ignored{At: at, Input: queue.OfferFailed{Call: "c", Agent: "a"}}, "c", "a"},
		{queue.Ignored{At: at, Input: queue.AgentPause{Agent: "a"}}, "", "a"},
		{queue.Ignored{At: at, Input: queue.CallbackRequested{Call: "c", Number: "+4512345678"}}, "c", ""},
	}
	for _, c := range cases {
		ev, ok := engineEvent(c.out)
		if !ok || ev.CallID != c.call || ev.Agent != c.agent || !ev.At.Equal(at) {
			t.Errorf("%T: row %+v (logged %v), want call %q agent %q at %v", c.out, ev, ok, c.call, c.agent, at)
		}
	}
	if _, ok := engineEvent(queue.Offer{At: at, Call: "c", Agent: "a"}); ok {
		t.Error("a command is logged")
	}
}
