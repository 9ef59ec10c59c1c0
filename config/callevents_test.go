package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/config/configtest"
)

func TestCheckCallEvent(t *testing.T) {
	t.Parallel()
	good := config.CallEvent{OrgID: 1, Kind: "OfferEnded", CallID: "c1", Agent: "7", Caller: "+4512345678", Data: `{"x":1}`}
	cases := []struct {
		name  string
		edit  func(*config.CallEvent)
		field string // "" = valid
	}{
		{"valid", func(*config.CallEvent) {}, ""},
		{"agent only", func(e *config.CallEvent) { e.CallID = "" }, ""},
		{"call only", func(e *config.CallEvent) { e.Agent = "" }, ""},
		{"no organisation", func(e *config.CallEvent) { e.OrgID = 0 }, "org_id"},
		{"no kind", func(e *config.CallEvent) { e.Kind = "" }, "kind"},
		{"neither call nor agent", func(e *config.CallEvent) { e.CallID, e.Agent = "", "" }, "call_id"},
		{"caller not UTF-8", func(e *config.CallEvent) { e.Caller = "+45\xff123" }, "caller"},
		{"NUL in data", func(e *config.CallEvent) { e.Data = "{\x00}" }, "data"},
		{"queue not UTF-8", func(e *config.CallEvent) { e.Queue = "\xc3" }, "queue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := good
			c.edit(&e)
			err := config.CheckCallEvent(e)
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *config.ValidationError
			if !errors.Is(err, config.ErrCallEventRefused) || !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("error %v, want a refusal naming %s", err, c.field)
			}
			if strings.Contains(err.Error(), "4512345678") || strings.Contains(err.Error(), "123") {
				t.Fatalf("the error shows the caller's number: %v", err)
			}
		})
	}
}

// The store tells refused events (sending them again cannot help) from a
// database that did not answer (it can).
func TestAppendCallEventsRefusalIsTyped(t *testing.T) {
	t.Parallel()
	for _, b := range configtest.Backends(t, config.Options{}) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			org, _ := mustAdmin(t, s)
			at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
			ok := config.CallEvent{OrgID: org.ID, At: at, Kind: "CallJoined", CallID: "c1", Caller: "+4512345678"}
			bad := ok
			bad.CallID = ""
			err := s.AppendCallEvents(ctx, []config.CallEvent{ok, bad})
			if !errors.Is(err, config.ErrCallEventRefused) || !strings.Contains(err.Error(), "event 1") {
				t.Fatalf("an event without call or agent: %v, want ErrCallEventRefused naming event 1", err)
			}
			noOrg := ok
			noOrg.OrgID = org.ID + 1000
			if err := s.AppendCallEvents(ctx, []config.CallEvent{noOrg}); !errors.Is(err, config.ErrCallEventRefused) {
				t.Fatalf("an organisation that does not exist: %v, want ErrCallEventRefused", err)
			}
			if got, _ := s.CallEventsSince(ctx, config.CallEventQuery{}); len(got) != 0 {
				t.Fatalf("a refused batch wrote %d rows", len(got))
			}
			s.Close()
			err = s.AppendCallEvents(ctx, []config.CallEvent{ok})
			if err == nil || errors.Is(err, config.ErrCallEventRefused) {
				t.Fatalf("closed database: %v, want an error that is not a refusal", err)
			}
		})
	}
}
