package queue

import (
	"testing"
	"time"
)

func TestMostSkilledRank(t *testing.T) {
	needs := []SkillReq{{Skill: "ukrainsk", Level: 2}, {Skill: "dansk", Level: 1}, {Skill: "ukrainsk", Level: 3}}
	tests := []struct {
		name  string
		needs []SkillReq
		cands []Candidate
		want  []string
	}{
		{"highest sum of needed levels first, each skill once", needs, []Candidate{
			{Agent: "a", IdleSince: t0, Skills: map[string]int{"ukrainsk": 3, "dansk": 5}},            // 8
			{Agent: "b", IdleSince: t0, Skills: map[string]int{"ukrainsk": 5, "dansk": 4}},            // 9
			{Agent: "c", IdleSince: t0, Skills: map[string]int{"ukrainsk": 4, "dansk": 2, "tysk": 9}}, // 6: tysk is not needed
		}, []string{"b", "a", "c"}},
		{"ties by longest idle", needs, []Candidate{
			{Agent: "a", IdleSince: t0.Add(2 * time.Minute), Skills: map[string]int{"ukrainsk": 4}},
			{Agent: "b", IdleSince: t0.Add(1 * time.Minute), Skills: map[string]int{"ukrainsk": 4}},
			{Agent: "c", IdleSince: t0, Skills: map[string]int{"ukrainsk": 1}},
		}, []string{"b", "a", "c"}},
		{"no skills needed: longest idle, then order", nil, []Candidate{
			{Agent: "a", Order: 2, IdleSince: t0, Skills: map[string]int{"dansk": 5}},
			{Agent: "b", Order: 1, IdleSince: t0},
			{Agent: "c", Order: 0, IdleSince: t0.Add(time.Minute)},
		}, []string{"b", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := cands(tt.cands...)
			for i := range cs {
				cs[i].Needs = tt.needs
			}
			mostSkilled{}.Rank(cs)
			if got := agentsOf(cs); !eqStrings(got, tt.want) {
				t.Fatalf("rank %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMostSkilledThroughEngine: the engine passes the queue's and the
// call's skills, and the most skilled ready agent is offered the call.
func TestMostSkilledThroughEngine(t *testing.T) {
	h := newHarness(t, Options{})
	h.queue(QueueConfig{ID: "q", Strategy: StrategyMostSkilled, Skills: []SkillReq{{Skill: "dansk", Level: 1}}})
	for _, a := range []struct {
		id     AgentID
		skills map[string]int
	}{
		{"novice", map[string]int{"dansk": 5, "ukrainsk": 1}}, // logs in first: idle longest
		{"expert", map[string]int{"dansk": 3, "ukrainsk": 5}},
		{"dane", map[string]int{"dansk": 5}}, // lacks ukrainsk: not eligible for c1
	} {
		h.agentCfg(AgentConfig{ID: a.id, Skills: a.skills, Queues: []Membership{{Queue: "q"}}})
		h.do(AgentLogin{Agent: a.id})
		h.advance(time.Second)
	}
	o := one[Offer](t, h.do(CallArrived{Call: "c1", Queue: "q", Skills: []SkillReq{{Skill: "ukrainsk", Level: 1}}}))
	if o.Agent != "expert" {
		t.Fatalf("a Ukrainian call offered to %s, want expert (3+5 beats 5+1)", o.Agent)
	}
	// a call needing only the queue's dansk: novice and dane tie at 5 and
	// novice has been idle longer.
	o = one[Offer](t, h.do(CallArrived{Call: "c2", Queue: "q"}))
	if o.Agent != "novice" {
		t.Fatalf("a Danish call offered to %s, want novice", o.Agent)
	}
}
