package ariclient

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:8088/ari", User: "u", Password: "pw-secret", Apps: []string{"omstil"}}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid https trailing slash", func(c *Config) { c.URL = "https://pbx.example.dk/ari/" }, ""},
		{"empty url", func(c *Config) { c.URL = "" }, "URL is empty"},
		{"credentials in url", func(c *Config) { c.URL = "http://u:pw-secret@127.0.0.1:8088/ari" }, "must not contain credentials"},
		{"bad scheme", func(c *Config) { c.URL = "ws://127.0.0.1:8088/ari" }, "scheme"},
		{"no host", func(c *Config) { c.URL = "http:///ari" }, "no host"},
		{"query", func(c *Config) { c.URL = "http://127.0.0.1/ari?api_key=u:pw-secret" }, "query"},
		{"unparseable", func(c *Config) { c.URL = "http://[::1:pw-secret" }, "does not parse"},
		{"no user", func(c *Config) { c.User = "" }, "User is empty"},
		{"no apps", func(c *Config) { c.Apps = nil }, "Apps is empty"},
		{"app with comma", func(c *Config) { c.Apps = []string{"a,b"} }, "invalid app name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			c, err := New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: err %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "pw-secret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestRESTRequests(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil)
	ctx := context.Background()
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.user+":"+f.pass))

	tests := []struct {
		name   string
		answer string // JSON body answered with 200; "" answers 204
		call   func() error
		method string
		path   string
		query  url.Values
		body   string
	}{
		{"answer", "", func() error { return c.Answer(ctx, "c1") }, "POST", "/ari/channels/c1/answer", nil, ""},
		{"hangup with reason", "", func() error { return c.Hangup(ctx, "c1", ReasonBusy) }, "DELETE", "/ari/channels/c1", url.Values{"reason": {"busy"}}, ""},
		{"hangup plain", "", func() error { return c.Hangup(ctx, "c1", "") }, "DELETE", "/ari/channels/c1", nil, ""},
		{"ring", "", func() error { return c.Ring(ctx, "c1") }, "POST", "/ari/channels/c1/ring", nil, ""},
		{"ring stop", "", func() error { return c.RingStop(ctx, "c1") }, "DELETE", "/ari/channels/c1/ring", nil, ""},
		{"progress", "", func() error { return c.Progress(ctx, "c1") }, "POST", "/ari/channels/c1/progress", nil, ""},
		{"moh", "", func() error { return c.StartMOH(ctx, "c1", "rolig") }, "POST", "/ari/channels/c1/moh", url.Values{"mohClass": {"rolig"}}, ""},
		{"moh stop", "", func() error { return c.StopMOH(ctx, "c1") }, "DELETE", "/ari/channels/c1/moh", nil, ""},
		{"silence", "", func() error { return c.StartSilence(ctx, "c1") }, "POST", "/ari/channels/c1/silence", nil, ""},
		{"silence stop", "", func() error { return c.StopSilence(ctx, "c1") }, "DELETE", "/ari/channels/c1/silence", nil, ""},
		{"hold", "", func() error { return c.Hold(ctx, "c1") }, "POST", "/ari/channels/c1/hold", nil, ""},
		{"unhold", "", func() error { return c.Unhold(ctx, "c1") }, "DELETE", "/ari/channels/c1/hold", nil, ""},
		{"mute in", "", func() error { return c.Mute(ctx, "c1", DirIn) }, "POST", "/ari/channels/c1/mute", url.Values{"direction": {"in"}}, ""},
		{"unmute", "", func() error { return c.Unmute(ctx, "c1", "") }, "DELETE", "/ari/channels/c1/mute", nil, ""},
		{"escaped id", "", func() error { return c.Answer(ctx, "a/b c") }, "POST", "/ari/channels/a/b c/answer", nil, ""},
		{"dtmf", "", func() error {
			return c.SendDTMF(ctx, "c1", "12#", DTMFOptions{Duration: 80 * time.Millisecond, Between: 50 * time.Millisecond})
		}, "POST", "/ari/channels/c1/dtmf", url.Values{"dtmf": {"12#"}, "duration": {"80"}, "between": {"50"}}, ""},
		{"setvar", "", func() error { return c.SetVar(ctx, "c1", "OMSTIL_QUEUE", "7") }, "POST", "/ari/channels/c1/variable", url.Values{"variable": {"OMSTIL_QUEUE"}, "value": {"7"}}, ""},
		{"getvar", `{"value":"42"}`, func() error {
			v, err := c.GetVar(ctx, "c1", "CALLERID(num)")
			if err == nil && v != "42" {
				return errors.New("GetVar value " + v)
			}
			return err
		}, "GET", "/ari/channels/c1/variable", url.Values{"variable": {"CALLERID(num)"}}, ""},
		{"continue", "", func() error {
			return c.Continue(ctx, "c1", ContinueRequest{Context: "omstil-overflow", Extension: "s", Priority: 1})
		}, "POST", "/ari/channels/c1/continue", url.Values{"context": {"omstil-overflow"}, "extension": {"s"}, "priority": {"1"}}, ""},
		{"move", "", func() error { return c.Move(ctx, "c1", "other", "a", "b") }, "POST", "/ari/channels/c1/move", url.Values{"app": {"other"}, "appArgs": {"a,b"}}, ""},
		{"redirect", "", func() error { return c.Redirect(ctx, "c1", "PJSIP/1002") }, "POST", "/ari/channels/c1/redirect", url.Values{"endpoint": {"PJSIP/1002"}}, ""},
		{"play two media", `{"id":"pb1","media_uri":"sound:a","target_uri":"channel:c1","state":"queued"}`, func() error {
			pb, err := c.Play(ctx, "c1", "pb1", "sound:a", "digits:3")
			if err == nil && (pb.ID != "pb1" || pb.State != PlaybackQueued) {
				return errors.New("bad playback decode")
			}
			return err
		}, "POST", "/ari/channels/c1/play", url.Values{"media": {"sound:a,digits:3"}, "playbackId": {"pb1"}}, ""},
		{"originate", `{"id":"agent-1","name":"Local/1001@omstil-test-agents-00000001;1","state":"Down"}`, func() error {
			ch, err := c.Originate(ctx, OriginateRequest{
				Endpoint: "Local/1001@omstil-test-agents", App: "omstil", AppArgs: []string{"agent", "7"},
				CallerID: `"Kø 1" <70101010>`, Timeout: 1500 * time.Millisecond,
				Variables: map[string]string{"OMSTIL_CALL": "x"},
				ChannelID: "agent-1", OtherChannelID: "agent-1b", Originator: "cit-1", Formats: []string{"ulaw", "alaw"},
			})
			if err == nil && ch.ID != "agent-1" {
				return errors.New("bad channel decode")
			}
			return err
		}, "POST", "/ari/channels", url.Values{
			"endpoint": {"Local/1001@omstil-test-agents"}, "app": {"omstil"}, "appArgs": {"agent,7"},
			"callerId": {`"Kø 1" <70101010>`}, "timeout": {"2"}, "channelId": {"agent-1"},
			"otherChannelId": {"agent-1b"}, "originator": {"cit-1"}, "formats": {"ulaw,alaw"},
		}, `{"variables":{"OMSTIL_CALL":"x"}}`},
		{"originate to dialplan no timeout", `{"id":"x"}`, func() error {
			_, err := c.Originate(ctx, OriginateRequest{Endpoint: "PJSIP/1001", Extension: "100", Context: "internal", Priority: 1, Timeout: -1})
			return err
		}, "POST", "/ari/channels", url.Values{"endpoint": {"PJSIP/1001"}, "extension": {"100"}, "context": {"internal"}, "priority": {"1"}, "timeout": {"-1"}}, ""},
		{"create channel", `{"id":"x"}`, func() error {
			_, err := c.CreateChannel(ctx, CreateChannelRequest{Endpoint: "PJSIP/1001", App: "omstil", ChannelID: "x"})
			return err
		}, "POST", "/ari/channels/create", url.Values{"endpoint": {"PJSIP/1001"}, "app": {"omstil"}, "channelId": {"x"}}, ""},
		{"dial", "", func() error { return c.Dial(ctx, "x", "c1", 20*time.Second) }, "POST", "/ari/channels/x/dial", url.Values{"caller": {"c1"}, "timeout": {"20"}}, ""},
		{"external media", `{"id":"em1","channelvars":{"UNICASTRTP_LOCAL_ADDRESS":"127.0.0.1","UNICASTRTP_LOCAL_PORT":"17000"}}`, func() error {
			ch, err := c.ExternalMedia(ctx, ExternalMediaRequest{App: "omstil", ExternalHost: "127.0.0.1:40000", Format: "ulaw", ChannelID: "em1"})
			if err == nil && ch.ExternalMediaAddr() != "127.0.0.1:17000" {
				return errors.New("ExternalMediaAddr " + ch.ExternalMediaAddr())
			}
			return err
		}, "POST", "/ari/channels/externalMedia", url.Values{"app": {"omstil"}, "external_host": {"127.0.0.1:40000"}, "format": {"ulaw"}, "channelId": {"em1"}}, ""},
		{"list channels", `[{"id":"a"},{"id":"b"}]`, func() error {
			chs, err := c.ListChannels(ctx)
			if err == nil && len(chs) != 2 {
				return errors.New("want 2 channels")
			}
			return err
		}, "GET", "/ari/channels", nil, ""},
		{"get channel", `{"id":"a","dialplan":{"app_name":"Stasis","app_data":"omstil,1000"}}`, func() error {
			ch, err := c.GetChannel(ctx, "a")
			if err == nil {
				if app, args, ok := ch.Dialplan.StasisApp(); !ok || app != "omstil" || len(args) != 1 || args[0] != "1000" {
					return errors.New("StasisApp mismatch")
				}
			}
			return err
		}, "GET", "/ari/channels/a", nil, ""},
		{"create bridge", `{"id":"b1","bridge_type":"mixing","channels":[]}`, func() error {
			_, err := c.CreateBridge(ctx, CreateBridgeRequest{Type: "mixing,dtmf_events", ID: "b1", Name: "call-1"})
			return err
		}, "POST", "/ari/bridges", url.Values{"type": {"mixing,dtmf_events"}, "bridgeId": {"b1"}, "name": {"call-1"}}, ""},
		{"list bridges", `[]`, func() error { _, err := c.ListBridges(ctx); return err }, "GET", "/ari/bridges", nil, ""},
		{"get bridge", `{"id":"b1","channels":["c1"]}`, func() error {
			b, err := c.GetBridge(ctx, "b1")
			if err == nil && !b.Has("c1") {
				return errors.New("bridge misses c1")
			}
			return err
		}, "GET", "/ari/bridges/b1", nil, ""},
		{"add channels", "", func() error { return c.AddChannel(ctx, "b1", "c1", "c2") }, "POST", "/ari/bridges/b1/addChannel", url.Values{"channel": {"c1,c2"}}, ""},
		{"add channel options", "", func() error {
			return c.AddChannelWithOptions(ctx, "b1", AddChannelOptions{Role: "agent", AbsorbDTMF: true, Mute: true, InhibitConnectedLineUpdates: true}, "c1")
		}, "POST", "/ari/bridges/b1/addChannel", url.Values{"channel": {"c1"}, "role": {"agent"}, "absorbDTMF": {"true"}, "mute": {"true"}, "inhibitConnectedLineUpdates": {"true"}}, ""},
		{"remove channel", "", func() error { return c.RemoveChannel(ctx, "b1", "c1") }, "POST", "/ari/bridges/b1/removeChannel", url.Values{"channel": {"c1"}}, ""},
		{"destroy bridge", "", func() error { return c.DestroyBridge(ctx, "b1") }, "DELETE", "/ari/bridges/b1", nil, ""},
		{"bridge moh", "", func() error { return c.BridgeStartMOH(ctx, "b1", "") }, "POST", "/ari/bridges/b1/moh", nil, ""},
		{"bridge moh stop", "", func() error { return c.BridgeStopMOH(ctx, "b1") }, "DELETE", "/ari/bridges/b1/moh", nil, ""},
		{"bridge play", `{"id":"p"}`, func() error { _, err := c.BridgePlay(ctx, "b1", "", "tone:ring"); return err }, "POST", "/ari/bridges/b1/play", url.Values{"media": {"tone:ring"}}, ""},
		{"get playback", `{"id":"p","state":"playing"}`, func() error { _, err := c.GetPlayback(ctx, "p"); return err }, "GET", "/ari/playbacks/p", nil, ""},
		{"stop playback", "", func() error { return c.StopPlayback(ctx, "p") }, "DELETE", "/ari/playbacks/p", nil, ""},
		{"control playback", "", func() error { return c.ControlPlayback(ctx, "p", PlaybackPause) }, "POST", "/ari/playbacks/p/control", url.Values{"operation": {"pause"}}, ""},
		{"info", `{"system":{"version":"22.10.1","entity_id":"00:11"},"status":{"startup_time":"2026-11-28T03:00:00.000+0000","last_reload_time":"2026-11-28T03:00:00.000+0000"}}`, func() error {
			info, err := c.Info(ctx)
			if err == nil && (info.System == nil || info.System.Version != "22.10.1" || info.Status.StartupTime.Hour() != 3) {
				return errors.New("bad info decode")
			}
			return err
		}, "GET", "/ari/asterisk/info", nil, ""},
		{"ping", `{"asterisk_id":"x","ping":"pong","timestamp":"2026-11-28T03:00:00.000+0000"}`, func() error { _, err := c.Ping(ctx); return err }, "GET", "/ari/asterisk/ping", nil, ""},
		{"applications", `[{"name":"omstil","channel_ids":[],"bridge_ids":[],"endpoint_ids":[],"device_names":[]}]`, func() error { _, err := c.Applications(ctx); return err }, "GET", "/ari/applications", nil, ""},
		{"get application", `{"name":"omstil"}`, func() error { _, err := c.GetApplication(ctx, "omstil"); return err }, "GET", "/ari/applications/omstil", nil, ""},
		{"subscribe", `{"name":"omstil"}`, func() error { _, err := c.Subscribe(ctx, "omstil", "endpoint:PJSIP/1001"); return err }, "POST", "/ari/applications/omstil/subscription", url.Values{"eventSource": {"endpoint:PJSIP/1001"}}, ""},
		{"unsubscribe", `{"name":"omstil"}`, func() error { _, err := c.Unsubscribe(ctx, "omstil", "endpoint:PJSIP/1001"); return err }, "DELETE", "/ari/applications/omstil/subscription", url.Values{"eventSource": {"endpoint:PJSIP/1001"}}, ""},
		{"endpoints", `[]`, func() error { _, err := c.ListEndpoints(ctx); return err }, "GET", "/ari/endpoints", nil, ""},
		{"endpoint", `{"technology":"PJSIP","resource":"1001","state":"online","channel_ids":[]}`, func() error { _, err := c.GetEndpoint(ctx, "PJSIP", "1001"); return err }, "GET", "/ari/endpoints/PJSIP/1001", nil, ""},
		{"device state", `{"name":"Stasis:agent-7","state":"INUSE"}`, func() error { _, err := c.GetDeviceState(ctx, "Stasis:agent-7"); return err }, "GET", "/ari/deviceStates/Stasis:agent-7", nil, ""},
		{"update device state", "", func() error { return c.UpdateDeviceState(ctx, "Stasis:agent-7", "BUSY") }, "PUT", "/ari/deviceStates/Stasis:agent-7", url.Values{"deviceState": {"BUSY"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.answer == "" {
				f.setAnswer(nil)
			} else {
				f.setAnswer(jsonAnswer(200, tt.answer))
			}
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := f.lastReq()
			if got.Method != tt.method || got.Path != tt.path {
				t.Errorf("request %s %s, want %s %s", got.Method, got.Path, tt.method, tt.path)
			}
			q, _ := url.ParseQuery(got.Query)
			if len(q) != len(tt.query) {
				t.Errorf("query %v, want %v", q, tt.query)
			}
			for k, v := range tt.query {
				if q.Get(k) != v[0] {
					t.Errorf("query %s=%q, want %q", k, q.Get(k), v[0])
				}
			}
			if got.Body != tt.body {
				t.Errorf("body %q, want %q", got.Body, tt.body)
			}
			if got.Auth != wantAuth {
				t.Errorf("Authorization %q, want basic auth", got.Auth)
			}
		})
	}
}

