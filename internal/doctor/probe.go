package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
)

// probeArg marks the originated half of the test call.
const probeArg = "omstil-doctor"

// checkCall places a test call into the inbound context while holding the
// Stasis application itself: the call must arrive there with the probe
// number; the channel variable must show in the channel's snapshot; and
// Asterisk must play a prompt from omstil's media URL.
func checkCall(ctx context.Context, cli *ariclient.Client, cfg Config, held bool) []Result {
	names := []string{"inbound", "channel-variable", "media"}
	skip := func(why, fix string) []Result {
		out := make([]Result, len(names))
		for i, n := range names {
			out[i] = Result{n, Skip, why, fix}
		}
		return out
	}
	switch {
	case cfg.Probe == nil:
		return skip("no test call configured", "")
	case held:
		return skip("omstil holds the Stasis application, so a test call would reach it as a citizen's call", "to run these checks, stop omstil (systemctl stop omstil), run omstil doctor, start it again")
	}

	deadline := time.NewTimer(cfg.ProbeTimeout)
	defer deadline.Stop()
	events, release, err := holdApp(ctx, cfg.ARI, cfg.App, cfg.ProbeTimeout)
	if err != nil {
		return skip("could not take the Stasis application "+cfg.App+" for the test call: "+err.Error(), "")
	}
	defer release()

	one, two := ariclient.ChannelID("doctor-"+randomID()), ariclient.ChannelID("doctor-"+randomID())
	_, err = cli.Originate(ctx, ariclient.OriginateRequest{
		Endpoint: "Local/" + cfg.Probe.Number + "@" + cfg.Probe.Context, App: cfg.App, AppArgs: []string{probeArg},
		ChannelID: one, OtherChannelID: two, Timeout: cfg.ProbeTimeout,
	})
	if err != nil {
		return []Result{{"inbound", Fail, "Asterisk refused the test call: " + err.Error(), "check that the context " + cfg.Probe.Context + " exists (deploy/asterisk/extensions.conf; FreePBX: extensions_custom.conf)"}}
	}
	// Hang up and wait for both halves to go before the app's socket
	// closes: Asterisk drops an application only when nothing it was
	// subscribed to is left, else it stays listed as if omstil held it.
	defer hangupAndWait(context.WithoutCancel(ctx), cli, events, one, two)

	// 1. the dialplan hands the call to the app with the number
	var out []Result
	arrived := false
	for !arrived {
		select {
		case ev := <-events:
			switch e := ev.(type) {
			case *ariclient.StasisStart:
				if e.Channel.ID == two {
					if len(e.Args) == 0 || e.Args[0] != cfg.Probe.Number {
						return append(out, Result{"inbound", Fail, fmt.Sprintf("the test call reached Stasis(%s) with arguments %q", cfg.App, e.Args),
							"the inbound context must call Stasis(" + cfg.App + ",${EXTEN}): the number as the only argument"})
					}
					arrived = true
				}
			case *ariclient.ChannelDestroyed:
				if e.Channel.ID == two || e.Channel.ID == one {
					return append(out, Result{"inbound", Fail, fmt.Sprintf("the test call to %s in %s ended (%s) without reaching Stasis(%s)", cfg.Probe.Number, cfg.Probe.Context, e.CauseTxt, cfg.App),
						"the context must send every number to Stasis(" + cfg.App + ",${EXTEN}) (deploy/asterisk/extensions.conf, [omstil-inbound]); dialplan reload"})
				}
			}
		case <-deadline.C:
			return append(out, Result{"inbound", Fail, "the test call did not reach Stasis(" + cfg.App + ") within " + cfg.ProbeTimeout.String(), "check the context " + cfg.Probe.Context})
		}
	}
	out = append(out, Result{Check: "inbound", Status: OK, Detail: fmt.Sprintf("a call to %s in %s reaches Stasis(%s,%s)", cfg.Probe.Number, cfg.Probe.Context, cfg.App, cfg.Probe.Number)})

	// 2. OMSTIL_CALL in the snapshot (ari.conf channelvars)
	const marker = "doctor"
	var ch *ariclient.Channel
	if err = cli.SetVar(ctx, two, "OMSTIL_CALL", marker); err == nil {
		ch, err = cli.GetChannel(ctx, two)
	}
	switch {
	case err != nil:
		out = append(out, Result{"channel-variable", Fail, err.Error(), ""})
	case ch.ChannelVars["OMSTIL_CALL"] != marker:
		out = append(out, Result{"channel-variable", Fail, "channel snapshots do not carry OMSTIL_CALL: after a restart omstil cannot find its callers' places",
			"add channelvars = OMSTIL_CALL to ari.conf [general] (FreePBX: /etc/asterisk/ari_general_custom.conf) and module reload res_ari.so"})
	default:
		out = append(out, Result{Check: "channel-variable", Status: OK, Detail: "OMSTIL_CALL arrives in channel snapshots"})
	}

	// 3. Asterisk fetches a prompt from omstil's media URL
	out = append(out, checkMedia(ctx, cli, cfg, two, events, deadline.C))
	return out
}

