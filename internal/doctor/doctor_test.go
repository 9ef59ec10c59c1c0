package doctor

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/ari/arisim"
)

// asterisk is the Asterisk the checks run against: the one at
// OMSTIL_TEST_ARI_URL, or the simulator with opts. real reports which.
func asterisk(t *testing.T, opts arisim.Options) (cfg ariclient.Config, real bool) {
	t.Helper()
	if u := os.Getenv("OMSTIL_TEST_ARI_URL"); u != "" {
		return ariclient.Config{URL: u, User: os.Getenv("OMSTIL_TEST_ARI_USER"), Password: os.Getenv("OMSTIL_TEST_ARI_PASSWORD"), Logger: slog.New(slog.DiscardHandler)}, true
	}
	t.Log("OMSTIL_TEST_ARI_URL not set: running against the ARI simulator")
	opts.User, opts.Password = "omstil", "secret"
	opts.Logger = slog.New(slog.DiscardHandler)
	sim := arisim.New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return ariclient.Config{URL: srv.URL + "/ari", User: "omstil", Password: "secret", Logger: slog.New(slog.DiscardHandler)}, false
}

// media serves the prompt the media check plays.
func media(t *testing.T) string {
	t.Helper()
	wav, err := os.ReadFile("../../prompts/da/all-busy.wav")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/media/prompts/da/all-busy.wav" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(wav)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func baseConfig(t *testing.T, a ariclient.Config) Config {
	waitAppFree(t, a, "omstil")
	return Config{
		Schema:  func(context.Context) (int, int, error) { return 7, 7, nil },
		DataDir: t.TempDir(),
		ARI:     a, App: "omstil", Sounds: ari.AsteriskSounds(), Language: "da",
		Probe:      &Probe{Number: "0000000", Context: "omstil-inbound"},
		ServeMedia: func() (func(), error) { return func() {}, nil },
		MediaURL:   media(t), Prompt: "all-busy",
		RTPHost: "127.0.0.1", RTPMin: 41000, RTPMax: 41010,
		ProbeTimeout: 10 * time.Second,
	}
}

