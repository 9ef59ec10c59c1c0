package server

import "testing"

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"a":1,"b":2}`:                           "",
		`{"a":{"x":1},"b":{"x":2}}`:               "",
		`[{"a":1},{"a":2}]`:                       "",
		`{"a":1,"a":2}`:                           "a",
		`{"a":1,"A":2}`:                           "A",
		`{"q":{"skills":{"x":1,"x":2}}}`:          "x",
		`{"list":[{"k":1},{"k":1,"k":2}]}`:        "k",
		`{"a":"{\"b\":1,\"b\":2}"}`:               "",
		`{"a":1,"a"`:                              "a",
		`not json`:                                "",
		`{"a":[1,2,{"b":[{"c":1,"c":1}]}],"d":1}`: "c",
	} {
		got, dup := duplicateKey([]byte(body))
		if got != want || dup != (want != "") {
			t.Errorf("duplicateKey(%s) = %q, %v; want %q", body, got, dup, want)
		}
	}
}
