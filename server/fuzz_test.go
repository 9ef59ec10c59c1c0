package server_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/omstil/omstil/config"
)

// FuzzRequestBodies sends arbitrary bytes as the JSON body of every
// operation of the OpenAPI document that takes one, as A's admin, with A's
// objects in the path. The server never answers 5xx; an answer of 4xx
// leaves everything A's admin can read as it was; an object answered with
// 2xx reads back the same. sel picks the operation (modulo their number,
// in the document's sorted order); the seeds are generated bodies of each.
func FuzzRequestBodies(f *testing.F) {
	tp := newIsoTemplate(f)
	all := tp.doc.ops(f)
	var ops []op
	for _, o := range all {
		if o.bodyType == "application/json" {
			ops = append(ops, o)
		}
	}
	if len(ops) < 20 {
		f.Fatalf("only %d operations with a JSON body", len(ops))
	}
	gets := map[string]bool{}
	for _, o := range all {
		if o.method == "GET" {
			gets[o.path] = true
		}
	}
	for i, o := range ops {
		g := &generator{doc: tp.doc, refs: tp.a.refs()}
		for _, body := range g.bodies(o.schema) {
			f.Add(uint8(i), mustJSON(f, body))
		}
	}
	f.Add(uint8(0), []byte(`{"name":null}`))
	f.Add(uint8(1), []byte(`[]`))
	f.Add(uint8(2), []byte(`{"definition":{"steps":[{"kind":"menu","menu":null}]}}`))

	w := tp.world(f)
	last := w.view(f, all, w.a)
	f.Fuzz(func(t *testing.T, sel uint8, body []byte) {
		o := ops[int(sel)%len(ops)]
		target := "/api/v1" + fillPath(t, o.path, w.a.pathIDs())
		rec := w.do(o.method, target, string(body), "application/json", w.a.tokens[config.RoleAdmin])
		what := fmt.Sprintf("%s %q", o, body)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d %s", what, rec.Code, rec.Body.String())
		}
		now := w.view(t, all, w.a)
		defer func() { last = now }()
		if rec.Code >= 400 {
			for k, v := range last {
				if now[k] != v {
					t.Fatalf("%s answered %d %s but changed %s:\nbefore %s\nafter  %s", what, rec.Code, rec.Body.String(), k, v, now[k])
				}
			}
			return
		}
		// A 2xx object reads back the same from its GET: the same path
		// (PATCH /queues/1, PUT /pause-reasons) or the collection's item
		// (POST /queues → GET /queues/{id}).
		var got map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &got) != nil {
			return
		}
		read := ""
		switch {
		case o.method != "POST" && gets[o.path]:
			read = target
		case o.method == "POST" && gets[o.path+"/{id}"] && got["id"] != nil:
			read = fmt.Sprintf("%s/%v", target, got["id"])
		default:
			return
		}
		back := w.do("GET", read, "", "", w.a.tokens[config.RoleAdmin])
		var again map[string]any
		if back.Code != 200 || json.Unmarshal(back.Body.Bytes(), &again) != nil {
			t.Fatalf("%s answered %d %s; GET %s: %d %s", what, rec.Code, rec.Body.String(), read, back.Code, back.Body.String())
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("%s answered %d\n%s\nbut GET %s reads\n%s", what, rec.Code, rec.Body.String(), read, strings.TrimSpace(back.Body.String()))
		}
	})
}
