package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/omstil/omstil/callflow"
	"gorm.io/gorm"
)

// A Bundle is an organisation's whole call-handling configuration as one
// JSON document (omstil config export / import): numbers, flows,
// schedules, queues, agents with their memberships, announcements with
// their audio, and pause reasons. Objects refer to each other by name,
// never by database ID, so a bundle moves between installations.
//
// Not in a bundle: users and their secrets (passwords, tokens, OpenID
// Connect links), the organisation's dial limits (a system
// administrator's), and anything about citizens (call events, callbacks).
// An agent's login is kept as the username only (Login); import links it
// when the target organisation has a user of that name.
type Bundle struct {
	Format     string    `json:"format"`  // BundleFormat
	Version    int       `json:"version"` // BundleVersion
	ExportedAt time.Time `json:"exported_at"`
	// Omstil is the version of the omstil that wrote the bundle.
	Omstil string `json:"omstil_version,omitempty"`
	// Organisation is the slug of the organisation it came from (only
	// shown; import writes into the organisation it is given).
	Organisation  string               `json:"organisation,omitempty"`
	PauseReasons  []string             `json:"pause_reasons,omitempty"`
	Schedules     []BundleSchedule     `json:"schedules"`
	Announcements []BundleAnnouncement `json:"announcements"`
	Queues        []BundleQueue        `json:"queues"`
	Agents        []BundleAgent        `json:"agents"`
	Flows         []BundleFlow         `json:"flows"`
	Numbers       []BundleNumber       `json:"numbers"`
}

// The bundle format this omstil writes and reads.
const (
	BundleFormat  = "omstil-config"
	BundleVersion = 1
)

// BundleSchedule is a saved set of opening hours.
type BundleSchedule struct {
	Name       string            `json:"name"`
	Definition callflow.Schedule `json:"definition"`
}

// BundleAnnouncement is an announcement with its recording as stored (an
// 8 kHz mono 16-bit WAV; base64 in JSON). SHA256 is the recording's hash,
// checked on import.
type BundleAnnouncement struct {
	Name             string `json:"name"`
	Description      string `json:"description,omitempty"`
	OriginalFilename string `json:"original_filename,omitempty"`
	SHA256           string `json:"sha256"`
	Audio            []byte `json:"audio"`
}

// BundleQueue is a queue with all its settings.
type BundleQueue struct {
	Name        string              `json:"name"`
	DisplayName string              `json:"display_name,omitempty"`
	Settings    BundleQueueSettings `json:"settings"`
}

// BundleQueueSettings are QueueSettings in the API's spelling. A setting
// a (hand-written) bundle leaves out has its default, as when a queue is
// created through the API.
type BundleQueueSettings struct {
	Strategy                   string                    `json:"strategy"`
	Weight                     int                       `json:"weight"`
	MaxLen                     int                       `json:"max_len"`
	MaxWaitSeconds             int                       `json:"max_wait_seconds"`
	EmptyPolicy                string                    `json:"empty_policy"`
	RingTimeoutSeconds         int                       `json:"ring_timeout_seconds"`
	RetryDelaySeconds          int                       `json:"retry_delay_seconds"`
	MaxParallelOffers          int                       `json:"max_parallel_offers"`
	WrapUpSeconds              int                       `json:"wrap_up_seconds"`
	AutoPauseAfter             int                       `json:"auto_pause_after"`
	RingInUse                  bool                      `json:"ring_in_use"`
	Skills                     []BundleSkill             `json:"skills"`
	Escalation                 []BundleEscalation        `json:"escalation"`
	AnnounceOnJoin             bool                      `json:"announce_on_join"`
	AnnounceEverySeconds       int                       `json:"announce_every_seconds"`
	AnnounceOnlyIfBetter       bool                      `json:"announce_only_if_better"`
	AnnounceGranularitySeconds int                       `json:"announce_granularity_seconds"`
	CustomAnnouncements        []BundleQueueAnnouncement `json:"custom_announcements"`
	CallbackEnabled            bool                      `json:"callback_enabled"`
	CallbackAttempts           int                       `json:"callback_attempts"`
	CallbackRetryDelaySeconds  int                       `json:"callback_retry_delay_seconds"`
	ServiceLevelSeconds        int                       `json:"service_level_seconds"`
	ServiceLevelPercent        int                       `json:"service_level_percent"`
	MaxOccupancyPercent        int                       `json:"max_occupancy_percent"`
	HandleTimeSeconds          int                       `json:"handle_time_seconds"`
	Music                      string                    `json:"music"`
}

// UnmarshalJSON reads the settings over the defaults, strictly (see
// ReadBundle).
func (b *BundleQueueSettings) UnmarshalJSON(data []byte) error {
	type plain BundleQueueSettings // without this method
	p := plain(bundleSettings(DefaultQueueSettings()))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*b = BundleQueueSettings(p)
	return nil
}

// BundleSkill is SkillReq in the API's spelling.
type BundleSkill struct {
	Skill string `json:"skill"`
	Level int    `json:"level"`
}

