package queue

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// CallID identifies one citizen's call (the adapter uses the caller's channel
// id). It stays the same for a callback request made from that call.
type CallID string

// AgentID identifies a member of staff.
type AgentID string

// QueueID identifies a queue.
type QueueID string

// EmptyPolicy says what a queue does when no agent is logged in to it.
type EmptyPolicy uint8

const (
	// EmptyJoin lets callers join and wait even when nobody is logged in.
	EmptyJoin EmptyPolicy = iota
	// EmptyRefuse overflows a new caller (OverflowNoAgents) when no agent is
	// logged in to the queue. Callers already waiting stay.
	EmptyRefuse
	// EmptyLeave refuses like EmptyRefuse and, when the last agent logs out,
	// overflows every caller still waiting (OverflowLeaveEmpty). Callback
	// requests stay: nobody is on the line.
	EmptyLeave
)

func (p EmptyPolicy) String() string {
	switch p {
	case EmptyJoin:
		return "join"
	case EmptyRefuse:
		return "refuse"
	case EmptyLeave:
		return "leave"
	}
	return fmt.Sprintf("EmptyPolicy(%d)", uint8(p))
}

// SkillReq asks for an agent with Skill at Level or higher.
type SkillReq struct {
	Skill string
	Level int
}

// Escalation widens who may take a call once it has waited After: members of
// tier MaxTier and below, and every skill requirement lowered by RelaxSkills
// levels (a requirement that drops to 0 or below no longer applies).
// Steps are evaluated continuously while the caller waits, also during an
// offer.
type Escalation struct {
	After       time.Duration
	MaxTier     int
	RelaxSkills int
}

// Announcements configures what callers hear about their place.
type Announcements struct {
	// OnJoin announces position and estimated wait when the caller joins.
	OnJoin bool
	// Every announces position and estimated wait periodically (0 = never).
	Every time.Duration
	// OnlyIfBetter makes periodic announcements say only what improved since
	// the last announcement the caller heard: the position if it is lower,
	// the wait if it is lower at Granularity; nothing at all if neither is.
	OnlyIfBetter bool
	// Granularity at which waits are compared for OnlyIfBetter (and at which
	// the adapter is expected to speak them). Default one minute.
	Granularity time.Duration
	// Custom periodic announcements (e.g. "du kan også skrive til os på ...").
	Custom []CustomAnnouncement
}

// CustomAnnouncement is played every Every, first after First (default
// Every) from joining.
type CustomAnnouncement struct {
	Prompt string
	Every  time.Duration
	First  time.Duration
}

// CallbackConfig configures callback requests that keep the caller's place.
type CallbackConfig struct {
	Enabled bool
	// Attempts is the number of times the citizen is dialled before giving
	// up (default 3).
	Attempts int
	// RetryDelay between failed attempts (default 2 minutes). The request
	// keeps its place meanwhile.
	RetryDelay time.Duration
}

// QueueConfig is one queue's configuration. Zero values mean the defaults
// given per field.
type QueueConfig struct {
	ID QueueID
	// Strategy names how the engine chooses among free agents: the Name of
	// a registered strategy (Strategies). Default longest-idle.
	Strategy string
	// Weight for cross-queue fairness (1..1000, default 1): an agent in
	// several queues gets the call with the highest wait × weight (after
	// priority).
	Weight int
	// MaxLen is the most calls (incl. callback requests) that may wait; a
	// caller arriving at a full queue overflows with OverflowFull. 0 = no
	// limit.
	MaxLen int
	// MaxWait overflows a caller (OverflowTimeout) who has waited this long
	// since JoinedAt. A ringing offer is allowed to finish first. 0 = no
	// limit. Callback requests never time out.
	MaxWait time.Duration
	// Empty is the empty-queue policy.
	Empty EmptyPolicy
	// RingTimeout of one offer (default 15 s).
	RingTimeout time.Duration
	// RetryDelay keeps an agent who did not take an offer (no answer, busy,
	// declined, unavailable) from being offered another call for this long.
	// The call itself goes to the next free agent at once.
	RetryDelay time.Duration
	// MaxParallelOffers is how many agents may ring for one call at once
	// (default 1; ringall rings every eligible agent).
	MaxParallelOffers int
	// WrapUp after each call; an agent's own WrapUp overrides it.
	WrapUp time.Duration
	// AutoPauseAfter pauses an agent after this many unanswered offers in a
	// row (0 = never), with Options.AutoPauseReason.
	AutoPauseAfter int
	// RingInUse allows offering to an agent whose device is busy with a call
	// outside omstil (AgentDeviceBusy). Off by default. An agent on an
	// omstil call is never offered another, whatever this says.
	RingInUse bool
	// Skills every call in this queue needs; a call can add its own.
	Skills []SkillReq
	// Escalation steps, ordered by After. With no steps every tier may take
	// a call at once and lower tiers are preferred (app_queue's penalty);
	// with steps only tier 0 is offered until the first step.
	Escalation []Escalation
	// Announce configures position and wait announcements.
	Announce Announcements
	// Callback configures callback requests.
	Callback CallbackConfig
	// ServiceLevel threshold for the service level statistic (default 30 s).
	ServiceLevel time.Duration
	// HandleTime is the starting guess of talk + wrap-up per call (default
	// 3 min) until measured calls replace it.
	HandleTime time.Duration
}

