package arisim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
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
	return append(b, appSuffix(appName, asteriskID)...)
}

func (s *Sim) serveSocketREST(rq restRequest) (int, []byte) {
	if rq.Method == "" || rq.URI == "" {
		return http.StatusBadRequest, mustJSON(map[string]string{"message": "Empty or missing 'method' or 'uri' property."})
	}
	target := "/ari/" + strings.TrimPrefix(rq.URI, "/")
	var extra []string
	for _, q := range rq.QueryStrings {
		extra = append(extra, url.QueryEscape(q.Name)+"="+url.QueryEscape(q.Value))
	}
	if len(extra) > 0 {
		if strings.Contains(target, "?") {
			target += "&" + strings.Join(extra, "&")
		} else {
			target += "?" + strings.Join(extra, "&")
		}
	}
	if rq.MessageBody != "" && rq.ContentType == "" {
		return http.StatusBadRequest, mustJSON(map[string]string{"message": "No 'content_type' for 'message_body'."})
	}
	req, err := http.NewRequest(rq.Method, target, strings.NewReader(rq.MessageBody))
	if err != nil {
		return http.StatusBadRequest, mustJSON(map[string]string{"message": "Bad request"})
	}
	if rq.ContentType != "" {
		req.Header.Set("Content-Type", rq.ContentType)
	}
	req.SetBasicAuth(s.opts.User, s.opts.Password)
	rec := httptest.NewRecorder()
	s.restHandler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}