// BundleEscalation is EscalationStep in the API's spelling.
type BundleEscalation struct {
	AfterSeconds int `json:"after_seconds"`
	MaxTier      int `json:"max_tier"`
	RelaxSkills  int `json:"relax_skills"`
}

// BundleQueueAnnouncement is QueueAnnouncement in the API's spelling.
type BundleQueueAnnouncement struct {
	Announcement string `json:"announcement"`
	EverySeconds int    `json:"every_seconds"`
	FirstSeconds int    `json:"first_seconds"`
}

// BundleAgent is an agent with its device, skills and memberships.
// Active left out means active, as a new agent is.
type BundleAgent struct {
	Name string `json:"name"`
	// Login is the username of the agent's login, if any; see Bundle.
	Login         string             `json:"login,omitempty"`
	Skills        map[string]int     `json:"skills"`
	WrapUpSeconds *int               `json:"wrap_up_seconds"`
	DeviceKind    string             `json:"device_kind"`
	DialString    string             `json:"dial_string,omitempty"`
	Active        *bool              `json:"active"`
	Memberships   []BundleMembership `json:"memberships"`
}

// BundleMembership puts the agent it belongs to in a queue.
type BundleMembership struct {
	Queue  string `json:"queue"`
	Tier   int    `json:"tier"`
	Order  int    `json:"order"`
	Weight int    `json:"weight"`
}

// BundleFlow is a call flow.
type BundleFlow struct {
	Name       string        `json:"name"`
	Definition callflow.Flow `json:"definition"`
}

// BundleNumber is an inbound number and the flow (by name) its calls take.
type BundleNumber struct {
	Number      string `json:"number"`
	Flow        string `json:"flow"`
	Description string `json:"description,omitempty"`
}

func bundleSettings(q QueueSettings) BundleQueueSettings {
	b := BundleQueueSettings{
		Strategy: q.Strategy, Weight: q.Weight, MaxLen: q.MaxLen, MaxWaitSeconds: q.MaxWaitSeconds,
		EmptyPolicy: q.EmptyPolicy, RingTimeoutSeconds: q.RingTimeoutSeconds, RetryDelaySeconds: q.RetryDelaySeconds,
		MaxParallelOffers: q.MaxParallelOffers, WrapUpSeconds: q.WrapUpSeconds, AutoPauseAfter: q.AutoPauseAfter,
		RingInUse: q.RingInUse, AnnounceOnJoin: q.AnnounceOnJoin, AnnounceEverySeconds: q.AnnounceEverySeconds,
		AnnounceOnlyIfBetter: q.AnnounceOnlyIfBetter, AnnounceGranularitySeconds: q.AnnounceGranularitySeconds,
		CallbackEnabled: q.CallbackEnabled, CallbackAttempts: q.CallbackAttempts,
		CallbackRetryDelaySeconds: q.CallbackRetryDelaySeconds, ServiceLevelSeconds: q.ServiceLevelSeconds,
		ServiceLevelPercent: q.ServiceLevelPercent, MaxOccupancyPercent: q.MaxOccupancyPercent,
		HandleTimeSeconds: q.HandleTimeSeconds, Music: q.Music,
		Skills: []BundleSkill{}, Escalation: []BundleEscalation{}, CustomAnnouncements: []BundleQueueAnnouncement{},
	}
	for _, s := range q.Skills {
		b.Skills = append(b.Skills, BundleSkill(s))
	}
	for _, e := range q.Escalation {
		b.Escalation = append(b.Escalation, BundleEscalation(e))
	}
	for _, c := range q.CustomAnnouncements {
		b.CustomAnnouncements = append(b.CustomAnnouncements, BundleQueueAnnouncement(c))
	}
	return b
}

func (b BundleQueueSettings) settings() QueueSettings {
	q := QueueSettings{
		Strategy: b.Strategy, Weight: b.Weight, MaxLen: b.MaxLen, MaxWaitSeconds: b.MaxWaitSeconds,
		EmptyPolicy: b.EmptyPolicy, RingTimeoutSeconds: b.RingTimeoutSeconds, RetryDelaySeconds: b.RetryDelaySeconds,
		MaxParallelOffers: b.MaxParallelOffers, WrapUpSeconds: b.WrapUpSeconds, AutoPauseAfter: b.AutoPauseAfter,
		RingInUse: b.RingInUse, AnnounceOnJoin: b.AnnounceOnJoin, AnnounceEverySeconds: b.AnnounceEverySeconds,
		AnnounceOnlyIfBetter: b.AnnounceOnlyIfBetter, AnnounceGranularitySeconds: b.AnnounceGranularitySeconds,
		CallbackEnabled: b.CallbackEnabled, CallbackAttempts: b.CallbackAttempts,
		CallbackRetryDelaySeconds: b.CallbackRetryDelaySeconds, ServiceLevelSeconds: b.ServiceLevelSeconds,
		ServiceLevelPercent: b.ServiceLevelPercent, MaxOccupancyPercent: b.MaxOccupancyPercent,
		HandleTimeSeconds: b.HandleTimeSeconds, Music: b.Music,
		Skills: []SkillReq{}, Escalation: []EscalationStep{}, CustomAnnouncements: []QueueAnnouncement{},
	}
	for _, s := range b.Skills {
		q.Skills = append(q.Skills, SkillReq(s))
	}
	for _, e := range b.Escalation {
		q.Escalation = append(q.Escalation, EscalationStep(e))
	}
	for _, c := range b.CustomAnnouncements {
		q.CustomAnnouncements = append(q.CustomAnnouncements, QueueAnnouncement(c))
	}
	return q
}

