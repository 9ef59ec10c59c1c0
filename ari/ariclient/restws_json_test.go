package ariclient

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
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
