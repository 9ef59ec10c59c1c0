package ariclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Handler receives every event of the stream, one at a time, in the order
// Asterisk sent them, on one goroutine. A slow handler delays later events
// but never loses them: the socket keeps being read into an unbounded queue
// (Asterisk drops a client that does not read in time).
type Handler func(ctx context.Context, ev Event)

// ErrRunning is returned by Run when another Run of the same Client is active.
var ErrRunning = errors.New("ariclient: Run already active")

// Stats are the client's counters, cheap to read and safe to export as
// metrics. Nothing is ever dropped: every received event is either
// delivered, or one of the client's own app-check probes (Probes), or, at
// shutdown, counted in Undelivered.
type Stats struct {
	Received     uint64 // ARI messages read from the socket
	Delivered    uint64 // events (including Connected/Disconnected) given to the handler
	Unknown      uint64 // messages of a type this client does not know
	DecodeErrors uint64 // messages delivered as *UnknownEvent because decoding failed
	Undelivered  uint64 // events still queued when Run returned
	QueueDepth   int64  // events waiting for the handler now
	MaxQueue     int64  // highest QueueDepth seen
	Connects     uint64 // successful socket connections
	DialErrors   uint64 // failed dial attempts
	RESTCalls    uint64 // REST requests sent
	RESTOnSocket uint64 // of those, sent over the event socket (Config.RESTOverWebSocket)
	RESTErrors   uint64 // REST requests that failed (transport or non-2xx)
	AppChecks    uint64 // app checks run (see Config.AppCheckInterval)
	AppLost      uint64 // open sockets closed and redialled because Asterisk no longer had an app active for them
	Probes       uint64 // probe user events read and consumed by the app check
}

type counters struct {
	received, delivered, unknown, decodeErrors, undelivered   atomic.Uint64
	depth, maxDepth                                           atomic.Int64
	connects, dialErrors, restCalls, restErrors, restOnSocket atomic.Uint64
	appChecks, appLost, probes                                atomic.Uint64
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Received: s.received.Load(), Delivered: s.delivered.Load(),
		Unknown: s.unknown.Load(), DecodeErrors: s.decodeErrors.Load(),
		Undelivered: s.undelivered.Load(),
		QueueDepth:  s.depth.Load(), MaxQueue: s.maxDepth.Load(),
		Connects: s.connects.Load(), DialErrors: s.dialErrors.Load(),
		RESTCalls: s.restCalls.Load(), RESTErrors: s.restErrors.Load(), RESTOnSocket: s.restOnSocket.Load(),
		AppChecks: s.appChecks.Load(), AppLost: s.appLost.Load(), Probes: s.probes.Load(),
	}
}

// eventQueue is an unbounded FIFO between the socket reader and the
// handler. push never blocks.
type eventQueue struct {
	mu     sync.Mutex
	items  []Event
	signal chan struct{} // capacity 1: "items may be non-empty"
	stats  *counters
}

func newEventQueue(s *counters) *eventQueue {
	return &eventQueue{signal: make(chan struct{}, 1), stats: s}
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	d := q.stats.depth.Add(1)
	for {
		m := q.stats.maxDepth.Load()
		if d <= m || q.stats.maxDepth.CompareAndSwap(m, d) {
			break
		}
	}
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take moves all queued events out, reusing spare's storage for the next
// pushes.
func (q *eventQueue) take(spare []Event) []Event {
	q.mu.Lock()
	out := q.items
	q.items = spare[:0]
	q.mu.Unlock()
	return out
}

// Run connects the event socket and calls h for every event until ctx is
// done or Close is called; it then returns ctx.Err() or ErrClosed. It
// redials on its own with exponential, jittered backoff and never returns
// because of a connection problem. The stream carries *Connected before the
// first event of each connection (after Config.OnConnect has returned) and
// *Disconnected after the last one.
func (c *Client) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("ariclient: Run: nil handler")
	}
	if c.isClosed() {
		return ErrClosed
	}
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-ctx.Done():
		}
	}()

	q := newEventQueue(&c.stats)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		c.connectLoop(ctx, q)
	}()

	var batch []Event
	for ctx.Err() == nil {
		batch = q.take(batch)
		if len(batch) == 0 {
			select {
			case <-q.signal:
			case <-ctx.Done():
			}
			continue
		}
		for i, ev := range batch {
			if ctx.Err() != nil {
				break
			}
			c.stats.depth.Add(-1)
			if conn, ok := ev.(*Connected); ok && c.onConnect != nil {
				c.onConnect(ctx, conn.Reconnected)
			}
			h(ctx, ev)
			c.stats.delivered.Add(1)
			batch[i] = nil
		}
		clear(batch)
	}
	<-readerDone
	if n := c.stats.depth.Swap(0); n > 0 {
		c.stats.undelivered.Add(uint64(n))
		c.log.Warn("ari: event stream stopped with events undelivered", "undelivered", n)
	}
	if c.isClosed() {
		return ErrClosed
	}
	return ctx.Err()
}