// ReadBundle decodes a bundle strictly: a field omstil does not know is an
// error (a misspelt setting in a hand-edited template must not vanish).
func ReadBundle(r io.Reader) (Bundle, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return Bundle{}, fmt.Errorf("config: read bundle: %w", err)
	}
	if dec.More() {
		return Bundle{}, errors.New("config: read bundle: more than one JSON document")
	}
	return b, nil
}

// ExportOrg returns an organisation's configuration as a bundle, read in
// one consistent snapshot. Only that organisation's objects are in it.
func (s *Store) ExportOrg(ctx context.Context, org OrgID) (Bundle, error) {
	b := Bundle{Format: BundleFormat, Version: BundleVersion, ExportedAt: s.now().UTC().Truncate(time.Second)}
	var opts []*sql.TxOptions
	if s.dialect == "postgres" {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var o Organisation
		if err := tx.Where("id = ?", org).First(&o).Error; err != nil {
			return err
		}
		b.Organisation = o.Slug
		reasons, err := pauseReasons(tx, org)
		if err != nil {
			return err
		}
		b.PauseReasons = reasons
		var scheds []Schedule
		if err := tx.Where("org_id = ?", org).Order("name").Find(&scheds).Error; err != nil {
			return err
		}
		b.Schedules = []BundleSchedule{}
		for _, sc := range scheds {
			def := sc.Definition
			def.Name = "" // the bundle's name is the schedule's
			b.Schedules = append(b.Schedules, BundleSchedule{Name: sc.Name, Definition: def})
		}
		var anns []Announcement
		if err := tx.Where("org_id = ?", org).Order("name").Find(&anns).Error; err != nil {
			return err
		}
		b.Announcements = []BundleAnnouncement{}
		for _, a := range anns {
			b.Announcements = append(b.Announcements, BundleAnnouncement{Name: a.Name, Description: a.Description,
				OriginalFilename: a.OriginalFilename, SHA256: a.SHA256, Audio: a.Audio})
		}
		var qs []Queue
		if err := tx.Where("org_id = ?", org).Order("name").Find(&qs).Error; err != nil {
			return err
		}
		b.Queues = []BundleQueue{}
		queueName := map[QueueID]string{}
		for _, q := range qs {
			queueName[q.ID] = q.Name
			b.Queues = append(b.Queues, BundleQueue{Name: q.Name, DisplayName: q.DisplayName, Settings: bundleSettings(q.QueueSettings)})
		}
		var users []User
		if err := tx.Select("id", "username").Where("org_id = ?", org).Find(&users).Error; err != nil {
			return err
		}
		login := map[UserID]string{}
		for _, u := range users {
			login[u.ID] = u.Username
		}
		var ms []Membership
		if err := tx.Where("org_id = ?", org).Find(&ms).Error; err != nil {
			return err
		}
		members := map[AgentID][]BundleMembership{}
		for _, m := range ms {
			members[m.AgentID] = append(members[m.AgentID], BundleMembership{Queue: queueName[m.QueueID], Tier: m.Tier, Order: m.SortOrder, Weight: m.Weight})
		}
		var ags []Agent
		if err := tx.Where("org_id = ?", org).Order("name, id").Find(&ags).Error; err != nil {
			return err
		}
		b.Agents = []BundleAgent{}
		for _, a := range ags {
			active := a.Active
			ba := BundleAgent{Name: a.Name, Skills: a.Skills, WrapUpSeconds: a.WrapUpSeconds, DeviceKind: a.DeviceKind,
				DialString: a.DialString, Active: &active, Memberships: members[a.ID]}
			if ba.Skills == nil {
				ba.Skills = map[string]int{}
			}
			if ba.Memberships == nil {
				ba.Memberships = []BundleMembership{}
			}
			slices.SortFunc(ba.Memberships, func(x, y BundleMembership) int { return strings.Compare(x.Queue, y.Queue) })
			if a.UserID != nil {
				ba.Login = login[*a.UserID]
			}
			b.Agents = append(b.Agents, ba)
		}
		var fs []Flow
		if err := tx.Where("org_id = ?", org).Order("name").Find(&fs).Error; err != nil {
			return err
		}
		b.Flows = []BundleFlow{}
		flowName := map[FlowID]string{}
		for _, f := range fs {
			flowName[f.ID] = f.Name
			b.Flows = append(b.Flows, BundleFlow{Name: f.Name, Definition: f.Definition})
		}
		var ns []Number
		if err := tx.Where("org_id = ?", org).Order("number").Find(&ns).Error; err != nil {
			return err
		}
		b.Numbers = []BundleNumber{}
		for _, n := range ns {
			b.Numbers = append(b.Numbers, BundleNumber{Number: n.Display, Flow: flowName[n.FlowID], Description: n.Description})
		}
		return nil
	}, opts...)
	if err != nil {
		return Bundle{}, wrapErr("export", "organisation", org, err)
	}
	return b, nil
}

