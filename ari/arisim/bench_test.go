package arisim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// benchServer runs a real-time simulator over HTTP with one WebSocket
// client that counts the events it reads.
func benchServer(b *testing.B) (*Sim, *httptest.Server, *atomic.Int64) {
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	var n atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ari/events?api_key=omstil:omstil&app=omstil", nil)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	b.Cleanup(func() {
		cancel()
		ws.CloseNow()
		s.Close()
		srv.Close()
	})
	return s, srv, &n
}

func post(b *testing.B, c *http.Client, method, url string) {
	req, _ := http.NewRequest(method, url, nil)
	req.SetBasicAuth("omstil", "omstil")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Fatalf("%s %s: %d", method, url, resp.StatusCode)
	}
}

// waitEvents waits (real network I/O) until the client has read every
// event the simulator sent.
func waitEvents(b *testing.B, s *Sim, n *atomic.Int64) {
	deadline := time.Now().Add(30 * time.Second)
	for n.Load() < s.Stats().EventsSent {
		if time.Now().After(deadline) {
			b.Fatalf("client read %d of %d events", n.Load(), s.Stats().EventsSent)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkInboundCall: a trunk call arrives (StasisStart), the app answers
// and hangs up over HTTP; 4 events per call reach the WebSocket client.
func BenchmarkInboundCall(b *testing.B) {
	s, srv, n := benchServer(b)
	c := srv.Client()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ch, err := s.PlaceCall(Call{Number: "1000", CallerID: "12345678"})
		if err != nil {
			b.Fatal(err)
		}
		post(b, c, "POST", srv.URL+"/ari/channels/"+ch.ID+"/answer")
		post(b, c, "DELETE", srv.URL+"/ari/channels/"+ch.ID)
	}
	waitEvents(b, s, n)
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "calls/s")
	b.ReportMetric(float64(n.Load())/el, "events/s")
}

// BenchmarkOriginateLocalAgent: originate Local/1001@omstil-test-agents
// (answers at once, Echo) and hang up: two channels and 14 events each.
func BenchmarkOriginateLocalAgent(b *testing.B) {
	s, srv, n := benchServer(b)
	c := srv.Client()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("agent-%d", i)
		post(b, c, "POST", srv.URL+"/ari/channels?endpoint=Local/1001@omstil-test-agents&app=omstil&channelId="+id)
		post(b, c, "DELETE", srv.URL+"/ari/channels/"+id)
	}
	waitEvents(b, s, n)
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(2*b.N)/el, "channels/s")
	b.ReportMetric(float64(n.Load())/el, "events/s")
}

// BenchmarkMediaTick measures one 20 ms audio tick with pairs of callers
// in mixing bridges, one side sending a tone, plus idle channels; the
// metric %core is the share of one core the ticking costs.
func BenchmarkMediaTick(b *testing.B) {
	for _, tc := range []struct{ active, idle int }{{100, 0}, {1000, 0}, {100, 10000}} {
		b.Run(fmt.Sprintf("active=%d/idle=%d", tc.active, tc.idle), func(b *testing.B) {
			clock := NewFakeClock(t0)
			s := New(Options{Clock: clock})
			defer s.Close()
			s.mu.Lock()
			s.apps["omstil"] = &app{name: "omstil", conn: &wsConn{signal: make(chan struct{}, 1), done: make(chan struct{}), closed: true}}
			s.mu.Unlock()
			for i := 0; i < tc.active/2; i++ {
				a, _ := s.PlaceCall(Call{Number: "1", CallerID: "1", ToneHz: 440})
				c, _ := s.PlaceCall(Call{Number: "1", CallerID: "2"})
				s.mu.Lock()
				br, _ := s.createBridge("mixing", "", "")
				s.addToBridge(br, s.channels[a.ID])
				s.addToBridge(br, s.channels[c.ID])
				s.mu.Unlock()
			}
			for i := 0; i < tc.idle; i++ {
				s.PlaceCall(Call{Number: "1", CallerID: "3"})
			}
			var sends []rtpSend
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.mu.Lock()
				s.tickLocked(&sends)
				s.mu.Unlock()
			}
			perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perTick/float64(tickEvery.Nanoseconds())*100, "%core")
		})
	}
}

// BenchmarkInboundCallREST is BenchmarkInboundCall with the answer and
// hangup sent as RESTRequests over the event socket (ARI REST over
// WebSocket), each waited for as its RESTResponse arrives.
func BenchmarkInboundCallREST(b *testing.B) {
	s := New(Options{ChannelVars: []string{"OMSTIL_CALL"}})
	srv := httptest.NewServer(s.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ari/events?api_key=omstil:omstil&app=omstil", nil)
	if err != nil {
		b.Fatal(err)
	}
	responses := make(chan struct{}, 16)
	go func() {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if strings.Contains(string(data), `"RESTResponse"`) {
				responses <- struct{}{}
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		ws.CloseNow()
		s.Close()
		srv.Close()
	})
	rest := func(i int, method, uri string) {
		msg := fmt.Sprintf(`{"type":"RESTRequest","transaction_id":"t%d","request_id":"r%d","method":%q,"uri":%q}`, i, i, method, uri)
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			b.Fatal(err)
		}
		select {
		case <-responses:
		case <-time.After(30 * time.Second):
			b.Fatalf("no RESTResponse to %s %s", method, uri)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch, err := s.PlaceCall(Call{Number: "1000", CallerID: "12345678"})
		if err != nil {
			b.Fatal(err)
		}
		rest(i, "POST", "channels/"+ch.ID+"/answer")
		rest(i, "POST", "channels/"+ch.ID+"/variable?variable=OMSTIL_CALL&value=c1")
		rest(i, "DELETE", "channels/"+ch.ID)
	}
}

// BenchmarkCallEvents measures the events of one call without any I/O: an
// inbound call enters Stasis, is answered, gets a variable, enters and
// leaves a bridge and hangs up (StasisStart, ChannelVarset,
// ChannelStateChange, ChannelEnteredBridge/LeftBridge,
// ChannelHangupRequest, StasisEnd, ChannelDestroyed), each encoded for the
// app's socket.
func BenchmarkCallEvents(b *testing.B) {
	for _, waiting := range []int{0, 10000} {
		b.Run(fmt.Sprintf("waiting=%d", waiting), func(b *testing.B) { benchCallEvents(b, waiting) })
	}
}

// benchCallEvents runs BenchmarkCallEvents with other calls waiting in
// Stasis meanwhile (as in omstil's load test).
func benchCallEvents(b *testing.B, waiting int) {
	s := New(Options{Clock: NewFakeClock(t0), ChannelVars: []string{"OMSTIL_CALL"}})
	defer s.Close()
	c := &wsConn{apps: []string{"omstil"}, signal: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	s.apps["omstil"] = &app{name: "omstil", conn: c}
	br, _ := s.createBridge("mixing", "", "")
	for i := 0; i < waiting; i++ {
		if _, err := s.placeCallLocked(Call{Number: "1000", CallerID: "12345678"}); err != nil {
			b.Fatal(err)
		}
	}
	s.mu.Unlock()
	c.take()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.mu.Lock()
		snap, err := s.placeCallLocked(Call{Number: "1000", CallerID: "12345678"})
		if err != nil {
			b.Fatal(err)
		}
		ch := s.channels[snap.ID]
		s.answer(ch)
		s.setVar(ch, "OMSTIL_CALL", "c1", true)
		s.addToBridge(br, ch)
		s.hangup(ch, causeNormal, softHangupReq(softhangupExplicit))
		s.mu.Unlock()
		c.take()
	}
}
