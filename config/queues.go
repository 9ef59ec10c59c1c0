package config

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/omstil/omstil/queue"
	"gorm.io/gorm"
)

// Queue is one call queue: its name (what flows refer to), the engine's
// settings and what callers hear while they wait. Durations are whole
// seconds; 0 means the engine's default where queue.QueueConfig says so.
type Queue struct {
	ID          QueueID
	OrgID       OrgID
	Name        string // immutable: flows and the live engine know the queue by it
	DisplayName string
	QueueSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// QueueSettings are a queue's changeable settings.
type QueueSettings struct {
	Strategy                   string
	Weight                     int
	MaxLen                     int
	MaxWaitSeconds             int
	EmptyPolicy                string // join | refuse | leave
	RingTimeoutSeconds         int
	RetryDelaySeconds          int
	MaxParallelOffers          int
	WrapUpSeconds              int
	AutoPauseAfter             int
	RingInUse                  bool
	Skills                     []SkillReq       `gorm:"serializer:json"`
	Escalation                 []EscalationStep `gorm:"serializer:json"`
	AnnounceOnJoin             bool
	AnnounceEverySeconds       int
	AnnounceOnlyIfBetter       bool
	AnnounceGranularitySeconds int
	CustomAnnouncements        []QueueAnnouncement `gorm:"serializer:json"`
	CallbackEnabled            bool
	CallbackAttempts           int
	CallbackRetryDelaySeconds  int
	ServiceLevelSeconds        int
	HandleTimeSeconds          int
	// The service goal staffing plans for (package staffing): at least
	// ServiceLevelPercent of the calls answered within
	// ServiceLevelSeconds, with agents busy at most MaxOccupancyPercent
	// of their time. 0 means the default.
	ServiceLevelPercent int
	MaxOccupancyPercent int
	// Music is what a waiting caller hears: "" (Asterisk's default
	// music-on-hold class), "ringing" (ring tone), or a music-on-hold class
	// name from Asterisk's musiconhold.conf.
	Music string
}

// SkillReq is a skill a queue's calls need.
type SkillReq struct {
	Skill string
	Level int
}

// EscalationStep widens who may take a call after it has waited.
type EscalationStep struct {
	AfterSeconds int
	MaxTier      int
	RelaxSkills  int
}

// QueueAnnouncement is an uploaded announcement played periodically to
// waiting callers.
type QueueAnnouncement struct {
	Announcement string // the announcement's name
	EverySeconds int
	FirstSeconds int
}

// DefaultQueueSettings are the settings of a new queue: the engine's
// defaults written out.
// The engine owns the values (queue.DefaultQueueConfig); this converts
// them to whole seconds.
func DefaultQueueSettings() QueueSettings {
	c := queue.DefaultQueueConfig("")
	return QueueSettings{
		Strategy: c.Strategy, Weight: c.Weight, EmptyPolicy: c.Empty.String(),
		RingTimeoutSeconds: seconds(c.RingTimeout), MaxParallelOffers: c.MaxParallelOffers,
		AnnounceGranularitySeconds: seconds(c.Announce.Granularity),
		CallbackAttempts:           c.Callback.Attempts, CallbackRetryDelaySeconds: seconds(c.Callback.RetryDelay),
		ServiceLevelSeconds: seconds(c.ServiceLevel), HandleTimeSeconds: seconds(c.HandleTime),
		ServiceLevelPercent: DefaultServiceLevelPercent, MaxOccupancyPercent: DefaultMaxOccupancyPercent,
	}
}

// The default service goal of a queue for staffing: 80 % of the calls
// answered within the service level time, agents at most 85 % busy.
const (
	DefaultServiceLevelPercent = 80
	DefaultMaxOccupancyPercent = 85
)

func seconds(d time.Duration) int { return int(d / time.Second) }

// NewQueue is what it takes to create a queue.
type NewQueue struct {
	Name        string
	DisplayName string
	Settings    QueueSettings
}

// QueuePatch changes some fields of a queue; nil fields stay.
type QueuePatch struct {
	DisplayName *string
	Settings    func(*QueueSettings) // applied to the current settings, then validated
}

var mohRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const maxSeconds = 7 * 24 * 3600

func (q *QueueSettings) validate() error {
	// Lists are stored as JSON arrays, never null.
	if q.Skills == nil {
		q.Skills = []SkillReq{}
	}
	if q.Escalation == nil {
		q.Escalation = []EscalationStep{}
	}
	if q.CustomAnnouncements == nil {
		q.CustomAnnouncements = []QueueAnnouncement{}
	}
	secs := []struct {
		field string
		v     int
	}{
		{"max_wait_seconds", q.MaxWaitSeconds}, {"ring_timeout_seconds", q.RingTimeoutSeconds},
		{"retry_delay_seconds", q.RetryDelaySeconds}, {"wrap_up_seconds", q.WrapUpSeconds},
		{"announce_every_seconds", q.AnnounceEverySeconds}, {"announce_granularity_seconds", q.AnnounceGranularitySeconds},
		{"callback_retry_delay_seconds", q.CallbackRetryDelaySeconds}, {"service_level_seconds", q.ServiceLevelSeconds},
		{"handle_time_seconds", q.HandleTimeSeconds},
	}
	for _, s := range secs {
		if s.v < 0 || s.v > maxSeconds {
			return Invalid(s.field, "must be 0-%d seconds", maxSeconds)
		}
	}
	if q.ServiceLevelPercent == 0 {
		q.ServiceLevelPercent = DefaultServiceLevelPercent
	}
	if q.ServiceLevelPercent < 1 || q.ServiceLevelPercent > 100 {
		return Invalid("service_level_percent", "must be 1-100 (0: %d)", DefaultServiceLevelPercent)
	}
	if q.MaxOccupancyPercent == 0 {
		q.MaxOccupancyPercent = DefaultMaxOccupancyPercent
	}
	if q.MaxOccupancyPercent < 1 || q.MaxOccupancyPercent > 100 {
		return Invalid("max_occupancy_percent", "must be 1-100 (0: %d)", DefaultMaxOccupancyPercent)
	}
	if q.Strategy == "" {
		q.Strategy = queue.DefaultStrategy
	}
	if !queue.KnownStrategy(q.Strategy) { // the engine's registry owns the names
		return Invalid("strategy", "%q: want one of %s", q.Strategy, strings.Join(queue.StrategyNames(), ", "))
	}
	if q.Weight < 0 || q.Weight > 1000 {
		return Invalid("weight", "must be 1-1000 (0: 1)")
	}
	if q.MaxLen < 0 || q.MaxLen > 100000 {
		return Invalid("max_len", "must be 0 (no limit) to 100000")
	}
	if q.EmptyPolicy == "" {
		q.EmptyPolicy = "join"
	}
	if _, ok := emptyPolicies[q.EmptyPolicy]; !ok {
		return Invalid("empty_policy", "%q: want join, refuse or leave", q.EmptyPolicy)
	}
	if q.MaxParallelOffers < 0 || q.MaxParallelOffers > 100 {
		return Invalid("max_parallel_offers", "must be 0-100")
	}
	if q.AutoPauseAfter < 0 || q.AutoPauseAfter > 100 {
		return Invalid("auto_pause_after", "must be 0 (never) to 100")
	}
	if q.AnnounceEverySeconds > 0 && q.AnnounceEverySeconds < 10 {
		return Invalid("announce_every_seconds", "must be 0 (never) or at least 10")
	}
	if q.CallbackAttempts < 0 || q.CallbackAttempts > 10 {
		return Invalid("callback_attempts", "must be 0-10")
	}
	seen := map[string]bool{}
	for i, sk := range q.Skills {
		f := fmt.Sprintf("skills[%d]", i)
		if err := validSkillName(f+".skill", sk.Skill); err != nil {
			return err
		}
		if sk.Level < 1 || sk.Level > 100 {
			return Invalid(f+".level", "must be 1-100")
		}
		if seen[sk.Skill] {
			return Invalid(f+".skill", "%q is listed twice", sk.Skill)
		}
		seen[sk.Skill] = true
	}
	if err := validEscalation(q.Escalation); err != nil {
		return err
	}
	for i, ca := range q.CustomAnnouncements {
		f := fmt.Sprintf("custom_announcements[%d]", i)
		if err := validName(f+".announcement", ca.Announcement); err != nil {
			return err
		}
		if ca.EverySeconds < 10 || ca.EverySeconds > maxSeconds {
			return Invalid(f+".every_seconds", "must be 10-%d", maxSeconds)
		}
		if ca.FirstSeconds < 0 || ca.FirstSeconds > maxSeconds {
			return Invalid(f+".first_seconds", "must be 0-%d", maxSeconds)
		}
	}
	if q.Music != "" && q.Music != "ringing" && !mohRE.MatchString(q.Music) {
		return Invalid("music", "%q: want \"\" (default music on hold), \"ringing\" or a music-on-hold class name (letters, digits, _ -)", q.Music)
	}
	// The engine has the last word on its own settings.
	if err := queue.New(queue.Options{}).SetQueue(q.EngineConfig("check", nil)); err != nil {
		return Invalid("", "%v", err)
	}
	return nil
}

// validEscalation checks the stored steps: the range of after_seconds is
// the store's limit; the rest (ordered, only widening) is the engine's
// rule (queue.EscalationProblems), mapped to the step's field. The first
// problem by step is reported.
func validEscalation(steps []EscalationStep) error {
	eng := make([]queue.Escalation, len(steps))
	for i, e := range steps {
		eng[i] = queue.Escalation{After: secs(e.AfterSeconds), MaxTier: e.MaxTier, RelaxSkills: e.RelaxSkills}
	}
	problems := queue.EscalationProblems(eng)
	for i, e := range steps {
		f := fmt.Sprintf("escalation[%d]", i)
		if e.AfterSeconds <= 0 || e.AfterSeconds > maxSeconds {
			return Invalid(f+".after_seconds", "must be 1-%d", maxSeconds)
		}
		if len(problems) == 0 || problems[0].Step != i {
			continue
		}
		switch p := problems[0]; p.Problem {
		case queue.EscalationNotLater:
			return Invalid(f+".after_seconds", "must be later than the step before (%d s)", steps[i-1].AfterSeconds)
		case queue.EscalationNarrows:
			return Invalid(f, "narrows the step before it; steps may only widen")
		case queue.EscalationNegative:
			return Invalid(f, "max_tier and relax_skills must not be negative")
		default:
			return Invalid(f, "%v", p)
		}
	}
	return nil
}

var skillRE = regexp.MustCompile(`^[\p{L}0-9][\p{L}0-9 ._-]{0,31}$`)

func validSkillName(field, s string) error {
	if !skillRE.MatchString(s) {
		return Invalid(field, "%q: a skill is 1-32 letters, digits, spaces and . _ -", s)
	}
	return nil
}

var emptyPolicies = map[string]queue.EmptyPolicy{"join": queue.EmptyJoin, "refuse": queue.EmptyRefuse, "leave": queue.EmptyLeave}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// EngineConfig converts the settings to the engine's configuration under
// id. announcement maps a custom announcement's name to the prompt the
// engine passes back in Announce.Prompt (nil: the name itself).
func (q QueueSettings) EngineConfig(id queue.QueueID, announcement func(name string) string) queue.QueueConfig {
	c := queue.QueueConfig{
		ID: id, Strategy: q.Strategy, Weight: q.Weight, MaxLen: q.MaxLen, MaxWait: secs(q.MaxWaitSeconds),
		Empty: emptyPolicies[q.EmptyPolicy], RingTimeout: secs(q.RingTimeoutSeconds), RetryDelay: secs(q.RetryDelaySeconds),
		MaxParallelOffers: q.MaxParallelOffers, WrapUp: secs(q.WrapUpSeconds), AutoPauseAfter: q.AutoPauseAfter,
		RingInUse: q.RingInUse,
		Announce: queue.Announcements{OnJoin: q.AnnounceOnJoin, Every: secs(q.AnnounceEverySeconds),
			OnlyIfBetter: q.AnnounceOnlyIfBetter, Granularity: secs(q.AnnounceGranularitySeconds)},
		Callback:     queue.CallbackConfig{Enabled: q.CallbackEnabled, Attempts: q.CallbackAttempts, RetryDelay: secs(q.CallbackRetryDelaySeconds)},
		ServiceLevel: secs(q.ServiceLevelSeconds), HandleTime: secs(q.HandleTimeSeconds),
	}
	for _, s := range q.Skills {
		c.Skills = append(c.Skills, queue.SkillReq{Skill: s.Skill, Level: s.Level})
	}
	for _, e := range q.Escalation {
		c.Escalation = append(c.Escalation, queue.Escalation{After: secs(e.AfterSeconds), MaxTier: e.MaxTier, RelaxSkills: e.RelaxSkills})
	}
	for _, ca := range q.CustomAnnouncements {
		p := ca.Announcement
		if announcement != nil {
			p = announcement(p)
		}
		c.Announce.Custom = append(c.Announce.Custom, queue.CustomAnnouncement{Prompt: p, Every: secs(ca.EverySeconds), First: secs(ca.FirstSeconds)})
	}
	return c
}

func queueView(q Queue) map[string]any {
	return map[string]any{"id": q.ID, "name": q.Name, "display_name": q.DisplayName, "settings": q.QueueSettings}
}

// checkQueueRefs refuses custom announcements that do not exist.
func checkQueueRefs(tx *gorm.DB, org OrgID, q *QueueSettings) error {
	for i, ca := range q.CustomAnnouncements {
		var n int64
		if err := tx.Model(&Announcement{}).Where("org_id = ? AND name = ?", org, ca.Announcement).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return Invalid(fmt.Sprintf("custom_announcements[%d].announcement", i), "there is no announcement named %q", ca.Announcement)
		}
	}
	return nil
}

