package softphone

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/internal/g711"
)

// asteriskTarget is the ARI the integration tests talk to: the Asterisk
// at OMSTIL_TEST_ARI_URL (with OMSTIL_TEST_ARI_USER/_PASSWORD, and
// OMSTIL_TEST_RTP_HOST, the address it reaches omstil's relay on), or the
// ARI simulator in this process.
func asteriskTarget(t *testing.T) (cfg ariclient.Config, rtpHost string) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rtpHost = "127.0.0.1"
	if u := os.Getenv("OMSTIL_TEST_ARI_URL"); u != "" {
		if h := os.Getenv("OMSTIL_TEST_RTP_HOST"); h != "" {
			rtpHost = h
		}
		t.Logf("running against the Asterisk at %s", u)
		return ariclient.Config{URL: u, User: os.Getenv("OMSTIL_TEST_ARI_USER"), Password: os.Getenv("OMSTIL_TEST_ARI_PASSWORD"), Logger: quiet}, rtpHost
	}
	t.Log("OMSTIL_TEST_ARI_URL not set: running against the ARI simulator")
	sim := arisim.New(arisim.Options{User: "omstil", Password: "sim-secret", Logger: quiet})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return ariclient.Config{URL: srv.URL + "/ari", User: "omstil", Password: "sim-secret", Logger: quiet}, rtpHost
}

// TestRelayThroughAsterisk: two agents' calls, their externalMedia
// channels in one mixing bridge in Asterisk, on the shared relay port and
// with a socket per call. Anna's microphone (a 1 kHz tone) goes out of
// the relay's writing socket to her channel's RTP address, Asterisk mixes
// it into Bo's channel, which sends it from its own address back to the
// relay, whose reading socket hands it to Bo's page. So Asterisk takes
// the writing sockets' packets, and its own reach the reading sockets and
// the right page. Anna does not hear herself. (That the agents' audio
// leaves from the relay's own address is TestMuxConnWritesFromThePort's
// and TestSenderSharesTheCallsPort's: Asterisk's strict RTP learns
// whatever source comes first, so this test would pass without it.)
func TestRelayThroughAsterisk(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := "socket per call"
		if shared {
			name = "shared port"
		}
		t.Run(name, func(t *testing.T) { relayThroughAsterisk(t, shared) })
	}
}

func relayThroughAsterisk(t *testing.T, shared bool) {
	cfg, rtpHost := asteriskTarget(t)
	const app = "omstil-softphone-test"
	cfg.Apps = []string{app}
	cli, err := ariclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// entered closes a channel's entry on its StasisStart: Asterisk
	// answers externalMedia before the channel is in the app, and adding
	// it to a bridge before that is a 422 "Channel not in Stasis
	// application".
	var mu sync.Mutex
	entered := map[ariclient.ChannelID]chan struct{}{}
	enteredCh := func(id ariclient.ChannelID) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if entered[id] == nil {
			entered[id] = make(chan struct{})
		}
		return entered[id]
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, func(_ context.Context, ev ariclient.Event) {
			if ev, ok := ev.(*ariclient.StasisStart); ok {
				close(enteredCh(ev.Channel.ID))
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done; cli.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, stop := context.WithTimeout(ctx, 2*time.Second)
		err := cli.CheckApps(c)
		stop()
		if cli.Connected() && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app %s is not registered: connected %v, %v", app, cli.Connected(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rest := func() context.Context {
		c, stop := context.WithTimeout(ctx, 5*time.Second)
		t.Cleanup(stop)
		return c
	}

	m, err := New(Config{RelayHost: rtpHost, PortMin: 47500, PortMax: 47509, LoopbackOnly: true, SharedPort: shared}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	prefix := fmt.Sprintf("sp-%d-", time.Now().UnixNano())
	type agent struct {
		s    *Session
		sink sinkChan
		ch   ariclient.ChannelID
	}
	var agents [2]*agent
	for i, name := range []string{"anna", "bo"} {
		s, err := m.openSession(AgentID(name))
		if err != nil {
			t.Fatal(err)
		}
		a := &agent{s: s, sink: make(sinkChan, 512), ch: ariclient.ChannelID(prefix + name)}
		s.down.setSink(a.sink)
		call := CallID("call-" + name)
		addr, err := s.AttachCall(call)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := cli.ExternalMedia(rest(), ariclient.ExternalMediaRequest{ChannelID: a.ch, App: app, ExternalHost: addr, Format: "ulaw"})
		if err != nil {
			t.Fatalf("externalMedia for %s: %v", name, err)
		}
		t.Cleanup(func() { cli.Hangup(context.Background(), a.ch, "normal") })
		if err := s.SetRemote(call, ch.ExternalMediaAddr()); err != nil {
			t.Fatalf("SetRemote(%s): %v", ch.ExternalMediaAddr(), err)
		}
		agents[i] = a
	}
	for _, a := range agents {
		select {
		case <-enteredCh(a.ch):
		case <-time.After(15 * time.Second):
			t.Fatalf("the externalMedia channel %s never entered the app", a.ch)
		}
	}
	br, err := cli.CreateBridge(rest(), ariclient.CreateBridgeRequest{Type: "mixing", ID: ariclient.BridgeID(prefix + "bridge")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.DestroyBridge(context.Background(), br.ID) })
	if err := cli.AddChannel(rest(), br.ID, agents[0].ch, agents[1].ch); err != nil {
		t.Fatal(err)
	}

	// Anna speaks: a 1 kHz tone, one packet every 20 ms, as pion's reader
	// hands the relay her microphone.
	stop := make(chan struct{})
	spoke := make(chan struct{})
	go func() {
		defer close(spoke)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := pcmu(0x1234, seq, uint32(seq)*160, 0)
			for i := range p.Payload {
				n := int(seq)*160 + i
				p.Payload[i] = g711.EncodeUlaw(int16(8000 * math.Sin(2*math.Pi*1000*float64(n)/8000)))
			}
			if r := agents[0].s.cur.Load(); r != nil {
				r.fromBrowser(p)
			}
		}
	}()
	defer func() { close(stop); <-spoke }()

	heard := func(a *agent, limit time.Duration, want bool) float64 {
		var pcm []int16
		best := 0.0
		end := time.After(limit)
		for {
			select {
			case p := <-a.sink:
				for _, b := range p.Payload {
					pcm = append(pcm, g711.DecodeUlaw(b))
				}
				if len(pcm) >= 800 {
					best = max(best, arisim.Audio{Samples: pcm[len(pcm)-800:]}.ToneLevel(1000))
					if want && best > 0.5 {
						return best
					}
				}
			case <-end:
				return best
			}
		}
	}
	if lvl := heard(agents[1], 5*time.Second, true); lvl <= 0.5 {
		t.Fatalf("Bo did not hear Anna's tone through Asterisk (best level %.2f; relay stats %+v)", lvl, m.Stats())
	}
	if lvl := heard(agents[0], time.Second, false); lvl > 0.2 {
		t.Errorf("Anna heard her own tone back (level %.2f)", lvl)
	}
	if st := m.Stats(); st.DroppedOther != 0 {
		t.Errorf("%d packets came to the relay from addresses of no call", st.DroppedOther)
	}
}