func TestRESTErrors(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil)
	ctx := context.Background()
	tests := []struct {
		name      string
		status    int
		body      string
		wantMsg   string
		notFound  bool
		conflict  bool
		precondit bool
	}{
		{"404 channel", 404, `{"message": "Channel not found"}`, "Channel not found", true, false, false},
		{"409 not in stasis", 409, `{"message": "Channel not in Stasis application"}`, "Channel not in Stasis application", false, true, false},
		{"412 not answered", 412, `{"message": "Channel in invalid state"}`, "Channel in invalid state", false, false, true},
		{"400 missing param", 400, `{"message":"Parameter 'media' is required"}`, "Parameter 'media' is required", false, false, false},
		{"500 plain text", 500, "internal oops\n", "internal oops", false, false, false},
		{"503 empty", 503, "", "", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setAnswer(jsonAnswer(tt.status, tt.body))
			err := c.Answer(ctx, "cit-1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T %v, want *Error", err, err)
			}
			if e.Status != tt.status || e.Message != tt.wantMsg || e.Method != "POST" || e.Path != "/channels/cit-1/answer" {
				t.Errorf("got %+v", e)
			}
			if IsNotFound(err) != tt.notFound || IsConflict(err) != tt.conflict || IsPreconditionFailed(err) != tt.precondit {
				t.Errorf("IsNotFound=%v IsConflict=%v IsPreconditionFailed=%v", IsNotFound(err), IsConflict(err), IsPreconditionFailed(err))
			}
			if strings.Contains(err.Error(), f.pass) {
				t.Errorf("error leaks password: %v", err)
			}
			// Wrapped errors keep working with the helpers.
			if got := StatusOf(errors.Join(errors.New("ctx"), err)); got != tt.status {
				t.Errorf("StatusOf wrapped = %d", got)
			}
		})
	}

	t.Run("401 wrong password", func(t *testing.T) {
		bad := f.client(t, func(cfg *Config) { cfg.Password = "wrong-pw" })
		_, err := bad.Info(ctx)
		if !IsUnauthorized(err) {
			t.Fatalf("err %v, want 401", err)
		}
		if strings.Contains(err.Error(), "wrong-pw") {
			t.Fatalf("error leaks password: %v", err)
		}
	})

	t.Run("transport error hides query", func(t *testing.T) {
		dead := newFakeARI(t)
		dc := dead.client(t, nil)
		dead.srv.Close()
		_, err := dc.Originate(ctx, OriginateRequest{Endpoint: "Local/1000@omstil-inbound", CallerID: "4512345678"})
		if err == nil {
			t.Fatal("want error from a closed server")
		}
		if strings.Contains(err.Error(), "4512345678") || strings.Contains(err.Error(), dead.pass) {
			t.Fatalf("error leaks query or password: %v", err)
		}
		if StatusOf(err) != 0 {
			t.Fatalf("transport error has status %d", StatusOf(err))
		}
	})

	t.Run("bad JSON answer", func(t *testing.T) {
		f.setAnswer(jsonAnswer(200, `{"id": 12`))
		if _, err := c.GetChannel(ctx, "x"); err == nil || !strings.Contains(err.Error(), "decode") {
			t.Fatalf("err %v, want decode error", err)
		}
	})
}

func TestRESTTimeout(t *testing.T) {
	f := newFakeARI(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		select { // a hung Asterisk: never answers until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
	}{
		{"config timeout", 30 * time.Millisecond, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"shorter ctx deadline wins", time.Hour, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client(t, func(cfg *Config) { cfg.Timeout = tt.timeout })
			ctx, cancel := tt.ctx()
			defer cancel()
			err := c.Answer(ctx, "c1")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err %v, want context.DeadlineExceeded", err)
			}
		})
	}
}

func TestCloseTwiceAndAfterClose(t *testing.T) {
	f := newFakeARI(t)
	c := f.client(t, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Answer(context.Background(), "c1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Answer after Close: %v", err)
	}
	if err := c.Run(context.Background(), func(context.Context, Event) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestCallerIDString(t *testing.T) {
	for _, tt := range []struct {
		in   CallerID
		want string
	}{
		{CallerID{Number: "70101010"}, "70101010"},
		{CallerID{Name: "Borgerservice", Number: "70101010"}, `"Borgerservice" <70101010>`},
	} {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}