// Membership of an agent in a queue.
type Membership struct {
	Queue QueueID
	// Tier (penalty): 0 is the first line. See QueueConfig.Escalation.
	Tier int
	// Order for the linear and round-robin strategies (lower first; ties by
	// AgentID).
	Order int
	// Weight for the weighted-random strategy (default 1).
	Weight int
}

// AgentConfig is one agent's configuration.
type AgentConfig struct {
	ID AgentID
	// Skills with levels, e.g. {"dansk": 5, "ukrainsk": 3}.
	Skills map[string]int
	// WrapUp overrides the queue's wrap-up time when not nil.
	WrapUp *time.Duration
	// Queues the agent is a member of. A membership of a queue that is not
	// (yet) configured is kept and takes effect when the queue appears.
	Queues []Membership
}

const (
	defaultWeight         = 1
	defaultParallelOffers = 1
	defaultRingTimeout    = 15 * time.Second
	defaultServiceLevel   = 30 * time.Second
	defaultHandleTime     = 3 * time.Minute
	defaultGranularity    = time.Minute
	defaultCbAttempts     = 3
	defaultCbRetryDelay   = 2 * time.Minute
	maxWeight             = 1000
	defaultAutoPause      = "autopause"
	noTierLimit           = math.MaxInt
	minAnnouncementPeriod = time.Second
)

// orDefault gives a zero setting its default and reports a negative one
// ("<what> <value> is negative").
func orDefault[T int | time.Duration](v *T, def T, what string, bad func(string, ...any)) {
	switch {
	case *v == 0:
		*v = def
	case *v < 0:
		bad("%s %v is negative", what, *v)
	}
}

// DefaultQueueConfig is the configuration of queue id with every default
// written out: what a zero QueueConfig means. Stores that keep settings
// explicitly (config.DefaultQueueSettings) take their defaults from here.
func DefaultQueueConfig(id QueueID) QueueConfig {
	return QueueConfig{
		ID: id, Strategy: DefaultStrategy, Weight: defaultWeight, Empty: EmptyJoin,
		RingTimeout: defaultRingTimeout, MaxParallelOffers: defaultParallelOffers,
		Announce:     Announcements{Granularity: defaultGranularity},
		Callback:     CallbackConfig{Attempts: defaultCbAttempts, RetryDelay: defaultCbRetryDelay},
		ServiceLevel: defaultServiceLevel, HandleTime: defaultHandleTime,
	}
}

// EscalationProblem is what is wrong with one escalation step.
type EscalationProblem uint8

const (
	// EscalationAfterNotPositive: the step's After is 0 or negative.
	EscalationAfterNotPositive EscalationProblem = iota + 1
	// EscalationNegative: MaxTier or RelaxSkills is negative.
	EscalationNegative
	// EscalationNotLater: After is not later than the step before's.
	EscalationNotLater
	// EscalationNarrows: the step lowers MaxTier or RelaxSkills of the step
	// before; steps may only widen.
	EscalationNarrows
)

// EscalationError is one problem with step Step (0-based) of the
// escalation list Steps.
type EscalationError struct {
	Step    int
	Problem EscalationProblem
	Steps   []Escalation
}

func (e *EscalationError) Error() string {
	s := e.Steps[e.Step]
	switch e.Problem {
	case EscalationAfterNotPositive:
		return fmt.Sprintf("escalation step %d: after %v must be positive", e.Step+1, s.After)
	case EscalationNegative:
		return fmt.Sprintf("escalation step %d: tier and skill relaxation must not be negative", e.Step+1)
	case EscalationNotLater:
		return fmt.Sprintf("escalation step %d: after %v must be later than step %d (%v)", e.Step+1, s.After, e.Step, e.Steps[e.Step-1].After)
	case EscalationNarrows:
		return fmt.Sprintf("escalation step %d narrows step %d; steps may only widen", e.Step+1, e.Step)
	}
	return fmt.Sprintf("escalation step %d: problem %d", e.Step+1, e.Problem)
}

// EscalationProblems checks escalation steps: each After positive and
// later than the step before, tiers and relaxations not negative, and
// steps only widen (MaxTier and RelaxSkills never lower than the step
// before). It returns every problem, ordered by step; none: nil. This is
// the one place the rule is written; config asks it.
func EscalationProblems(steps []Escalation) []*EscalationError {
	var errs []*EscalationError
	add := func(i int, p EscalationProblem) {
		errs = append(errs, &EscalationError{Step: i, Problem: p, Steps: steps})
	}
	for i, s := range steps {
		if s.After <= 0 {
			add(i, EscalationAfterNotPositive)
		}
		if s.MaxTier < 0 || s.RelaxSkills < 0 {
			add(i, EscalationNegative)
		}
		if i > 0 {
			p := steps[i-1]
			if s.After <= p.After {
				add(i, EscalationNotLater)
			}
			if s.MaxTier < p.MaxTier || s.RelaxSkills < p.RelaxSkills {
				add(i, EscalationNarrows)
			}
		}
	}
	return errs
}

