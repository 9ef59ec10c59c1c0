package ariclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"
	"github.com/go-json-experiment/json/jsontext"
)

// RESTTransport says how REST calls travel (Config.RESTOverWebSocket).
type RESTTransport int

// REST transports.
const (
	// RESTHTTP: an HTTP request per call.
	RESTHTTP RESTTransport = iota
	// RESTWebSocket: RESTRequest messages on the event socket.
	RESTWebSocket
	// RESTAuto: on the socket when Asterisk is 20.12, 21.7, 22.2 or later.
	RESTAuto
)

// ParseRESTTransport reads a transport by name: "http", "websocket" or
// "auto" (the OMSTIL_ARI_REST setting).
func ParseRESTTransport(name string) (RESTTransport, error) {
	switch name {
	case "http":
		return RESTHTTP, nil
	case "websocket":
		return RESTWebSocket, nil
	case "auto":
		return RESTAuto, nil
	}
	return RESTHTTP, fmt.Errorf("ariclient: REST transport %q is not http, websocket or auto", name)
}

// RESTOverWebSocketSupported reports whether an Asterisk of this version
// (AsteriskInfo.System.Version, e.g. "22.10.1") takes REST requests on
// the event socket: 20.12, 21.7, 22.2 and every later major version.
// Certified and development versions it cannot read count as no.
func RESTOverWebSocketSupported(version string) bool {
	v, _, _ := strings.Cut(version, " ")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	switch {
	case major >= 23:
		return true
	case major == 22:
		return minor >= 2
	case major == 21:
		return minor >= 7
	case major == 20:
		return minor >= 12
	}
	return false
}

// detectREST decides RESTAuto for this connection from Asterisk's
// version; until it knows, calls go over HTTP.
func (c *Client) detectREST(ctx context.Context) {
	info, err := c.Info(ctx)
	if err != nil || info.System == nil {
		if ctx.Err() == nil {
			c.log.Info("ari: cannot tell whether Asterisk takes REST calls on the event socket; using HTTP", "err", err)
		}
		return
	}
	on := RESTOverWebSocketSupported(info.System.Version)
	if on != c.restOverWS.Load() {
		c.log.Info("ari: REST calls", "over_event_socket", on, "asterisk", info.System.Version)
	}
	c.restOverWS.Store(on)
}

// errSocketGone fails REST calls in flight over the event socket when it
// closes; whether Asterisk carried them out is unknown, as with an HTTP
// connection that breaks.
var errSocketGone = errors.New("ariclient: event socket closed before the answer")

// restWS carries REST calls over the event socket as ARI's RESTRequest /
// RESTResponse messages (Asterisk 20.12, 21.7, 22.2 and later) when
// Config.RESTOverWebSocket is set: no HTTP request, headers or connection
// per call. While the socket is down, calls go over HTTP.
type restWS struct {
	mu      sync.Mutex
	conn    *websocket.Conn
	next    uint64
	pending map[string]chan restAnswer
}

type restAnswer struct {
	status int
	body   []byte
	err    error
}

// restRequest is ARI's RESTRequest message.
type restRequest struct {
	Type          string `json:"type"`
	TransactionID string `json:"transaction_id"`
	RequestID     string `json:"request_id"`
	Method        string `json:"method"`
	URI           string `json:"uri"`
	ContentType   string `json:"content_type,omitempty"`
	MessageBody   string `json:"message_body,omitempty"`
}

// appendJSON appends the message as encoding/json would encode it (the
// same keys, order and omitted empty fields), without reflection.
func (r *restRequest) appendJSON(b []byte) ([]byte, error) {
	var err error
	field := func(key, val string) {
		if err != nil {
			return
		}
		b = append(b, key...)
		b, err = jsontext.AppendQuote(b, val)
	}
	b = append(b, '{')
	field(`"type":`, r.Type)
	field(`,"transaction_id":`, r.TransactionID)
	field(`,"request_id":`, r.RequestID)
	field(`,"method":`, r.Method)
	field(`,"uri":`, r.URI)
	if r.ContentType != "" {
		field(`,"content_type":`, r.ContentType)
	}
	if r.MessageBody != "" {
		field(`,"message_body":`, r.MessageBody)
	}
	return append(b, '}'), err
}

