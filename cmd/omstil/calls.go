package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/internal/retention"
	"github.com/omstil/omstil/internal/telephony"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/settings"
	"github.com/omstil/omstil/softphone"
	"github.com/prometheus/client_golang/prometheus"
)

// callHandling is the running telephony side: the ARI connection (or the
// built-in simulator in demo mode), the adapter with its queue engine, the
// call-event log writer and the softphone bridge.
type callHandling struct {
	log     *slog.Logger
	adapter *ari.Adapter
	client  *ariclient.Client
	phones  *softphone.Manager
	feed    *server.LiveFeed
	events  *telephony.EventWriter
	reload  *telephony.Reloader
	sim     *arisim.Sim
	demo    *demo
	voice   *demoVoice // demo: the citizens' voice; set before the adapter runs
	// demoLogin is the demo staff login seeded by this start, for serve
	// to print once (nil when none was made).
	demoLogin *demoLogin

	cancel  context.CancelFunc
	done    chan struct{}
	closers []func()
}

// Checks are the readiness checks of call handling.
func (c *callHandling) Checks() []server.Check {
	return []server.Check{{Name: "ari", Check: func(context.Context) error {
		if !c.client.Connected() {
			return errors.New("not connected to Asterisk ARI")
		}
		return nil
	}}}
}

