package ariclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// FuzzRESTRequestJSON: the hand-written encoding of a RESTRequest is the
// same JSON value as encoding/json's, with the same keys left out.
func FuzzRESTRequestJSON(f *testing.F) {
	f.Add("7", "POST", "channels/1764320000.1/answer", "", "")
	f.Add("8", "PUT", "bridges/b-1/addChannel?channel=a%2Cb", "application/json", `{"x":"<&>\u00e6"}`)
	f.Add("9", "GET", "asterisk/info", "text/plain", "line\n\t\"quoted\"\\ æøå \x01")
	f.Fuzz(func(t *testing.T, id, method, uri, ctype, body string) {
		r := restRequest{Type: "RESTRequest", TransactionID: id, RequestID: id, Method: method, URI: uri, ContentType: ctype, MessageBody: body}
		got, err := r.appendJSON(nil)
		want, werr := json.Marshal(r)
		if werr != nil {
			t.Fatalf("encoding/json: %v", werr)
		}
		if err != nil {
			// only text that is not UTF-8, which omstil never sends;
			// encoding/json would have replaced it
			if validUTF8All(id, method, uri, ctype, body) {
				t.Fatalf("appendJSON: %v", err)
			}
			return
		}
		var g, w map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("not JSON: %s: %v", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if len(g) != len(w) {
			t.Fatalf("keys differ:\n got %s\nwant %s", got, want)
		}
		for k, v := range w {
			if g[k] != v {
				t.Fatalf("%s differs:\n got %s\nwant %s", k, got, want)
			}
		}
	})
}

func validUTF8All(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// TestRESTWSTake: an answer on the socket goes to the call waiting for its
// request ID with the status and the unquoted body; messages that are not
// the usual shape are left to the event decoder.
func TestRESTWSTake(t *testing.T) {
	w := &restWS{pending: map[string]chan restAnswer{}}
	wait := func(id string) chan restAnswer {
		ch := make(chan restAnswer, 1)
		w.pending[id] = ch
		return ch
	}
	ch := wait("7")
	msg := `{"type":"RESTResponse","transaction_id":"7","request_id":"7","status_code":200,"reason_phrase":"OK","uri":"channels/c1","content_type":"application/json","message_body":"{\"id\":\"c1\",\"caller\":{\"name\":\"S\u00f8ren\"}}","application":"omstil"}`
	if !w.take([]byte(msg)) {
		t.Fatal("usual answer not taken")
	}
	a := <-ch
	if a.status != 200 || string(a.body) != `{"id":"c1","caller":{"name":"Søren"}}` {
		t.Fatalf("answer %d %q", a.status, a.body)
	}
	if _, still := w.pending["7"]; still {
		t.Fatal("the answered call is still pending")
	}

	ch = wait("8")
	if !w.take([]byte(`{"type":"RESTResponse","request_id":"8","status_code":204,"reason_phrase":"No Content","uri":"channels/c1/answer"}`)) {
		t.Fatal("answer without body not taken")
	}
	if a := <-ch; a.status != 204 || len(a.body) != 0 {
		t.Fatalf("answer %d %q", a.status, a.body)
	}

	// an answer nobody waits for (timed out) is dropped
	if !w.take([]byte(`{"type":"RESTResponse","request_id":"99","status_code":200}`)) {
		t.Fatal("late answer not taken")
	}
	for _, odd := range []string{
		`{"type":"RESTResponse","status_code":200}`,
		`{"type":"RESTResponse","request_id":"9"}`,
		`{"type":"RESTResponse","request_id":"9","status_code":"200"}`,
		`{"type":"RESTResponse","request_id":"9","status_code":200,"message_body":"\ud800"}`,
		`{"type":"RESTResponse","request_id":"9","status_code":200,"message_body":5}`,
		`{"type":"RESTResponse","request_id":"\u0039","status_code":200}`,
		`{"type":"RESTResponse","request_id":"9","status_code":200`,
	} {
		ch := wait("9")
		if w.take([]byte(odd)) {
			t.Errorf("%s: taken", odd)
		}
		select {
		case a := <-ch:
			t.Errorf("%s: delivered %+v", odd, a)
		default:
		}
		delete(w.pending, "9")
	}
}

// TestRESTWSClosedSocketFallsBack: a request that cannot be written
// because the socket has just closed is not an error but goes over HTTP
// (call says not ok): nothing reached Asterisk.
func TestRESTWSClosedSocketFallsBack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Read(r.Context()) // until the client goes
	}))
	defer srv.Close()
	conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.CloseNow()
	w := &restWS{}
	w.attach(conn)
	a, ok := w.call(context.Background(), "POST", "/channels/c1/answer", nil, nil)
	if ok {
		t.Fatalf("call on a closed socket = %+v, ok; want not ok (use HTTP)", a)
	}
	if len(w.pending) != 0 {
		t.Fatalf("%d requests left pending", len(w.pending))
	}
}