// eventsURL is the WebSocket URL of /events for the configured apps.
func (c *Client) eventsURL() string {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = c.base.Path + "/events"
	q := "app=" + strings.Join(c.apps, ",") // names validated in New
	if c.subAll {
		q += "&subscribeAll=true"
	}
	u.RawQuery = q
	return u.String()
}

// backoff returns the delay before redial attempt n (1-based): exponential
// from min, capped at max, with "equal jitter" (a random value in
// [d/2, d]) so that many clients do not redial in lockstep. rnd returns a
// value in [0, 1).
func backoff(n int, min, max time.Duration, rnd func() float64) time.Duration {
	if n < 1 {
		n = 1
	}
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rnd()*float64(d-half))
}

func (c *Client) connectLoop(ctx context.Context, q *eventQueue) {
	attempt := 0
	first := true
	for ctx.Err() == nil {
		conn, err := c.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.stats.dialErrors.Add(1)
			attempt++
			d := backoff(attempt, c.backoffMin, c.backoffMax, rand.Float64)
			c.log.Warn("ari: event socket dial failed", "err", err, "attempt", attempt, "retry_in", d)
			if !waitFor(ctx, d) {
				return
			}
			continue
		}
		c.stats.connects.Add(1)
		c.connected.Store(true)
		c.log.Info("ari: event socket connected", "apps", strings.Join(c.apps, ","), "reconnected", !first)
		q.push(&Connected{EventBase: EventBase{Type: TypeConnected, Timestamp: time.Now()}, Reconnected: !first})
		first = false
		start := time.Now()
		err = c.readLoop(ctx, conn, q)
		c.connected.Store(false)
		// Close fully before dialling again: the close handshake if the
		// socket is still open, and wait until it is shut (readLoop has
		// already waited for an app check's own close).
		conn.Close(websocket.StatusNormalClosure, "")
		if ctx.Err() != nil {
			return
		}
		q.push(&Disconnected{EventBase: EventBase{Type: TypeDisconnected, Timestamp: time.Now()}, Err: err})
		// A connection that lived long resets the backoff; one dropped
		// right away keeps growing it (e.g. a proxy that accepts and closes,
		// or an app that keeps being lost right after each connect).
		if time.Since(start) > c.backoffMax {
			attempt = 0
		}
		attempt++
		d := backoff(attempt, c.backoffMin, c.backoffMax, rand.Float64)
		if errors.Is(err, ErrAppLost) {
			// Give Asterisk time to finish with the socket just closed,
			// or its late close deactivates the app again.
			d = max(d, c.appCheckFirst)
			n := c.stats.appLost.Add(1)
			c.log.Warn("ari: Asterisk does not deliver the app's events to the open socket; re-opening it", "err", err, "times", n, "retry_in", d)
		} else {
			c.log.Warn("ari: event socket lost", "err", err, "retry_in", d)
		}
		if !waitFor(ctx, d) {
			return
		}
	}
}

func waitFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hdr := http.Header{"Authorization": c.auth}
	conn, resp, err := websocket.Dial(dctx, c.eventsURL(), &websocket.DialOptions{
		HTTPClient:   c.wsHTTP,
		HTTPHeader:   hdr,
		Subprotocols: []string{"ari"},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var msg []byte
			if resp.Body != nil {
				msg, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			}
			return nil, &Error{Method: http.MethodGet, Path: "/events", Status: resp.StatusCode, Message: errorMessage(msg)}
		}
		return nil, fmt.Errorf("ari: dial /events: %w", err)
	}
	conn.SetReadLimit(c.readLimit)
	return conn, nil
}

