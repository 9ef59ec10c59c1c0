package queue

import (
	"reflect"
	"testing"
	"time"
)

// The written-out defaults are what the engine fills into a zero config,
// and they pass the engine's own checks unchanged.
func TestDefaultQueueConfigIsWhatNormalizeFills(t *testing.T) {
	t.Parallel()
	def := DefaultQueueConfig("q")
	filled, err := QueueConfig{ID: "q"}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(filled, def) {
		t.Fatalf("normalize fills\n%+v\nDefaultQueueConfig says\n%+v", filled, def)
	}
	again, err := def.normalize()
	if err != nil || !reflect.DeepEqual(again, def) {
		t.Fatalf("defaults do not normalize to themselves: %+v, %v", again, err)
	}
}

func TestEscalationProblems(t *testing.T) {
	t.Parallel()
	m := time.Minute
	tests := []struct {
		name  string
		steps []Escalation
		want  []EscalationError // Step and Problem only
	}{
		{"none", nil, nil},
		{"widening", []Escalation{{After: m, MaxTier: 1}, {After: 2 * m, MaxTier: 1, RelaxSkills: 1}}, nil},
		{"after zero", []Escalation{{After: 0, MaxTier: 1}}, []EscalationError{{Step: 0, Problem: EscalationAfterNotPositive}}},
		{"negative", []Escalation{{After: m, RelaxSkills: -1}}, []EscalationError{{Step: 0, Problem: EscalationNegative}}},
		{"not later", []Escalation{{After: m}, {After: m, MaxTier: 1}}, []EscalationError{{Step: 1, Problem: EscalationNotLater}}},
		{"narrows tier", []Escalation{{After: m, MaxTier: 2}, {After: 2 * m, MaxTier: 1}}, []EscalationError{{Step: 1, Problem: EscalationNarrows}}},
		{"narrows skills", []Escalation{{After: m, RelaxSkills: 2}, {After: 2 * m, MaxTier: 3, RelaxSkills: 1}}, []EscalationError{{Step: 1, Problem: EscalationNarrows}}},
		{"all of step 2 in order", []Escalation{{After: 2 * m, MaxTier: 2}, {After: m, MaxTier: 1}}, []EscalationError{{Step: 1, Problem: EscalationNotLater}, {Step: 1, Problem: EscalationNarrows}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := EscalationProblems(tt.steps)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %d problems", got, len(tt.want))
			}
			for i, g := range got {
				if g.Step != tt.want[i].Step || g.Problem != tt.want[i].Problem {
					t.Errorf("problem %d: step %d problem %d (%v), want step %d problem %d", i, g.Step, g.Problem, g, tt.want[i].Step, tt.want[i].Problem)
				}
			}
		})
	}
}