// ImportReport says what an import created (or, in a dry run, would
// create) and what it could not carry over.
type ImportReport struct {
	DryRun bool
	// Created names each object, in the order written, e.g.
	// "queue 'borgerservice'".
	Created []string
	// Updated names the objects that existed and were replaced by the
	// bundle's version (ImportOptions.Replace); Unchanged those that
	// existed as the bundle has them already.
	Updated   []string
	Unchanged []string
	// Notes are what was left out, e.g. an agent's login that is not a
	// user of the target organisation (the agent is created unlinked).
	Notes []string
}

// ImportError refuses a bundle; nothing was written. Conflicts are
// objects that exist already in the organisation (errors.Is(err,
// ErrConflict) holds when there are any); Problems are objects that are
// not valid or refer to what exists neither in the bundle nor in the
// organisation. Each entry names the object.
type ImportError struct {
	Conflicts []string
	Problems  []string
}

func (e *ImportError) Error() string {
	var parts []string
	if len(e.Conflicts) > 0 {
		parts = append(parts, "these exist already in the organisation: "+strings.Join(e.Conflicts, "; "))
	}
	if len(e.Problems) > 0 {
		parts = append(parts, "the bundle is not valid: "+strings.Join(e.Problems, "; "))
	}
	return "import refused, nothing written: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrConflict) true when there are conflicts.
func (e *ImportError) Is(target error) bool { return target == ErrConflict && len(e.Conflicts) > 0 }

// ImportOptions tune ImportOrg. The zero value creates everything and
// refuses names the organisation has already.
type ImportOptions struct {
	// DryRun checks everything and reports what would be written, then
	// rolls the transaction back.
	DryRun bool
	// Replace updates an object of the same name that the organisation
	// has already to the bundle's version, instead of refusing the
	// import; objects the bundle does not name stay as they are. An
	// agent's memberships become the bundle's; its login stays unless
	// the bundle names one that can be linked.
	Replace bool
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// importPlan is a bundle turned into models and checked as far as that can
// be done without the database.
type importPlan struct {
	reasons       []string // nil: the bundle has none
	schedules     []Schedule
	announcements []Announcement
	queues        []Queue
	agents        []importAgent
	flows         []Flow
	numbers       []importNumber
}

type importAgent struct {
	Agent
	login   string
	members []importMember
}

type importMember struct {
	queue string
	m     Membership
}

type importNumber struct {
	Number
	flow string
}

// problems collects what is wrong with a bundle, each naming its object.
type problems []string

func (p *problems) add(object string, err error) {
	*p = append(*p, object+": "+err.Error())
}

func object(kind, name string) string { return fmt.Sprintf("%s '%s'", kind, name) }

// plan checks everything a bundle holds that the database is not needed
// for, by the rules the API uses, and converts the announcements' audio.
func (s *Store) plan(ctx context.Context, org OrgID, b Bundle) (importPlan, problems, error) {
	var p importPlan
	var bad problems
	if b.Format != BundleFormat || b.Version != BundleVersion {
		bad.add("bundle", Invalid("format", "%q version %d: this omstil reads %q version %d", b.Format, b.Version, BundleFormat, BundleVersion))
		return p, bad, nil
	}
	if b.PauseReasons != nil {
		clean, err := cleanPauseReasons(b.PauseReasons)
		if err != nil {
			bad.add("pause reasons", err)
		}
		p.reasons = clean
	}
	twice := func(kind string) func(string) bool {
		seen := map[string]bool{}
		return func(name string) bool {
			if seen[name] {
				bad.add(object(kind, name), errors.New("is in the bundle twice"))
				return true
			}
			seen[name] = true
			return false
		}
	}
	dup := twice("schedule")
	for _, bs := range b.Schedules {
		def := bs.Definition
		if err := validSchedule(bs.Name, &def); err != nil {
			bad.add(object("schedule", bs.Name), err)
			continue
		}
		if !dup(bs.Name) {
			p.schedules = append(p.schedules, Schedule{OrgID: org, Name: bs.Name, Definition: def})
		}
	}
	dup = twice("announcement")
	for _, ba := range b.Announcements {
		a, err := s.importAnnouncement(ctx, org, ba)
		if err != nil && !userError(err) {
			return p, nil, err
		}
		if err != nil {
			bad.add(object("announcement", ba.Name), err)
			continue
		}
		if !dup(ba.Name) {
			p.announcements = append(p.announcements, a)
		}
	}
	dup = twice("queue")
	for _, bq := range b.Queues {
		n := NewQueue{Name: bq.Name, DisplayName: bq.DisplayName, Settings: bq.Settings.settings()}
		if err := n.validate(); err != nil {
			bad.add(object("queue", bq.Name), err)
			continue
		}
		if !dup(bq.Name) {
			p.queues = append(p.queues, Queue{OrgID: org, Name: n.Name, DisplayName: n.DisplayName, QueueSettings: n.Settings})
		}
	}
	for _, ba := range b.Agents {
		a := importAgent{Agent: Agent{OrgID: org, Name: ba.Name, Skills: ba.Skills, WrapUpSeconds: ba.WrapUpSeconds,
			DeviceKind: ba.DeviceKind, DialString: ba.DialString, Active: ba.Active == nil || *ba.Active}, login: ba.Login}
		if a.Skills == nil {
			a.Skills = map[string]int{}
		}
		if err := a.validate(); err != nil {
			bad.add(object("agent", ba.Name), err)
			continue
		}
		inQueue := map[string]bool{}
		for i, bm := range ba.Memberships {
			m := Membership{OrgID: org, Tier: bm.Tier, SortOrder: bm.Order, Weight: bm.Weight}
			err := m.validate()
			if err == nil && inQueue[bm.Queue] {
				err = Invalid("queue", "%q is listed twice", bm.Queue)
			}
			if err != nil {
				bad.add(fmt.Sprintf("agent '%s' memberships[%d]", ba.Name, i), err)
				continue
			}
			inQueue[bm.Queue] = true
			a.members = append(a.members, importMember{queue: bm.Queue, m: m})
		}
		p.agents = append(p.agents, a)
	}
	dup = twice("flow")
	for _, bf := range b.Flows {
		if err := validName("name", bf.Name); err != nil {
			bad.add(object("flow", bf.Name), err)
			continue
		}
		if !dup(bf.Name) {
			p.flows = append(p.flows, Flow{OrgID: org, Name: bf.Name, Definition: bf.Definition})
		}
	}
	dup = twice("number")
	for _, bn := range b.Numbers {
		n, err := newNumber(org, bn.Number, 0, bn.Description)
		if err != nil {
			bad.add(object("number", bn.Number), err)
			continue
		}
		if !dup(n.Number) {
			p.numbers = append(p.numbers, importNumber{Number: n, flow: bn.Flow})
		}
	}
	return p, bad, nil
}

// importAnnouncement checks and converts an announcement of a bundle as an
// upload is. A recording already in the stored form (8 kHz mono 16-bit
// WAV, as export writes it) is kept byte for byte, so that its hash and
// what callers hear do not change on the way.
func (s *Store) importAnnouncement(ctx context.Context, org OrgID, ba BundleAnnouncement) (Announcement, error) {
	if err := validName("name", ba.Name); err != nil {
		return Announcement{}, err
	}
	if err := validText("description", ba.Description, 256); err != nil {
		return Announcement{}, err
	}
	sum := sha256.Sum256(ba.Audio)
	if ba.SHA256 != "" && !strings.EqualFold(ba.SHA256, hex.EncodeToString(sum[:])) {
		return Announcement{}, Invalid("audio", "does not match its sha256 (the bundle was damaged or edited)")
	}
	a := Announcement{OrgID: org, Name: ba.Name, Description: ba.Description}
	if err := a.setAudio(ctx, s.audio, ba.OriginalFilename, ba.Audio); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return Announcement{}, Invalid("audio", "%s", ve.Message)
		}
		return Announcement{}, err
	}
	const header = 44
	if len(ba.Audio) == len(a.Audio) && len(a.Audio) >= header && bytes.Equal(ba.Audio[:header], a.Audio[:header]) {
		a.Audio, a.SHA256 = ba.Audio, hex.EncodeToString(sum[:])
	}
	return a, nil
}