// normalize validates c and returns a copy with defaults filled in. All
// problems are reported at once, joined.
func (c QueueConfig) normalize() (QueueConfig, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("queue %q: "+format, append([]any{c.ID}, args...)...))
	}
	if c.ID == "" {
		errs = append(errs, errors.New("queue: queue id is empty"))
	}
	if c.Strategy == "" {
		c.Strategy = DefaultStrategy
	}
	if !KnownStrategy(c.Strategy) {
		bad("unknown strategy %q", c.Strategy)
	}
	switch {
	case c.Weight == 0:
		c.Weight = defaultWeight
	case c.Weight < 0 || c.Weight > maxWeight:
		bad("weight %d is outside 1..%d", c.Weight, maxWeight)
	}
	if c.MaxLen < 0 {
		bad("max length %d is negative", c.MaxLen)
	}
	if c.MaxWait < 0 {
		bad("max wait %v is negative", c.MaxWait)
	}
	if c.Empty > EmptyLeave {
		bad("unknown empty-queue policy %d", c.Empty)
	}
	orDefault(&c.RingTimeout, defaultRingTimeout, "ring timeout", bad)
	if c.RetryDelay < 0 {
		bad("retry delay %v is negative", c.RetryDelay)
	}
	orDefault(&c.MaxParallelOffers, defaultParallelOffers, "max parallel offers", bad)
	if c.WrapUp < 0 {
		bad("wrap-up %v is negative", c.WrapUp)
	}
	if c.AutoPauseAfter < 0 {
		bad("auto-pause after %d offers is negative", c.AutoPauseAfter)
	}
	c.Skills = append([]SkillReq(nil), c.Skills...)
	for _, s := range c.Skills {
		if s.Skill == "" || s.Level < 1 {
			bad("skill requirement %q:%d needs a name and a level of at least 1", s.Skill, s.Level)
		}
	}
	c.Escalation = append([]Escalation(nil), c.Escalation...)
	for _, e := range EscalationProblems(c.Escalation) {
		bad("%v", e)
	}
	a := &c.Announce
	if a.Every < 0 || (a.Every > 0 && a.Every < minAnnouncementPeriod) {
		bad("announcement period %v must be 0 or at least %v", a.Every, minAnnouncementPeriod)
	}
	orDefault(&a.Granularity, defaultGranularity, "announcement granularity", bad)
	a.Custom = append([]CustomAnnouncement(nil), a.Custom...)
	for i := range a.Custom {
		ca := &a.Custom[i]
		if ca.Prompt == "" {
			bad("custom announcement %d has no prompt", i+1)
		}
		if ca.Every < minAnnouncementPeriod {
			bad("custom announcement %d: period %v must be at least %v", i+1, ca.Every, minAnnouncementPeriod)
		}
		if ca.First < 0 {
			bad("custom announcement %d: first %v is negative", i+1, ca.First)
		}
		if ca.First == 0 {
			ca.First = ca.Every
		}
	}
	if len(a.Custom) > math.MaxUint16 {
		bad("too many custom announcements")
	}
	cb := &c.Callback
	orDefault(&cb.Attempts, defaultCbAttempts, "callback attempts", bad)
	orDefault(&cb.RetryDelay, defaultCbRetryDelay, "callback retry delay", bad)
	orDefault(&c.ServiceLevel, defaultServiceLevel, "service level threshold", bad)
	orDefault(&c.HandleTime, defaultHandleTime, "handle time", bad)
	return c, errors.Join(errs...)
}

func (c AgentConfig) normalize() (AgentConfig, error) {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("queue: agent id is empty"))
	}
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("agent %q: "+format, append([]any{c.ID}, args...)...))
	}
	skills := make(map[string]int, len(c.Skills))
	for k, v := range c.Skills {
		if k == "" || v < 0 {
			bad("skill %q:%d needs a name and a level of 0 or more", k, v)
		}
		skills[k] = v
	}
	c.Skills = skills
	if c.WrapUp != nil {
		if *c.WrapUp < 0 {
			bad("wrap-up %v is negative", *c.WrapUp)
		}
		w := *c.WrapUp
		c.WrapUp = &w
	}
	c.Queues = append([]Membership(nil), c.Queues...)
	seen := make(map[QueueID]bool, len(c.Queues))
	for i := range c.Queues {
		m := &c.Queues[i]
		if m.Queue == "" {
			bad("membership %d has no queue", i+1)
		}
		if seen[m.Queue] {
			bad("queue %q listed twice", m.Queue)
		}
		seen[m.Queue] = true
		if m.Tier < 0 {
			bad("queue %q: tier %d is negative", m.Queue, m.Tier)
		}
		switch {
		case m.Weight == 0:
			m.Weight = 1
		case m.Weight < 0 || m.Weight > maxWeight:
			bad("queue %q: weight %d is outside 1..%d", m.Queue, m.Weight, maxWeight)
		}
	}
	return c, errors.Join(errs...)
}
