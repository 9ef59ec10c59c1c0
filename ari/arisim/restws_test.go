package arisim

import (
	"context"
	"encoding/json"
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
	ch, err := h.sim.PlaceCall(Call{Number: "1000", CallerID: "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	omstil.expect("StasisStart")

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