// waitAppFree waits until Asterisk no longer lists app: a real Asterisk
// drops an application a moment after its socket closed (the previous
// test's probe).
func waitAppFree(t *testing.T, a ariclient.Config, app string) {
	t.Helper()
	a.Apps = []string{"omstil-doctor-test"}
	cli, err := ariclient.New(a)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		apps, err := cli.Applications(context.Background())
		if err != nil {
			return // the test itself reports an unreachable Asterisk
		}
		held := false
		for _, x := range apps {
			held = held || x.Name == app
		}
		if !held {
			return
		}
		nudgeApps(context.Background(), a, "omstil-doctor-test-nudge")
		if time.Now().After(deadline) {
			t.Fatalf("the Stasis app %q is held by another process: stop it to run this test", app)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func byCheck(rs []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range rs {
		m[r.Check] = r
	}
	return m
}

func TestDoctorHealthyInstallation(t *testing.T) {
	a, real := asterisk(t, arisim.Options{ChannelVars: []string{"OMSTIL_CALL"}})
	rs := Run(context.Background(), baseConfig(t, a))
	var out bytes.Buffer
	Print(&out, rs)
	t.Logf("\n%s", out.String())
	got := byCheck(rs)
	for _, c := range []string{"database", "disk", "timezone", "softphone", "ari", "asterisk", "clock", "inbound", "channel-variable", "media"} {
		if got[c].Status != OK {
			t.Errorf("%s: %s %s, want ok", c, got[c].Status, got[c].Detail)
		}
	}
	if !real {
		// the simulator has every module and sound; a real Asterisk may lack
		// the Danish sounds or chan_pjsip (checked below as failures)
		for _, c := range []string{"modules", "sounds"} {
			if got[c].Status != OK {
				t.Errorf("%s: %s %s", c, got[c].Status, got[c].Detail)
			}
		}
	}
	if got["stasis-app"].Status != Warn || !strings.Contains(got["stasis-app"].Detail, "not connected") {
		t.Errorf("stasis-app with no omstil running: %+v", got["stasis-app"])
	}
}

func TestDoctorFindsProblems(t *testing.T) {
	t.Run("channelvars missing", func(t *testing.T) {
		if os.Getenv("OMSTIL_TEST_ARI_URL") != "" {
			t.Skip("needs an Asterisk without channelvars: simulator only")
		}
		a, _ := asterisk(t, arisim.Options{})
		got := byCheck(Run(context.Background(), baseConfig(t, a)))
		if r := got["channel-variable"]; r.Status != Fail || !strings.Contains(r.Fix, "channelvars = OMSTIL_CALL") {
			t.Errorf("channel-variable: %+v", r)
		}
		if got["inbound"].Status != OK {
			t.Errorf("inbound: %+v", got["inbound"])
		}
	})
	t.Run("sounds missing", func(t *testing.T) {
		if os.Getenv("OMSTIL_TEST_ARI_URL") != "" {
			t.Skip("needs an Asterisk without the sounds: simulator only")
		}
		a, _ := asterisk(t, arisim.Options{ChannelVars: []string{"OMSTIL_CALL"}, SoundExists: func(n string) bool { return n != "queue-thereare" }})
		r := byCheck(Run(context.Background(), baseConfig(t, a)))["sounds"]
		if r.Status != Fail || !strings.Contains(r.Detail, "queue-thereare") || strings.Contains(r.Detail, "queue-minutes") {
			t.Errorf("sounds: %+v", r)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		a, _ := asterisk(t, arisim.Options{})
		a.Password = "not-the-password"
		rs := Run(context.Background(), baseConfig(t, a))
		r := byCheck(rs)["ari"]
		if r.Status != Fail || !strings.Contains(r.Detail, "401") || !strings.Contains(r.Fix, "OMSTIL_ARI_PASSWORD") {
			t.Errorf("ari: %+v", r)
		}
		if strings.Contains(r.Detail+r.Fix, "not-the-password") {
			t.Error("the password is in the report")
		}
		if _, ran := byCheck(rs)["inbound"]; ran {
			t.Error("the call checks ran without ARI")
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		cfg := baseConfig(t, ariclient.Config{URL: u + "/ari", User: "omstil", Password: "x", Logger: slog.New(slog.DiscardHandler)})
		r := byCheck(Run(context.Background(), cfg))["ari"]
		if r.Status != Fail || !strings.Contains(r.Detail, "cannot connect") || !strings.Contains(r.Fix, "http.conf") {
			t.Errorf("ari: %+v", r)
		}
	})
	t.Run("inbound context missing", func(t *testing.T) {
		a, _ := asterisk(t, arisim.Options{ChannelVars: []string{"OMSTIL_CALL"}})
		cfg := baseConfig(t, a)
		cfg.Probe.Context = "no-such-context"
		r := byCheck(Run(context.Background(), cfg))["inbound"]
		if r.Status != Fail {
			t.Errorf("inbound: %+v", r)
		}
	})
	t.Run("media unreachable", func(t *testing.T) {
		// the simulator asks SoundExists about a sound:http URL; answer as
		// Asterisk's media cache does, by fetching it
		fetch := func(n string) bool {
			if !strings.HasPrefix(n, "http") {
				return true
			}
			resp, err := http.Get(n)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		}
		a, _ := asterisk(t, arisim.Options{ChannelVars: []string{"OMSTIL_CALL"}, SoundExists: fetch})
		cfg := baseConfig(t, a)
		cfg.Prompt = "no-such-prompt"
		r := byCheck(Run(context.Background(), cfg))["media"]
		if r.Status != Fail || !strings.Contains(r.Fix, "OMSTIL_MEDIA_URL") {
			t.Errorf("media: %+v", r)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		a, _ := asterisk(t, arisim.Options{})
		cfg := baseConfig(t, a)
		cfg.Schema = func(context.Context) (int, int, error) { return 9, 7, nil }
		rs := Run(context.Background(), cfg)
		if r := byCheck(rs)["database"]; r.Status != Fail || !strings.Contains(r.Detail, "newer") {
			t.Errorf("database: %+v", r)
		}
		if !Failed(rs) {
			t.Error("Failed() is false with a failed check")
		}
	})
	t.Run("RTP host not on this machine", func(t *testing.T) {
		a, _ := asterisk(t, arisim.Options{})
		cfg := baseConfig(t, a)
		cfg.RTPHost = "192.0.2.7"
		if r := byCheck(Run(context.Background(), cfg))["softphone"]; r.Status != Fail {
			t.Errorf("softphone: %+v", r)
		}
	})
}

// TestDoctorLeavesARunningOmstilAlone: while another process holds the
// Stasis application, the doctor places no test call (it would reach
// omstil as a citizen's call).
func TestDoctorLeavesARunningOmstilAlone(t *testing.T) {
	a, _ := asterisk(t, arisim.Options{ChannelVars: []string{"OMSTIL_CALL"}})
	holder := a
	holder.Apps = []string{"omstil-doctor-test-holder"}
	cfg := baseConfig(t, a)
	cfg.App = holder.Apps[0]
	connected := make(chan struct{}, 1)
	holder.OnConnect = func(context.Context, bool) { connected <- struct{}{} }
	hc, err := ariclient.New(holder)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := make(chan string, 10)
	go hc.Run(ctx, func(_ context.Context, ev ariclient.Event) {
		if s, ok := ev.(*ariclient.StasisStart); ok {
			calls <- string(s.Channel.ID)
		}
	})
	defer hc.Close()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not connect")
	}
	got := byCheck(Run(context.Background(), cfg))
	if got["stasis-app"].Status != OK {
		t.Errorf("stasis-app: %+v", got["stasis-app"])
	}
	for _, c := range []string{"inbound", "channel-variable", "media"} {
		if got[c].Status != Skip || !strings.Contains(got[c].Fix, "stop omstil") {
			t.Errorf("%s: %+v, want skipped", c, got[c])
		}
	}
	select {
	case id := <-calls:
		t.Errorf("the running app got a call (%s)", id)
	default:
	}
}
