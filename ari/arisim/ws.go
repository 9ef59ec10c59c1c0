package arisim

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsConn is one /ari/events WebSocket. Events are queued without bound and
// written in order by one goroutine, so a slow reader never loses events.
type wsConn struct {
	apps         []string
	subscribeAll bool

	mu     sync.Mutex
	queue  [][]byte
	signal chan struct{}
	done   chan struct{}
	closed bool
	flush  bool // on close, write what is queued first (Asterisk shutting down)
}

func (c *wsConn) enqueue(b []byte) {
	c.mu.Lock()
	if !c.closed {
		c.queue = append(c.queue, b)
	}
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *wsConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
}

// closeFlushed closes c after the events queued so far are written.
func (c *wsConn) closeFlushed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed, c.flush = true, true
		close(c.done)
	}
}

func (c *wsConn) take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// handleEvents serves GET /ari/events?app=a,b&subscribeAll=true.
func (s *Sim) handleEvents(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		unauthorized(w)
		return
	}
	appParam := r.URL.Query().Get("app")
	var apps []string
	for _, a := range strings.Split(appParam, ",") {
		if a = strings.TrimSpace(a); a != "" {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		writeError(w, http.StatusBadRequest, "HTTP request is missing param: [app]")
		return
	}
	c := &wsConn{
		apps:         apps,
		subscribeAll: astTrue(r.URL.Query().Get("subscribeAll")),
		signal:       make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "Asterisk not booted")
		return
	}
	// Like Asterisk (websocket_attempted_cb), the apps are registered
	// before the upgrade completes, so a client may rely on them once
	// connected.
	s.registerConn(c)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.mu.Lock()
		s.unregisterConn(c)
		s.mu.Unlock()
		return
	}
	ws.SetReadLimit(1 << 20)
	s.log.Info("websocket connected", "apps", appParam, "remote", r.RemoteAddr)

	// Reads and writes use no cancellable context: coder/websocket would
	// register a context.AfterFunc per message. A write deadline is one
	// timer per connection instead, and shutdown closes the connection,
	// which ends the read.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			// REST requests over the socket are answered on it; other
			// client messages are ignored (pings are answered by the
			// library while reading).
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.close()
				return
			}
			s.handleSocketMessage(c, data)
		}
	}()

	// A reader that takes more than 10 s for 256 events is gone; one
	// deadline per 256 rather than per event.
	deadline := time.AfterFunc(time.Hour, func() { ws.CloseNow() })
	deadline.Stop()
	defer deadline.Stop()
	for {
		select {
		case <-c.done:
			c.mu.Lock()
			flush := c.flush
			c.mu.Unlock()
			if flush {
				deadline.Reset(10 * time.Second)
				for _, b := range c.take() {
					if ws.Write(context.Background(), websocket.MessageText, b) != nil {
						break
					}
				}
			}
		case <-s.closeCh:
			c.close()
		case <-c.signal:
			for i, b := range c.take() {
				if i%256 == 0 {
					deadline.Reset(10 * time.Second)
				}
				if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
					c.close()
					break
				}
			}
			deadline.Stop()
			continue
		}
		break
	}
	s.mu.Lock()
	s.unregisterConn(c)
	s.mu.Unlock()
	ws.Close(websocket.StatusNormalClosure, "")
	<-readDone
	s.log.Info("websocket closed", "apps", appParam)
}

// astTrue is ast_true: yes, true, y, t, 1, on.
func astTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "y", "t", "1", "on":
		return true
	}
	return false
}
