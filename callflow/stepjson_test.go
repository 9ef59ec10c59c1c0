package callflow

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// langStep is a kind registered only by TestStepSettingsJSON, to have a
// second kind with its own settings type.
type langStep struct {
	Language string `json:"language"`
	Next     StepID `json:"next"`
}

func TestStepSettingsJSON(t *testing.T) {
	register(&kindSpec{kind: "testlang", order: 1000, settings: func() any { return new(langStep) }})
	t.Cleanup(func() { delete(kinds, "testlang") })

	t.Run("round trip keeps the settings under the kind's name", func(t *testing.T) {
		in := `{"id":"sprog","kind":"testlang","testlang":{"language":"en","next":"kø"}}`
		var s Step
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			t.Fatal(err)
		}
		if l, ok := s.Settings.(*langStep); !ok || l.Language != "en" || l.Next != "kø" {
			t.Fatalf("settings read as %#v", s.Settings)
		}
		out, err := json.Marshal(s)
		if err != nil || string(out) != in {
			t.Errorf("written as %s (%v), want %s", out, err, in)
		}
	})
	t.Run("a flow of pointer steps writes the same", func(t *testing.T) {
		s := &Step{ID: "p", Kind: KindPriority, Settings: &PriorityStep{Priority: 3, Next: "q"}}
		out, err := json.Marshal(struct{ S *Step }{s})
		if want := `{"S":{"id":"p","kind":"priority","priority":{"priority":3,"next":"q"}}}`; err != nil || string(out) != want {
			t.Errorf("written as %s (%v), want %s", out, err, want)
		}
	})
	bad := []struct{ name, in, want string }{
		{"unknown key", `{"id":"a","kind":"menu","bogus":1}`, `unknown field "bogus"`},
		{"unknown key in own settings", `{"id":"a","kind":"priority","priority":{"priority":1,"next":"b","x":2}}`, `unknown field "x"`},
		{"two kinds' settings", `{"id":"a","kind":"priority","priority":{"next":"b"},"testlang":{"next":"b"}}`, "settings of two kinds"},
		{"wrong type", `{"id":"a","kind":"priority","priority":{"priority":"high"}}`, "priority"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var s Step
			err := json.Unmarshal([]byte(tt.in), &s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("a wrong type names the field as validation does", func(t *testing.T) {
		var s Step
		err := json.Unmarshal([]byte(`{"id":"a","kind":"priority","priority":{"priority":"high"}}`), &s)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field != "priority.priority" {
			t.Errorf("error %v, want a type error at priority.priority", err)
		}
	})
	t.Run("another kind's settings are a validation problem", func(t *testing.T) {
		var f Flow
		in := `{"name":"x","start":"m","steps":[{"id":"m","kind":"hangup","priority":{"priority":1,"next":"m"}}]}`
		if err := json.Unmarshal([]byte(in), &f); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, p := range f.Check(StaticRefs{}) {
			found = found || (p.Step == "m" && p.Field == "priority" && p.Code == CodeBadKind)
		}
		if !found {
			t.Errorf("no bad-kind problem at priority: %v", f.Check(StaticRefs{}))
		}
	})
	t.Run("settings of no kind cannot be written", func(t *testing.T) {
		_, err := json.Marshal(Step{ID: "a", Kind: KindPriority, Settings: &struct{}{}})
		if err == nil || !strings.Contains(err.Error(), "belong to no step kind") {
			t.Errorf("error %v", err)
		}
	})
}