// ImportOrg writes a bundle into an organisation in one transaction, each
// object checked by the same rules as when it is created or changed
// through the API and audited as actor's change, plus one audit entry for
// the import. References resolve to the bundle's objects or to what the
// organisation has already. Nothing is written when anything is wrong:
// an *ImportError lists every conflict (an object of the same name exists
// already, unless opts.Replace) or every problem. With opts.DryRun
// everything is checked, the report says what would be written, and the
// transaction is rolled back.
func (s *Store) ImportOrg(ctx context.Context, actor Actor, org OrgID, b Bundle, opts ImportOptions) (ImportReport, error) {
	actor.OrgID = org
	rep := ImportReport{DryRun: opts.DryRun}
	p, bad, err := s.plan(ctx, org, b)
	if err != nil {
		return ImportReport{}, err
	}
	if len(bad) > 0 {
		return ImportReport{}, &ImportError{Problems: bad}
	}
	err = s.change(ctx, org, func(tx *gorm.DB) error {
		rep.Created, rep.Updated, rep.Unchanged, rep.Notes = nil, nil, nil, nil
		if err := tx.Where("id = ?", org).First(&Organisation{}).Error; err != nil {
			return err
		}
		conflicts, err := importConflicts(tx, org, p, opts.Replace)
		if err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return &ImportError{Conflicts: conflicts}
		}
		bad, err := s.write(tx, actor, p, opts.Replace, &rep)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return &ImportError{Problems: bad}
		}
		summary := map[string]any{"format": b.Format, "version": b.Version, "exported_at": b.ExportedAt,
			"omstil_version": b.Omstil, "from_organisation": b.Organisation, "created": rep.Created, "updated": rep.Updated,
			"notes": rep.Notes}
		if err := s.audit(tx, actor, "import", "configuration", org, nil, summary); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return rep, nil
	}
	var ie *ImportError
	if errors.As(err, &ie) {
		return ImportReport{}, ie
	}
	if err != nil {
		return ImportReport{}, wrapErr("import", "configuration into organisation", org, err)
	}
	return rep, nil
}