func checkMedia(ctx context.Context, cli *ariclient.Client, cfg Config, ch ariclient.ChannelID, events <-chan ariclient.Event, deadline <-chan time.Time) Result {
	if cfg.ServeMedia == nil || cfg.MediaURL == "" {
		return Result{Check: "media", Status: Skip, Detail: "no media URL to check"}
	}
	stop, err := cfg.ServeMedia()
	if err != nil {
		return Result{"media", Skip, "cannot serve omstil's media for the check: " + err.Error(), ""}
	}
	defer stop()
	uri := cfg.MediaURL + "/media/prompts/da/" + cfg.Prompt + ".wav"
	if err := cli.Answer(ctx, ch); err != nil {
		return Result{"media", Fail, "cannot answer the test call: " + err.Error(), ""}
	}
	pb := ariclient.PlaybackID("doctor-" + randomID())
	if _, err := cli.Play(ctx, ch, pb, "sound:"+uri); err != nil {
		return Result{"media", Fail, "Asterisk refused to play " + uri + ": " + err.Error(), "check that res_http_media_cache is loaded"}
	}
	for {
		select {
		case ev := <-events:
			if e, ok := ev.(*ariclient.PlaybackFinished); ok && e.Playback.ID == pb {
				if e.Playback.State == "failed" {
					return Result{"media", Fail, "Asterisk could not fetch or play " + uri,
						"OMSTIL_MEDIA_URL must be an address Asterisk reaches omstil at (and trusts, for https); res_http_media_cache and res_curl must be loaded"}
				}
				return Result{Check: "media", Status: OK, Detail: "Asterisk played " + uri}
			}
		case <-deadline:
			return Result{"media", Fail, "Asterisk did not finish playing " + uri + " within the probe's time", "check that Asterisk reaches OMSTIL_MEDIA_URL"}
		}
	}
}

func hangupAndWait(ctx context.Context, cli *ariclient.Client, events <-chan ariclient.Event, ids ...ariclient.ChannelID) {
	left := map[ariclient.ChannelID]bool{}
	for _, id := range ids {
		if cli.Hangup(ctx, id, ariclient.ReasonNormal) == nil {
			left[id] = true // (a channel already gone answers 404)
		}
	}
	timeout := time.After(5 * time.Second)
	for len(left) > 0 {
		select {
		case ev := <-events:
			if d, ok := ev.(*ariclient.ChannelDestroyed); ok {
				delete(left, d.Channel.ID)
			}
		case <-timeout:
			return
		}
	}
}

// holdApp registers app on an event socket of its own, within wait, and
// passes its events on; release closes the socket cleanly (Asterisk then
// unregisters the app at once).
func holdApp(ctx context.Context, c ariclient.Config, app string, wait time.Duration) (events <-chan ariclient.Event, release func(), err error) {
	ch := make(chan ariclient.Event, 64)
	connected := make(chan struct{}, 1)
	c.Apps = []string{app}
	c.OnConnect = func(context.Context, bool) {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	cli, err := ariclient.New(c)
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cli.Run(rctx, func(_ context.Context, ev ariclient.Event) {
			select {
			case ch <- ev:
			case <-rctx.Done():
			}
		})
	}()
	release = func() {
		cancel()
		<-done
		cli.Close()
	}
	select {
	case <-connected:
		return ch, release, nil
	case <-time.After(wait):
		release()
		return nil, nil, fmt.Errorf("not registered within %v", wait)
	}
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