// readLoop reads messages until the connection fails, pushing each decoded
// event; a pinger closes the connection if pongs stop coming.
func (c *Client) readLoop(ctx context.Context, conn *websocket.Conn, q *eventQueue) error {
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	// Messages are read without a context: the library would register and
	// remove a cancel callback for every message (allocations on the
	// busiest path). Cancelling closes the connection once instead, which
	// ends the read just the same. Run's caller stopping (ctx, Close)
	// closes with the handshake, which Run's return waits for: Asterisk
	// answers the close frame only after it has unregistered the socket's
	// apps, so a socket opened after Run returned (the next process, a
	// restarted adapter) is not deactivated by this one's late close
	// (see "Why the app check exists"). Dropped abruptly, that cleanup
	// raced with the next registration.
	stopClose := context.AfterFunc(rctx, func() {
		if ctx.Err() != nil {
			conn.Close(websocket.StatusNormalClosure, "")
			return
		}
		conn.CloseNow()
	})
	defer stopClose()
	pingDead := make(chan error, 1)
	appLost := make(chan error, 1)
	wg.Go(func() {
		c.watchApps(rctx, func(reason string) { conn.Close(websocket.StatusNormalClosure, reason) }, appLost)
	})
	wg.Go(func() {
		t := time.NewTicker(c.pingInterval)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(rctx, c.pongTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				if rctx.Err() == nil {
					pingDead <- fmt.Errorf("ari: event socket ping: %w", err)
					conn.CloseNow()
				}
				return
			}
		}
	})
	var (
		dec eventDecoder
		buf bytes.Buffer // reused: each message is then copied out once, at its exact size
	)
	c.rws.attach(conn)
	defer c.rws.detach(conn)
	switch c.restMode {
	case RESTWebSocket:
		c.restOverWS.Store(true)
	case RESTAuto:
		wg.Go(func() { c.detectREST(rctx) })
	}
	for {
		data, err := readMessage(conn, &buf)
		if err != nil {
			select {
			case perr := <-pingDead:
				return perr
			case lerr := <-appLost:
				return lerr
			default:
			}
			return err
		}
		h, sniffed := sniffHeader(data)
		if sniffed && c.restMode != RESTHTTP && string(h.typ) == "RESTResponse" && c.rws.take(data) {
			continue // the answer to a REST call sent on this socket
		}
		ev := dec.decodeSniffed(bytes.Clone(data), h, sniffed) // the event keeps its own copy as Raw
		if r, ok := ev.(*RESTResponse); ok && c.restMode != RESTHTTP {
			// the answer to a REST call sent on this socket, not an event
			c.rws.deliver(r)
			continue
		}
		c.stats.received.Add(1)
		if name, ok := isProbe(ev); ok {
			c.stats.probes.Add(1)
			c.probe.arrived(name)
			continue
		}
		if u, ok := ev.(*UnknownEvent); ok {
			if u.Err != nil {
				c.stats.decodeErrors.Add(1)
				// Never log Raw: it holds callers' numbers.
				c.log.Warn("ari: event delivered undecoded", "type", u.Type, "err", u.Err)
			} else {
				c.stats.unknown.Add(1)
				c.log.Debug("ari: event of unknown type passed on raw", "type", u.Type)
			}
		}
		q.push(ev)
	}
}

// maxKeptReadBuffer is the largest read buffer kept between messages; a
// rare huge event does not pin its memory for the connection's lifetime.
const maxKeptReadBuffer = 1 << 20

// readMessage reads one message into buf and returns buf's bytes, valid
// until the next read (an event takes an exact-size copy as Raw). conn.Read
// would grow a fresh buffer from 512 bytes for every message.
func readMessage(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := conn.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if buf.Cap() > maxKeptReadBuffer {
		*buf = bytes.Buffer{} // data keeps the big array until it is dropped
	}
	return data, nil
}
