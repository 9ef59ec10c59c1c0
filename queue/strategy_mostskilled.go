package queue

import "math/rand/v2"

// StrategyMostSkilled is the name of this strategy in QueueConfig.Strategy.
const StrategyMostSkilled = "most-skilled"

func init() {
	register(StrategyInfo{
		Name:  StrategyMostSkilled,
		Label: Text{Da: "Mest kyndige først", En: "Most skilled first"},
		Help: Text{
			Da: "Den ledige medarbejder med det højeste niveau i de kompetencer, opkaldet kræver, får opkaldet først; ved lige niveau den, der har været længst ledig.",
			En: "The free agent with the highest level in the skills the call needs gets the call first; at equal levels the one idle longest.",
		},
		New: func(*rand.Rand) Strategy { return mostSkilled{} },
	})
}

// mostSkilled prefers the agent whose levels in the call's required skills
// (the queue's and the call's own, each skill counted once) add up highest;
// ties go to the agent idle longest, then membership order. A queue whose
// calls need no skills behaves as longest-idle.
type mostSkilled struct{}

func (mostSkilled) Rank(cands []Candidate) {
	if len(cands) == 0 {
		return
	}
	score := make(map[AgentID]int, len(cands))
	for _, c := range cands {
		score[c.Agent] = skillScore(c.Skills, c.Needs)
	}
	sortStable(cands, func(a, b Candidate) int {
		if sa, sb := score[a.Agent], score[b.Agent]; sa != sb {
			return cmpInt(sb, sa) // higher first
		}
		if c := a.IdleSince.Compare(b.IdleSince); c != 0 {
			return c
		}
		return byOrder(a, b)
	})
}

func (mostSkilled) Offered(Candidate) {}

// skillScore adds the agent's levels in the needed skills, each skill once.
func skillScore(have map[string]int, needs []SkillReq) int {
	sum := 0
	for i, n := range needs {
		seen := false
		for _, m := range needs[:i] {
			if m.Skill == n.Skill {
				seen = true
				break
			}
		}
		if !seen {
			sum += have[n.Skill]
		}
	}
	return sum
}
