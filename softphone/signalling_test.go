package softphone

import (
	"errors"
	"strings"
	"testing"
)

const pcmaOnlySDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 8\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:8 PCMA/8000\r\n"

const videoOnlySDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n"

func TestSignallingBadInput(t *testing.T) {
	m := newTestManager(t, 47200, 47209)
	ctl := newFakeControl()
	m.SetCallControl(ctl)
	p := connectPage(t, m, "agent-1")
	tests := []struct {
		name, msg, code, text string
	}{
		{"not JSON", `{"type":`, CodeBadMessage, "not a JSON"},
		{"not an object", `[1,2]`, CodeBadMessage, "not a JSON"},
		{"wrong field type", `{"type":"hold","call":"c","on":"yes"}`, CodeBadMessage, "not a JSON"},
		{"no type", `{"call":"c"}`, CodeBadMessage, "no type"},
		{"unknown type", `{"type":"dance","id":"7"}`, CodeBadMessage, `unknown message type "dance"`},
		{"answer with neither", `{"type":"answer"}`, CodeBadMessage, "needs sdp"},
		{"answer with both", `{"type":"answer","sdp":"v=0","call":"c"}`, CodeBadMessage, "both"},
		{"SDP answer with no offer out", `{"type":"answer","sdp":"v=0"}`, CodeBadState, "no offer"},
		{"offer without SDP", `{"type":"offer"}`, CodeBadMessage, "needs sdp"},
		{"offer not SDP", `{"type":"offer","sdp":"hello"}`, CodeBadMessage, "does not parse"},
		{"offer PCMA only", `{"type":"offer","sdp":"` + jsonEscape(pcmaOnlySDP) + `"}`, CodeNoPCMU, "PCMU"},
		{"offer without audio", `{"type":"offer","sdp":"` + jsonEscape(videoOnlySDP) + `"}`, CodeNoPCMU, "no audio"},
		{"ICE restart before an offer", `{"type":"ice-restart"}`, CodeBadState, "send an offer"},
		{"hangup without call", `{"type":"hangup"}`, CodeBadMessage, "needs call"},
		{"hold without on", `{"type":"hold","call":"c"}`, CodeBadMessage, "on (true or false)"},
		{"dtmf bad digit", `{"type":"dtmf","call":"c","digits":"12x"}`, CodeBadMessage, "digits"},
		{"dtmf empty", `{"type":"dtmf","call":"c"}`, CodeBadMessage, "digits"},
		{"transfer bad kind", `{"type":"transfer","call":"c","transfer":{"kind":"moon","to":"1"}}`, CodeBadMessage, "kind"},
		{"transfer bad mode", `{"type":"transfer","call":"c","transfer":{"mode":"fling"}}`, CodeBadMessage, "mode"},
		{"transfer without target", `{"type":"transfer","call":"c","transfer":{"kind":"queue"}}`, CodeBadMessage, "needs to"},
		{"mute without call", `{"type":"mute","on":true}`, CodeNoCall, "no call"},
		{"mute without on", `{"type":"mute"}`, CodeBadMessage, "needs on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.t = t
			p.sendJSON(tt.msg)
			got := p.expect("error")
			if got.Code != tt.code || !strings.Contains(got.Message, tt.text) {
				t.Errorf("error %q %q, want code %q with %q", got.Code, got.Message, tt.code, tt.text)
			}
			if strings.Contains(tt.msg, `"id":"7"`) && got.ID != "7" {
				t.Errorf("error id %q, want the request's 7", got.ID)
			}
		})
	}
	p.t = t
	// Nothing of that broke the connection or reached call control.
	p.sendJSON(`{"type":"ping","id":"p"}`)
	if got := p.expect("pong"); got.ID != "p" {
		t.Errorf("pong id %q", got.ID)
	}
	if c := ctl.last(); c != "" {
		t.Errorf("call control got %q from bad input", c)
	}
}

