package arisim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// restRequest is ARI's RESTRequest message (REST over the event socket,
// res/ari/ari_websocket_requests.c): uri is relative to /ari, with an
// optional query string; query_strings adds more parameters.
type restRequest struct {
	Type          string `json:"type"`
	TransactionID string `json:"transaction_id"`
	RequestID     string `json:"request_id"`
	Method        string `json:"method"`
	URI           string `json:"uri"`
	ContentType   string `json:"content_type"`
	MessageBody   string `json:"message_body"`
	QueryStrings  []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"query_strings"`
}

// restHandler is the simulator's ARI as an http.Handler, made once for the
// requests that come over event sockets.
func (s *Sim) restHandler() http.Handler {
	s.restOnce.Do(func() { s.restMux = s.Handler() })
	return s.restMux
}

// handleSocketMessage serves one message a client sent on its event socket:
// a RESTRequest is carried out as the same request over HTTP would be (the
// socket is already authenticated) and answered with a RESTResponse queued
// behind the events the request caused. Anything else is ignored, as
// before Asterisk had REST over WebSocket.
func (s *Sim) handleSocketMessage(c *wsConn, data []byte) {
	if !bytes.Contains(data, []byte(`"RESTRequest"`)) {
		return
	}
	var rq restRequest
	if err := json.Unmarshal(data, &rq); err != nil || rq.Type != "RESTRequest" {
		return
	}
	status, body := s.serveSocketREST(rq)
	// Not counted in Stats().EventsSent (s.mu is not held here): an
	// answer, not an event.
	c.enqueue(restResponse(rq, status, bytes.TrimSpace(body), c.apps[0], s.opts.AsteriskID))
}

// restResponse is the RESTResponse message for rq with the receiving app's
// members.
func restResponse(rq restRequest, status int, body []byte, appName, asteriskID string) []byte {
	b := make([]byte, 0, 200+len(body)+len(rq.URI))
	b = append(b, `{"type":"RESTResponse","transaction_id":`...)
	b = appendString(b, rq.TransactionID)
	b = append(b, `,"request_id":`...)
	b = appendString(b, rq.RequestID)
	b = append(b, `,"status_code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"reason_phrase":`...)
	b = appendString(b, http.StatusText(status))
	b = append(b, `,"uri":`...)
	b = appendString(b, rq.URI)
	if len(body) > 0 {
		b = append(b, `,"content_type":"application/json","message_body":`...)
		b = appendString(b, body)
	}
	return appendAppSuffix(b, appName, asteriskID)
}

func (s *Sim) serveSocketREST(rq restRequest) (int, []byte) {
	if rq.Method == "" || rq.URI == "" {
		return http.StatusBadRequest, []byte(`{"message":"Empty or missing 'method' or 'uri' property."}`)
	}
	target := "/ari/" + strings.TrimPrefix(rq.URI, "/")
	if len(rq.QueryStrings) > 0 {
		var b strings.Builder
		b.WriteString(target)
		sep := byte('?')
		if strings.Contains(target, "?") {
			sep = '&'
		}
		for _, q := range rq.QueryStrings {
			b.WriteByte(sep)
			b.WriteString(url.QueryEscape(q.Name))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(q.Value))
			sep = '&'
		}
		target = b.String()
	}
	if rq.MessageBody != "" && rq.ContentType == "" {
		return http.StatusBadRequest, []byte(`{"message":"No 'content_type' for 'message_body'."}`)
	}
	req, ok := s.socketRequest(rq.Method, target, rq.ContentType, rq.MessageBody)
	if !ok {
		return http.StatusBadRequest, []byte(`{"message":"Bad request"}`)
	}
	w := restWriterPool.Get().(*restWriter)
	s.restHandler().ServeHTTP(w, req)
	code := w.code
	if code == 0 {
		code = http.StatusOK
	}
	body := append([]byte(nil), w.body...)
	w.reset()
	restWriterPool.Put(w)
	return code, body
}

// socketRequest is the request http.NewRequest(method, target, body)
// makes, with the ARI credentials and the content type set, built
// without NewRequest's extra copies: a REST request on the socket goes
// through the same ServeMux and handlers as over HTTP. ok is false where
// NewRequest fails.
func (s *Sim) socketRequest(method, target, contentType, body string) (*http.Request, bool) {
	if !validMethod(method) {
		return nil, false
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, false
	}
	header := s.socketHeader
	if contentType != "" {
		header = http.Header{"Authorization": header["Authorization"], "Content-Type": {contentType}}
	}
	req := &http.Request{
		Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: http.NoBody, Host: u.Host,
	}
	if body != "" {
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	return req, true
}

// validMethod is net/http's check of a request method: a token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// restWriter records a handler's answer to a REST request on the socket.
type restWriter struct {
	header http.Header
	code   int
	body   []byte
}

var restWriterPool = sync.Pool{New: func() any { return &restWriter{header: http.Header{}} }}

func (w *restWriter) Header() http.Header { return w.header }

func (w *restWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *restWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *restWriter) reset() {
	clear(w.header)
	w.code = 0
	w.body = w.body[:0]
}
