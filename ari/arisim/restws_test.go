package arisim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func (c *evConn) rest(id, method, uri, body string) Event {
	c.t.Helper()
	rq := map[string]string{"type": "RESTRequest", "transaction_id": "t" + id, "request_id": id, "method": method, "uri": uri}
	if body != "" {
		rq["content_type"], rq["message_body"] = "application/json", body
	}
	b, _ := json.Marshal(rq)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
	for {
		ev := c.next()
		if ev.Type() == "RESTResponse" {
			return ev
		}
	}
}

// TestRESTOverWebSocket: a RESTRequest on the event socket is carried out
// as over HTTP and answered with a RESTResponse on the same socket (ARI's
// REST over WebSocket, Asterisk 20.12/21.7/22.2+).
func TestRESTOverWebSocket(t *testing.T) {
	h := newHarness(t, true, Options{})
	omstil := h.connect("omstil", false)
	ch := h.callInApp(omstil, Call{Number: "1000", CallerID: "12345678"})

	r := omstil.rest("1", "POST", "channels/"+ch.ID+"/answer", "")
	if r["request_id"] != "1" || r["transaction_id"] != "t1" || r["status_code"] != float64(204) || r["message_body"] != nil || r["uri"] != "channels/"+ch.ID+"/answer" {
		t.Fatalf("answer: %v", r)
	}
	r = omstil.rest("2", "POST", "channels/"+ch.ID+"/variable?variable=QUEUE", `{"value":"borgerservice"}`)
	if r["status_code"] != float64(204) {
		t.Fatalf("set variable (query + JSON body): %v", r)
	}
	r = omstil.rest("3", "GET", "channels/"+ch.ID+"/variable?variable=QUEUE", "")
	var v map[string]string
	json.Unmarshal([]byte(r["message_body"].(string)), &v)
	if r["status_code"] != float64(200) || v["value"] != "borgerservice" || r["content_type"] != "application/json" {
		t.Fatalf("get variable: %v", r)
	}
	r = omstil.rest("4", "GET", "channels/nope", "")
	var e map[string]string
	json.Unmarshal([]byte(r["message_body"].(string)), &e)
	if r["status_code"] != float64(404) || e["message"] == "" {
		t.Fatalf("unknown channel: %v", r)
	}
	r = omstil.rest("5", "POST", "channels/"+ch.ID+"/variable", `{"value":"x"`)
	if r["status_code"] == float64(204) {
		t.Fatalf("a body that is not JSON was accepted: %v", r)
	}
}

// serveSocketRESTReference is how REST requests on the socket were served
// before they skipped http.NewRequest and httptest: the reference the
// direct path must answer like.
func serveSocketRESTReference(s *Sim, rq restRequest) (int, []byte) {
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
	s.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// TestSocketRESTMatchesReference runs the same requests on two simulators,
// one through the socket's direct path and one through http.NewRequest
// and httptest as before, and compares status and body.
func TestSocketRESTMatchesReference(t *testing.T) {
	type qs = []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	reqs := []restRequest{
		{Method: "GET", URI: "asterisk/ping"},
		{Method: "GET", URI: "asterisk/info?only=build,system"},
		{Method: "GET", URI: "/channels"},
		{Method: "POST", URI: "channels/c1/answer"},
		{Method: "POST", URI: "channels/c1/variable", QueryStrings: qs{{"variable", "Q"}, {"value", "a&b <c>"}}},
		{Method: "POST", URI: "channels/c1/variable?variable=R", ContentType: "application/json", MessageBody: `{"value":"æ"}`},
		{Method: "GET", URI: "channels/c1/variable?variable=Q"},
		{Method: "GET", URI: "channels/c1/variable", QueryStrings: qs{{"variable", "R"}}},
		{Method: "GET", URI: "channels/c1"},
		{Method: "GET", URI: "channels/nope"},
		{Method: "POST", URI: "channels/c1/variable", ContentType: "application/json", MessageBody: `{"value":`},
		{Method: "POST", URI: "channels/c1/variable", MessageBody: `{"value":"x"}`},
		{Method: "", URI: "channels"},
		{Method: "GET", URI: ""},
		{Method: "GE T", URI: "channels"},
		{Method: "get", URI: "channels"},
		{Method: "PUT", URI: "channels"},
		{Method: "GET", URI: "channels/"},
		{Method: "GET", URI: "channels/../bridges"},
		{Method: "GET", URI: "channels//c1"},
		{Method: "GET", URI: "channels/c%31"},
		{Method: "GET", URI: "nothing/here"},
		{Method: "GET", URI: "events?app=x"},
		{Method: "GET", URI: "api-docs/resources.json"},
		{Method: "POST", URI: "bridges", QueryStrings: qs{{"type", "mixing"}, {"bridgeId", "b1"}}},
		{Method: "POST", URI: "bridges/b1/addChannel?channel=c1"},
		{Method: "GET", URI: "bridges"},
		{Method: "POST", URI: "channels/c1/play/p1?media=sound:x"},
		{Method: "GET", URI: "playbacks/p1"},
		{Method: "DELETE", URI: "channels/c1?reason=bogus"},
		{Method: "DELETE", URI: "channels/c1"},
		{Method: "GET", URI: "applications"},
		{Method: "GET", URI: "channels/%zz"},
		{Method: "GET", URI: "channels?x=%zz"},
	}
	run := func(serve func(*Sim, restRequest) (int, []byte)) []string {
		h := newHarness(t, true, Options{ChannelVars: []string{"Q"}})
		h.connect("omstil", false)
		if _, err := h.sim.PlaceCall(Call{Number: "1000", CallerID: "12345678", ChannelID: "c1"}); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rq := range reqs {
			code, body := serve(h.sim, rq)
			out = append(out, fmt.Sprintf("%s %s: %d %s", rq.Method, rq.URI, code, bytes.TrimSpace(body)))
		}
		return out
	}
	got, want := run((*Sim).serveSocketREST), run(serveSocketRESTReference)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got  %s\nwant %s", got[i], want[i])
		}
	}
}