func (w *restWS) attach(conn *websocket.Conn) {
	w.mu.Lock()
	w.conn = conn
	w.mu.Unlock()
}

// detach fails every call in flight on conn.
func (w *restWS) detach(conn *websocket.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != conn {
		return
	}
	w.conn = nil
	for id, ch := range w.pending {
		ch <- restAnswer{err: errSocketGone}
		delete(w.pending, id)
	}
}

// call sends one request and waits for its answer. ok is false when no
// socket is up: the caller uses HTTP.
func (w *restWS) call(ctx context.Context, method, path string, q url.Values, body []byte) (a restAnswer, ok bool) {
	w.mu.Lock()
	conn := w.conn
	if conn == nil {
		w.mu.Unlock()
		return a, false
	}
	w.next++
	id := strconv.FormatUint(w.next, 10)
	if w.pending == nil {
		w.pending = map[string]chan restAnswer{}
	}
	ch := make(chan restAnswer, 1)
	w.pending[id] = ch
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		delete(w.pending, id)
		w.mu.Unlock()
	}

	uri := strings.TrimPrefix(path, "/")
	if len(q) > 0 {
		uri += "?" + q.Encode()
	}
	req := restRequest{Type: "RESTRequest", TransactionID: id, RequestID: id, Method: method, URI: uri}
	if body != nil {
		req.ContentType, req.MessageBody = "application/json", string(body)
	}
	msg, err := req.appendJSON(nil)
	if err != nil {
		forget()
		return restAnswer{err: err}, true
	}
	// Written with the call's ctx: a peer that stops reading blocks the
	// write, and the library closes the socket when ctx ends, so the next
	// calls go over HTTP or a new socket at once. Written without it (to
	// save the library's cancel callback per message) a write waited for
	// the pinger, up to ping interval + pong timeout, and CheckApps timed
	// out in 2 of 4 contract runs against Asterisk 22.10.1; the saving was
	// within the load test's noise (1,322 against 1,388 calls/s, 3 runs
	// each, alternated).
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		forget()
		if errors.Is(err, net.ErrClosed) {
			// the socket closed before the request went out (a frame
			// cut short is not carried out either): HTTP instead
			return restAnswer{}, false
		}
		return restAnswer{err: err}, true
	}
	select {
	case a = <-ch:
		return a, true
	case <-ctx.Done():
		forget()
		return restAnswer{err: ctx.Err()}, true
	}
}

// take hands the RESTResponse message raw to its caller without
// decoding it into an event (nor keeping raw, which is the read buffer):
// the request ID, the status and the body unquoted once into its own
// bytes. false means "not the usual shape": decode it as an event.
func (w *restWS) take(raw []byte) bool {
	var (
		id     []byte
		status int64
		body   []byte
		seen   bool
	)
	ok := fastObject(raw, func(k, v []byte) bool {
		switch string(k) {
		case "request_id":
			s, e, esc, next := scanString(v, 0)
			if next != len(v) || esc {
				return false
			}
			id = v[s:e]
		case "status_code":
			seen = true
			return fastInt(v, &status)
		case "message_body":
			if string(v) == "null" {
				return true
			}
			var err error
			body, err = jsontext.AppendUnquote(nil, v)
			return err == nil
		}
		return true
	})
	if !ok || id == nil || !seen {
		return false
	}
	w.answer(string(id), restAnswer{status: int(status), body: body})
	return true
}

// answer hands a to the call waiting for request id; an answer nobody
// waits for any more (timed out) is dropped.
func (w *restWS) answer(id string, a restAnswer) {
	w.mu.Lock()
	ch := w.pending[id]
	delete(w.pending, id)
	w.mu.Unlock()
	if ch != nil {
		ch <- a
	}
}

// deliver hands a decoded RESTResponse to its caller.
func (w *restWS) deliver(r *RESTResponse) {
	w.answer(r.RequestID, restAnswer{status: r.StatusCode, body: []byte(r.MessageBody)})
}