// importConflicts lists the plan's objects that the organisation has
// already; numbers are unique in the installation, so a number any
// organisation routes is a conflict (without saying whose). With replace
// only what cannot be replaced is: a number another organisation routes,
// and an agent whose name several of the organisation's agents have.
func importConflicts(tx *gorm.DB, org OrgID, p importPlan, replace bool) ([]string, error) {
	var out []string
	if replace {
		return replaceConflicts(tx, org, p)
	}
	exists := func(model any, kind string, names []string) error {
		if len(names) == 0 {
			return nil
		}
		var have []string
		if err := tx.Model(model).Where("org_id = ? AND name IN ?", org, names).Order("name").Pluck("name", &have).Error; err != nil {
			return err
		}
		for _, n := range slices.Compact(have) {
			out = append(out, object(kind, n))
		}
		return nil
	}
	names := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	if p.reasons != nil {
		var st OrgSetting
		err := tx.Where("org_id = ? AND name = ?", org, "pause_reasons").First(&st).Error
		switch mapErr(err) {
		case nil:
			if !slices.Equal(decodeLines(st.Value), p.reasons) {
				out = append(out, "pause reasons (the organisation has its own list, different from the bundle's)")
			}
		case ErrNotFound:
		default:
			return nil, err
		}
	}
	checks := []struct {
		model any
		kind  string
		names []string
	}{
		{&Schedule{}, "schedule", names(len(p.schedules), func(i int) string { return p.schedules[i].Name })},
		{&Announcement{}, "announcement", names(len(p.announcements), func(i int) string { return p.announcements[i].Name })},
		{&Queue{}, "queue", names(len(p.queues), func(i int) string { return p.queues[i].Name })},
		{&Agent{}, "agent", names(len(p.agents), func(i int) string { return p.agents[i].Name })},
		{&Flow{}, "flow", names(len(p.flows), func(i int) string { return p.flows[i].Name })},
	}
	for _, c := range checks {
		if err := exists(c.model, c.kind, c.names); err != nil {
			return nil, err
		}
	}
	if len(p.numbers) > 0 {
		nums := names(len(p.numbers), func(i int) string { return p.numbers[i].Number.Number })
		var taken []string
		if err := tx.Model(&Number{}).Where("number IN ?", nums).Order("number").Pluck("number", &taken).Error; err != nil {
			return nil, err
		}
		for _, n := range taken {
			out = append(out, fmt.Sprintf("number %s (is not available)", n))
		}
	}
	return out, nil
}

func replaceConflicts(tx *gorm.DB, org OrgID, p importPlan) ([]string, error) {
	var out []string
	if len(p.agents) > 0 {
		names := make([]string, len(p.agents))
		seen := map[string]int{}
		for i, a := range p.agents {
			names[i] = a.Name
			if seen[a.Name]++; seen[a.Name] == 2 {
				out = append(out, object("agent", a.Name)+" (the bundle has several agents of that name; replace cannot tell them apart)")
			}
		}
		var many []string
		if err := tx.Model(&Agent{}).Where("org_id = ? AND name IN ?", org, names).Group("name").Having("COUNT(*) > 1").
			Order("name").Pluck("name", &many).Error; err != nil {
			return nil, err
		}
		for _, n := range many {
			out = append(out, object("agent", n)+" (several agents here have that name; rename them so that one can be replaced)")
		}
	}
	if len(p.numbers) > 0 {
		nums := make([]string, len(p.numbers))
		for i, n := range p.numbers {
			nums[i] = n.Number.Number
		}
		var taken []string
		if err := tx.Model(&Number{}).Where("number IN ? AND org_id <> ?", nums, org).Order("number").Pluck("number", &taken).Error; err != nil {
			return nil, err
		}
		for _, n := range taken {
			out = append(out, fmt.Sprintf("number %s (is not available)", n))
		}
	}
	return out, nil
}