func jsonEscape(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

func TestCallControlForwarded(t *testing.T) {
	m := newTestManager(t, 47210, 47219)
	ctl := newFakeControl()
	m.SetCallControl(ctl)
	p := connectPage(t, m, "agent-1")
	tests := []struct{ msg, want string }{
		{`{"type":"answer","call":"c1","id":"1"}`, "answer agent-1 c1"},
		{`{"type":"decline","call":"c1"}`, "decline agent-1 c1"},
		{`{"type":"hangup","call":"c1"}`, "hangup agent-1 c1"},
		{`{"type":"hold","call":"c1","on":true}`, "hold agent-1 c1 on"},
		{`{"type":"hold","call":"c1","on":false}`, "hold agent-1 c1 off"},
		{`{"type":"dtmf","call":"c1","digits":"12#*A"}`, "dtmf agent-1 c1 12#*A"},
		{`{"type":"transfer","call":"c1","transfer":{"kind":"queue","to":"q7"}}`, "transfer agent-1 c1 blind queue q7"},
		{`{"type":"transfer","call":"c1","transfer":{"kind":"agent","to":"bo","mode":"attended"}}`, "transfer agent-1 c1 attended agent bo"},
		{`{"type":"transfer","call":"c1","transfer":{"mode":"complete"}}`, "transfer agent-1 c1 complete  "},
		{`{"type":"ready"}`, "state agent-1 ready "},
		{`{"type":"pause","reason":"frokost"}`, "state agent-1 paused frokost"},
		{`{"type":"logout"}`, "state agent-1 logged_out "},
		// The agent is the session's, never one named in the message.
		{`{"type":"answer","call":"c2","agent":"someone-else"}`, "answer agent-1 c2"},
	}
	for _, tt := range tests {
		p.sendJSON(tt.msg)
		ack := p.expect("ack")
		if strings.Contains(tt.msg, `"id":"1"`) && ack.ID != "1" {
			t.Errorf("%s: ack id %q", tt.msg, ack.ID)
		}
		if got := ctl.last(); got != tt.want {
			t.Errorf("%s: call control got %q, want %q", tt.msg, got, tt.want)
		}
	}

	// The adapter's own refusals reach the page; internal errors do not.
	ctl.err = &ControlError{Code: "not-your-call", Message: "this call is not offered to you"}
	p.sendJSON(`{"type":"answer","call":"c9"}`)
	if e := p.expect("error"); e.Code != "not-your-call" || e.Message != "this call is not offered to you" {
		t.Errorf("ControlError reached the page as %+v", e)
	}
	ctl.err = errBoom
	p.sendJSON(`{"type":"answer","call":"c9"}`)
	if e := p.expect("error"); e.Code != CodeFailed || strings.Contains(e.Message, "500") {
		t.Errorf("internal error reached the page as %+v", e)
	}

	m2 := newTestManager(t, 47220, 47229)
	p2 := connectPage(t, m2, "agent-1")
	p2.sendJSON(`{"type":"ready"}`)
	if e := p2.expect("error"); e.Code != CodeUnavailable {
		t.Errorf("with no call control: %+v", e)
	}
}

func TestSessionReplacedByAnotherTab(t *testing.T) {
	m := newTestManager(t, 47230, 47239)
	ctl := newFakeControl()
	m.SetCallControl(ctl)
	p1 := connectPage(t, m, "agent-1")
	if !<-ctl.online {
		t.Fatal("PageOnline(false) on connect")
	}
	s, ok := m.Session("agent-1")
	if !ok {
		t.Fatal("no session after Serve")
	}
	if err := s.Notify(StateMessage("ready", "")); err != nil {
		t.Fatal(err)
	}
	p1.expect("state")
	if err := s.Notify(RingMessage("c1", "Borgerservice", "+4512345678", 75e9)); err != nil {
		t.Fatal(err)
	}
	ring := p1.expect("ring")
	if ring.Call != "c1" || ring.Queue != "Borgerservice" || ring.Caller != "+4512345678" || ring.Waited != 75 {
		t.Errorf("ring = %+v", ring)
	}
	if err := s.Notify(Message{Type: "offer", SDP: "x"}); err == nil {
		t.Error("Notify accepted a media message")
	}
	addr, err := s.AttachCall("c1")
	if err != nil {
		t.Fatal(err)
	}
	s.Notify(ConnectedMessage("c1"))
	p1.expect("connected")
	p1.sendJSON(`{"type":"mute","on":true,"call":"c1"}`)
	p1.expect("ack")

	// Second tab (or a reload).
	p2 := connectPage(t, m, "agent-1")
	e := p1.expect("error")
	if e.Code != CodeReplaced || e.Message != "replaced by another tab" {
		t.Errorf("old tab was told %+v", e)
	}
	if err := p1.ended(); !errors.Is(err, ErrReplaced) {
		t.Errorf("old tab's Serve returned %v, want ErrReplaced", err)
	}
	select {
	case on := <-ctl.online:
		t.Errorf("PageOnline(%v) on a replacement", on)
	default:
	}
	// The call and its relay survive; the new tab learns about them.
	if again, _ := s.AttachCall("c1"); again != addr {
		t.Errorf("relay address after replacement %q, want %q", again, addr)
	}
	w := p2.welcome
	if w.Call != "c1" || !w.Muted {
		t.Errorf("welcome %+v: want call c1, muted", w)
	}
	if st := p2.expect("state"); st.State != "ready" {
		t.Errorf("replayed state %+v", st)
	}
	if c := p2.expect("connected"); c.Call != "c1" {
		t.Errorf("replayed call %+v", c)
	}

	s.Notify(EndedMessage("c1", "caller-hangup"))
	p2.expect("ended")
	s.DetachCall("c1")
	p2.sendJSON(`{"type":"hello"}`)
	if w := p2.expect("welcome"); w.Call != "" {
		t.Errorf("welcome after the call ended: %+v", w)
	}
	p2.expect("state")

	// The page goes away: the adapter hears it, Notify says so.
	p2.conn.close()
	p2.ended()
	if <-ctl.online {
		t.Error("PageOnline(true) when the page went away")
	}
	if err := s.Notify(StateMessage("paused", "")); !errors.Is(err, ErrNoPage) {
		t.Errorf("Notify without a page: %v", err)
	}

	// Logout ends a connected page with a reason.
	p3 := connectPage(t, m, "agent-1")
	<-ctl.online
	if st := p3.expect("state"); st.State != "paused" {
		t.Errorf("state kept while no page was connected: %+v", st)
	}
	m.Logout("agent-1")
	if e := p3.expect("error"); e.Code != CodeLoggedOut {
		t.Errorf("logout told the page %+v", e)
	}
	if err := p3.ended(); !errors.Is(err, ErrLoggedOut) {
		t.Errorf("Serve after Logout returned %v", err)
	}
	if _, ok := m.Session("agent-1"); ok {
		t.Error("session still there after Logout")
	}

	// Close ends pages and refuses new ones.
	p4 := connectPage(t, m, "agent-2")
	m.Close()
	if e := p4.expect("error"); e.Code != CodeShutdown {
		t.Errorf("Close told the page %+v", e)
	}
	if err := m.Serve(t.Context(), "agent-3", newPipeConn()); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

func TestSlowPageIsDisconnected(t *testing.T) {
	m := newTestManager(t, 47240, 47249)
	p := connectPage(t, m, "agent-1")
	s, _ := m.Session("agent-1")
	// The test stops reading: the pipe buffers 256, the queue outQueue.
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = s.Notify(StateMessage("ready", ""))
	}
	if !errors.Is(err, ErrSlowPage) && !errors.Is(err, ErrNoPage) {
		t.Fatalf("Notify to a page that never reads: %v", err)
	}
	for len(p.conn.out) > 0 {
		<-p.conn.out
	}
	if err := p.ended(); !errors.Is(err, ErrSlowPage) {
		t.Errorf("Serve returned %v, want ErrSlowPage", err)
	}
}

// TestConsultMessagesReplayed: a colleague's transfer rings with from; the
// consult messages of an attended transfer reach the page and the latest
// is replayed to a page that reconnects, until the call ends or another
// call rings.
func TestConsultMessagesReplayed(t *testing.T) {
	m := newTestManager(t, 47240, 47249)
	m.SetCallControl(newFakeControl())
	p1 := connectPage(t, m, "bo")
	s, _ := m.Session("bo")
	if err := s.Notify(ConsultRingMessage("c1", "Borgerservice", "", "Anna Hansen")); err != nil {
		t.Fatal(err)
	}
	if r := p1.expect("ring"); r.From != "Anna Hansen" || r.Queue != "Borgerservice" || r.Caller != "" || r.Call != "c1" {
		t.Errorf("consult ring %+v", r)
	}
	if _, err := s.AttachCall("c1"); err != nil {
		t.Fatal(err)
	}
	s.Notify(ConnectedMessage("c1"))
	p1.expect("connected")
	if err := s.Notify(ConsultMessage("c1", ConsultTakenOver, "", "Anna Hansen")); err != nil {
		t.Fatal(err)
	}
	if c := p1.expect("consult"); c.State != ConsultTakenOver || c.With != "Anna Hansen" || c.Call != "c1" {
		t.Errorf("consult %+v", c)
	}

	p2 := connectPage(t, m, "bo")
	p1.expect("error")
	p1.ended()
	if w := p2.welcome; w.Call != "c1" {
		t.Errorf("welcome %+v", w)
	}
	p2.expect("connected")
	if c := p2.expect("consult"); c.State != ConsultTakenOver {
		t.Errorf("replayed consult %+v", c)
	}

	s.Notify(EndedMessage("c1", "agent-hangup"))
	p2.expect("ended")
	s.DetachCall("c1")
	p2.sendJSON(`{"type":"hello"}`)
	p2.expect("welcome")
	p2.sendJSON(`{"type":"ping","id":"p"}`)
	if m := p2.expect("pong"); m.ID != "p" {
		t.Errorf("after the call ended the page got %+v, want nothing replayed", m)
	}
}