// CreateQueue validates and stores a queue, audited.
func (s *Store) CreateQueue(ctx context.Context, actor Actor, n NewQueue) (Queue, error) {
	if err := n.validate(); err != nil {
		return Queue{}, err
	}
	q := Queue{OrgID: actor.OrgID, Name: n.Name, DisplayName: n.DisplayName, QueueSettings: n.Settings}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertQueue(tx, actor, &q) })
	return q, wrapErr("create", "queue", nil, err)
}

// validate checks what can be checked without the database.
func (n *NewQueue) validate() error {
	if err := validName("name", n.Name); err != nil {
		return err
	}
	if err := validText("display_name", n.DisplayName, 128); err != nil {
		return err
	}
	return n.Settings.validate()
}

// insertQueue stores a validated queue inside a change, audited; its
// custom announcements must exist in the transaction.
func (s *Store) insertQueue(tx *gorm.DB, actor Actor, q *Queue) error {
	if err := uniqueName(tx, &Queue{}, actor.OrgID, q.Name, 0, "queue"); err != nil {
		return err
	}
	if err := checkQueueRefs(tx, actor.OrgID, &q.QueueSettings); err != nil {
		return err
	}
	if err := tx.Create(q).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "queue", q.ID, nil, queueView(*q))
}

// GetQueue loads a queue of an organisation.
func (s *Store) GetQueue(ctx context.Context, org OrgID, id QueueID) (Queue, error) {
	var q Queue
	err := s.db.WithContext(ctx).Where("id = ? AND org_id = ?", id, org).First(&q).Error
	return q, wrapErr("load", "queue", id, err)
}