// byName loads the organisation's object of model's kind named name into
// model; false when there is none.
func byName(tx *gorm.DB, model any, org OrgID, column, name string) (bool, error) {
	err := tx.Where("org_id = ? AND "+column+" = ?", org, name).First(model).Error
	switch mapErr(err) {
	case nil:
		return true, nil
	case ErrNotFound:
		return false, nil
	}
	return false, err
}

// write creates the plan's objects in the order they refer to each other,
// each through the insert* the API's Create* uses. A refused object is a
// problem and the next is tried, so that one import names every problem;
// any other error ends it.
func (s *Store) write(tx *gorm.DB, actor Actor, p importPlan, replace bool, rep *ImportReport) (problems, error) {
	org := actor.OrgID
	var bad problems
	// try records the outcome of writing obj: updated says whether it
	// existed and was replaced.
	try := func(obj string, updated bool, err error) error {
		switch {
		case errors.Is(err, errUnchanged):
			rep.Unchanged = append(rep.Unchanged, obj)
		case err == nil && updated:
			rep.Updated = append(rep.Updated, obj)
		case err == nil:
			rep.Created = append(rep.Created, obj)
		case userError(err):
			bad.add(obj, err)
		default:
			return fmt.Errorf("%s: %w", obj, err)
		}
		return nil
	}
	// existing loads the object named name into model when replace is on.
	existing := func(model any, column, name string) (bool, error) {
		if !replace {
			return false, nil
		}
		return byName(tx, model, org, column, name)
	}
	if p.reasons != nil {
		// an organisation without its own list has the defaults: not a
		// conflict, and the bundle's list is created
		var st OrgSetting
		had, err := byName(tx, &st, org, "name", "pause_reasons")
		if err != nil {
			return nil, err
		}
		err = errUnchanged
		if !had || !slices.Equal(decodeLines(st.Value), p.reasons) {
			err = s.savePauseReasons(tx, actor, p.reasons)
		}
		if err := try("pause reasons", had, err); err != nil {
			return nil, err
		}
	}
	for i := range p.schedules {
		sc := &p.schedules[i]
		var old Schedule
		found, err := existing(&old, "name", sc.Name)
		if err != nil {
			return nil, err
		}
		if found {
			before := scheduleView(old)
			old.Definition = sc.Definition
			err = s.save(tx, actor, "schedule", old.ID, &old, before, scheduleView(old))
		} else {
			err = s.insertSchedule(tx, actor, sc)
		}
		if err := try(object("schedule", sc.Name), found, err); err != nil {
			return nil, err
		}
	}
	for i := range p.announcements {
		a := &p.announcements[i]
		var old Announcement
		found, err := existing(&old, "name", a.Name)
		if err != nil {
			return nil, err
		}
		if found {
			before := announcementView(old)
			old.Description, old.Audio, old.SHA256, old.DurationMS, old.OriginalFilename = a.Description, a.Audio, a.SHA256, a.DurationMS, a.OriginalFilename
			err = s.save(tx, actor, "announcement", old.ID, &old, before, announcementView(old))
		} else {
			err = s.insertAnnouncement(tx, actor, a)
		}
		if err := try(object("announcement", a.Name), found, err); err != nil {
			return nil, err
		}
	}
	for i := range p.queues {
		q := &p.queues[i]
		var old Queue
		found, err := existing(&old, "name", q.Name)
		if err != nil {
			return nil, err
		}
		if found {
			before := queueView(old)
			old.DisplayName, old.QueueSettings = q.DisplayName, q.QueueSettings
			if err = checkQueueRefs(tx, org, &old.QueueSettings); err == nil {
				err = s.save(tx, actor, "queue", old.ID, &old, before, queueView(old))
			}
		} else {
			err = s.insertQueue(tx, actor, q)
		}
		if err := try(object("queue", q.Name), found, err); err != nil {
			return nil, err
		}
	}
	for i := range p.agents {
		a := &p.agents[i]
		var old Agent
		found, err := existing(&old, "name", a.Name)
		if err != nil {
			return nil, err
		}
		if found {
			a.ID = old.ID
		}
		if a.login != "" {
			note, err := linkLogin(tx, org, a)
			if err != nil {
				return nil, err
			}
			if note != "" {
				rep.Notes = append(rep.Notes, note)
			}
		}
		if found {
			before := agentView(old)
			if a.UserID == nil {
				a.UserID = old.UserID // the bundle does not take a login away
			}
			a.CreatedAt = old.CreatedAt
			if err = checkAgentUser(tx, org, &a.Agent); err == nil {
				if err = checkAgentDial(tx, org, &a.Agent); err == nil {
					err = s.save(tx, actor, "agent", a.ID, &a.Agent, before, agentView(a.Agent))
				}
			}
		} else {
			err = s.insertAgent(tx, actor, &a.Agent)
		}
		if err := try(object("agent", a.Name), found, err); err != nil {
			return nil, err
		}
		if err == nil || errors.Is(err, errUnchanged) { // an unchanged agent's memberships may have changed
			if err := s.writeMemberships(tx, actor, a, found, try); err != nil {
				return nil, err
			}
		}
	}
	for i := range p.flows {
		f := &p.flows[i]
		var old Flow
		found, err := existing(&old, "name", f.Name)
		if err != nil {
			return nil, err
		}
		if found {
			before := flowView(old)
			old.Definition = f.Definition
			if err = validFlow(tx, org, old.Name, &old.Definition); err == nil {
				err = s.save(tx, actor, "flow", old.ID, &old, before, flowView(old))
			}
		} else {
			err = s.insertFlow(tx, actor, f)
		}
		if err := try(object("flow", f.Name), found, err); err != nil {
			return nil, err
		}
	}
	for i := range p.numbers {
		n := &p.numbers[i]
		var old Number
		found, err := existing(&old, "number", n.Number.Number)
		if err != nil {
			return nil, err
		}
		var f Flow
		err = tx.Select("id").Where("org_id = ? AND name = ?", org, n.flow).First(&f).Error
		switch mapErr(err) {
		case nil:
			n.FlowID = f.ID
			if found {
				before := numberView(old)
				old.Display, old.FlowID, old.Description = n.Display, n.FlowID, n.Description
				if err = s.checkNumber(tx, org, &old); err == nil {
					err = s.save(tx, actor, "number", old.ID, &old, before, numberView(old))
				}
			} else {
				err = s.insertNumber(tx, actor, &n.Number)
			}
		case ErrNotFound:
			err = Invalid("flow", "there is no flow named %q in the bundle or the organisation", n.flow)
		}
		if err := try(object("number", n.Display), found, err); err != nil {
			return nil, err
		}
	}
	return bad, nil
}

