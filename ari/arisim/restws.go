package arisim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	out := map[string]any{
		"type": "RESTResponse", "transaction_id": rq.TransactionID, "request_id": rq.RequestID,
		"status_code": status, "reason_phrase": http.StatusText(status), "uri": rq.URI,
	}
	if len(bytes.TrimSpace(body)) > 0 {
		out["content_type"] = "application/json"
		out["message_body"] = string(bytes.TrimSpace(body))
	}
	// Not counted in Stats().EventsSent (s.mu is not held here): an
	// answer, not an event.
	c.enqueue(s.withApp(c.apps[0], mustJSON(out)))
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