// ListQueues lists an organisation's queues by name.
func (s *Store) ListQueues(ctx context.Context, org OrgID) ([]Queue, error) {
	var out []Queue
	err := s.db.WithContext(ctx).Where("org_id = ?", org).Order("name").Find(&out).Error
	return out, wrapErr("list", "queues", nil, err)
}

// UpdateQueue applies a patch, audited.
func (s *Store) UpdateQueue(ctx context.Context, actor Actor, id QueueID, p QueuePatch) (Queue, error) {
	if p.DisplayName != nil {
		if err := validText("display_name", *p.DisplayName, 128); err != nil {
			return Queue{}, err
		}
	}
	var out Queue
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var q Queue
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&q).Error; err != nil {
			return err
		}
		before := queueView(q)
		if p.DisplayName != nil {
			q.DisplayName = *p.DisplayName
		}
		if p.Settings != nil {
			p.Settings(&q.QueueSettings)
		}
		if err := q.QueueSettings.validate(); err != nil {
			return err
		}
		if err := checkQueueRefs(tx, actor.OrgID, &q.QueueSettings); err != nil {
			return err
		}
		if err := tx.Save(&q).Error; err != nil {
			return err
		}
		out = q
		return s.audit(tx, actor, "update", "queue", q.ID, before, queueView(q))
	})
	return out, wrapErr("update", "queue", id, err)
}

// DeleteQueue removes a queue no flow uses, with its memberships, audited.
func (s *Store) DeleteQueue(ctx context.Context, actor Actor, id QueueID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var q Queue
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&q).Error; err != nil {
			return err
		}
		if err := inUse(tx, actor.OrgID, "queue", q.Name); err != nil {
			return err
		}
		res := tx.Where("queue_id = ?", q.ID).Delete(&Membership{})
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Delete(&q).Error; err != nil {
			return err
		}
		after := map[string]any{"memberships_removed": res.RowsAffected}
		return s.audit(tx, actor, "delete", "queue", q.ID, queueView(q), after)
	})
	return wrapErr("delete", "queue", id, err)
}