// errUnchanged: an object to replace is as the bundle has it already.
var errUnchanged = errors.New("unchanged")

// save writes a changed object inside a change, audited as an update;
// errUnchanged when its audit views say nothing changed.
func (s *Store) save(tx *gorm.DB, actor Actor, kind string, id any, model any, before, after map[string]any) error {
	b, err := json.Marshal(before)
	if err != nil {
		return err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return err
	}
	if bytes.Equal(a, b) {
		return errUnchanged
	}
	if err := tx.Save(model).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "update", kind, id, before, after)
}

// writeMemberships gives an imported agent the bundle's memberships; for
// an agent that existed (replaced), memberships the bundle does not list
// are removed and the others changed to the bundle's.
func (s *Store) writeMemberships(tx *gorm.DB, actor Actor, a *importAgent, replaced bool, try func(string, bool, error) error) error {
	org := actor.OrgID
	have := map[QueueID]Membership{}
	if replaced {
		var ms []Membership
		if err := tx.Where("org_id = ? AND agent_id = ?", org, a.ID).Find(&ms).Error; err != nil {
			return err
		}
		for _, m := range ms {
			have[m.QueueID] = m
		}
	}
	for _, im := range a.members {
		obj := fmt.Sprintf("membership of agent '%s' in queue '%s'", a.Name, im.queue)
		var q Queue
		found, err := byName(tx, &q, org, "name", im.queue)
		if err != nil {
			return err
		}
		if !found {
			if err := try(obj, false, Invalid("queue", "there is no queue named %q in the bundle or the organisation", im.queue)); err != nil {
				return err
			}
			continue
		}
		m := im.m
		m.AgentID, m.QueueID = a.ID, q.ID
		old, had := have[q.ID]
		delete(have, q.ID)
		switch {
		case had:
			before := membershipView(old)
			old.Tier, old.SortOrder, old.Weight = m.Tier, m.SortOrder, m.Weight
			err = s.save(tx, actor, "membership", old.ID, &old, before, membershipView(old))
		default:
			err = s.insertMembership(tx, actor, &m)
		}
		if err := try(obj, had, err); err != nil {
			return err
		}
	}
	for _, m := range have {
		if err := tx.Delete(&m).Error; err != nil {
			return err
		}
		if err := s.audit(tx, actor, "delete", "membership", m.ID, membershipView(m), nil); err != nil {
			return err
		}
	}
	return nil
}

// linkLogin links an imported agent to the organisation's user named by
// its login, if there is one and it is no other agent's; otherwise the
// agent stays unlinked and the note says why.
func linkLogin(tx *gorm.DB, org OrgID, a *importAgent) (string, error) {
	var u User
	err := tx.Select("id").Where("org_id = ? AND LOWER(username) = LOWER(?)", org, a.login).First(&u).Error
	switch mapErr(err) {
	case nil:
	case ErrNotFound:
		return fmt.Sprintf("agent '%s': not linked to login %q, which is not a user of this organisation; link it when the user exists", a.Name, a.login), nil
	default:
		return "", err
	}
	var other Agent
	err = tx.Select("name").Where("user_id = ? AND id <> ?", u.ID, a.ID).First(&other).Error
	switch mapErr(err) {
	case nil:
		return fmt.Sprintf("agent '%s': not linked to login %q, which is agent '%s' already", a.Name, a.login, other.Name), nil
	case ErrNotFound:
		a.UserID = &u.ID
		return "", nil
	}
	return "", err
}