// Drain stops taking new calls; waiting callers stay in Asterisk.
func (c *callHandling) Drain() {
	if c.demo != nil {
		c.demo.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.adapter.Drain(ctx); err != nil {
		c.log.Warn("drain", "err", err)
	}
}

// Close stops everything, in reverse order of start.
func (c *callHandling) Close() {
	c.cancel()
	<-c.done
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// promptURI is the media URI of a default prompt.
func promptURI(base, name string) string {
	return "sound:" + base + "/media/prompts/da/" + name + ".wav"
}

// startCallHandling wires ARI (or the demo simulator), the adapter, the
// softphone bridge and the call-event log, and starts them. admit, when
// set, is given the ARI client before anything can use it, so that a
// fence can close it; an error from admit aborts the start.
func startCallHandling(ctx context.Context, s settings.Settings, st *config.Store, reg *prometheus.Registry, log *slog.Logger, admit func(*ariclient.Client) error) (*callHandling, error) {
	ch := &callHandling{log: log, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			for i := len(ch.closers) - 1; i >= 0; i-- {
				ch.closers[i]()
			}
		}
	}()

	ariURL, ariUser, ariPass := s.ARIURL, s.ARIUser, s.ARIPassword.Reveal()
	if s.Demo() {
		url, pass, sim, stop, err := startSimulator(log, nil)
		if err != nil {
			return nil, err
		}
		ch.sim = sim
		ch.closers = append(ch.closers, stop)
		ariURL, ariUser, ariPass = url, "omstil", pass
	}
	rest, err := ariclient.ParseRESTTransport(s.ARIREST)
	if err != nil {
		return nil, fmt.Errorf("OMSTIL_ARI_REST: %w", err)
	}
	client, err := ariclient.New(ariclient.Config{
		URL: ariURL, User: ariUser, Password: ariPass, Apps: []string{s.ARIApp},
		Logger: log.With("part", "ari"), RESTOverWebSocket: rest,
	})
	if err != nil {
		return nil, fmt.Errorf("OMSTIL_ARI_URL: %w", err)
	}
	ch.client = client
	ch.closers = append(ch.closers, func() { client.Close() })
	if admit != nil {
		if err := admit(client); err != nil {
			return nil, err
		}
	}

	phones, err := softphone.New(softphone.Config{
		PortMin: s.RTPPortMin, PortMax: s.RTPPortMax, RelayHost: s.RTPHost, SharedPort: s.RTPShared,
		PublicIP: s.PublicIP, ICEServers: iceServers(s.ICEServerList()),
	}, log.With("part", "softphone"))
	if err != nil {
		return nil, fmt.Errorf("softphone: %w", err)
	}
	ch.phones = phones
	ch.closers = append(ch.closers, func() { phones.Close() })

	def, err := st.DefaultOrg(ctx)
	if err != nil {
		return nil, err
	}
	orgs := telephony.NewOrgIndex(def.ID)
	ch.events, err = telephony.NewEventWriter(st, orgs, log, telephony.EventLogOptions{
		MemoryLimit: s.EventBacklogMemory, SpillPath: s.EventSpillPath(), Registry: reg})
	if err != nil {
		return nil, err
	}
	ch.closers = append(ch.closers, ch.events.Close)

	restart := telephony.NewRestartStore(st, log)
	ch.closers = append(ch.closers, restart.Close)

	glue := telephony.NewPhoneGlue(phones)
	adapter, err := ari.New(ari.Options{
		Client:           client,
		App:              s.ARIApp,
		Logger:           log.With("part", "calls"),
		Events:           ch,
		WebRTC:           glue,
		Callbacks:        restart,
		AgentStates:      restart,
		CallbackEndpoint: s.CallbackEndpoint,
		NotInService:     []string{promptURI(s.MediaURL, "not-in-service")},
		CallbackConfirm:  []string{promptURI(s.MediaURL, "callback-confirmed")},
		Location:         callflow.Location(),
	})
	if err != nil {
		return nil, err
	}
	ch.adapter = adapter
	glue.SetAdapter(adapter)
	phones.SetCallControl(glue)
	ch.feed = server.NewLiveFeed(func(context.Context) (queue.Snapshot, error) { return adapter.Snapshot(), nil })

	if err := telephony.RegisterMetrics(reg, client, adapter, phones); err != nil {
		return nil, err
	}

	if s.Demo() {
		if ch.demoLogin, err = seedDemo(ctx, st); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	reload := telephony.NewReloader(st, adapter, orgs, s.MediaURL, log)
	ch.reload = reload
	ch.closers = append(ch.closers, reload.Stop)
	if err := reload.Now(ctx); err != nil {
		return nil, err
	}
	st.OnChange(reload.Soon)

	rctx, cancel := context.WithCancel(context.Background())
	ch.cancel = cancel
	// Retention of citizens' numbers (docs/data-protection.md): at start,
	// then daily, where the calls are handled (one process).
	ret, err := retention.New(st, retention.Options{Logger: log.With("part", "retention"), Registry: reg})
	if err != nil {
		cancel()
		return nil, err
	}
	retDone := make(chan struct{})
	go func() { defer close(retDone); ret.Run(rctx) }()
	ch.closers = append(ch.closers, func() { <-retDone })
	if s.Demo() {
		speech, err := demoSpeech()
		if err != nil {
			cancel()
			return nil, err
		}
		ch.voice = newDemoVoice(rctx, ch.sim, speech, func(id queue.AgentID) bool {
			return reload.Runtime().AgentInfo[id].DeviceKind == config.DeviceWebRTC
		})
		ch.closers = append(ch.closers, ch.voice.wait) // before the simulator stops
	}
	go func() {
		defer close(ch.done)
		if err := adapter.Run(rctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("call handling stopped", "err", err)
		}
	}()

	if s.Demo() {
		d, err := startDemo(rctx, ch.sim, reload.Runtime(), adapter, client, s.DemoCallsPerMinute, log)
		if err != nil {
			cancel()
			<-ch.done
			return nil, err
		}
		ch.demo = d
	}
	ok = true
	return ch, nil
}

// EngineOutput implements ari.EventSink: log the event and tell the live
// views something changed.
func (c *callHandling) EngineOutput(out queue.Output) {
	c.events.Engine(out)
	c.feed.Notify()
}

// CallEvent implements ari.EventSink.
func (c *callHandling) CallEvent(ev ari.CallEvent) {
	c.events.Call(ev)
	c.feed.Notify()
	if c.voice != nil {
		c.voice.callEvent(ev)
	}
}

func iceServers(urls []string) []softphone.ICEServer {
	if len(urls) == 0 {
		return nil
	}
	return []softphone.ICEServer{{URLs: urls}}
}

// startSimulator serves the built-in ARI simulator on a loopback port
// with a random password.
// startSimulator starts the built-in ARI simulator on a loopback port.
// soundExists, when not nil, decides which sounds and sound:http URLs it
// has (arisim.Options.SoundExists).
func startSimulator(log *slog.Logger, soundExists func(string) bool) (url, password string, sim *arisim.Sim, stop func(), err error) {
	b := make([]byte, 16)
	rand.Read(b)
	password = hex.EncodeToString(b)
	// ChannelVars as deploy/asterisk/ari.conf sets them on a real Asterisk
	sim = arisim.New(arisim.Options{User: "omstil", Password: password, Logger: log.With("part", "arisim"), ChannelVars: []string{"OMSTIL_CALL"}, SoundExists: soundExists})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, nil, fmt.Errorf("simulator: %w", err)
	}
	hs := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		// the demo's calls stop if the simulator's server does: say why.
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo: the built-in ARI simulator stopped serving", "err", err)
		}
	}()
	log.Warn("DEMO MODE: using the built-in ARI simulator, not a telephone system", "ari", "http://"+ln.Addr().String()+"/ari")
	return "http://" + ln.Addr().String() + "/ari", password, sim, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		sim.Close()
	}, nil
}
