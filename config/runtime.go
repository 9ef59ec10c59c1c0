package config

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
	"gorm.io/gorm"
)

// Engine IDs. Several organisations share one engine, so the runtime
// names every object installation-wide:
//   - a queue is "<org slug>/<queue name>" (EngineQueueID), e.g.
//     "default/borgerservice"; flows in the Runtime refer to queues,
//     announcements and schedules by such global names too;
//   - an agent is its database ID in decimal (EngineAgentID), e.g. "17",
//     the same ID as in /api/v1/agents/17;
//   - an organisation, where the ARI adapter keeps numbers, queues and
//     agents apart (NumberConfig.Org, QueueOrgs, AgentOrgs), is its
//     database ID in decimal (EngineOrgID), e.g. "1". Only queue IDs
//     carry the slug, because people read them (flows, the live feed).
//
// These functions are the only places that turn an ID into engine text.
func EngineQueueID(orgSlug, name string) queue.QueueID { return queue.QueueID(orgSlug + "/" + name) }

// EngineOrgID is the ARI adapter's name of an organisation.
func EngineOrgID(id OrgID) string { return strconv.FormatInt(int64(id), 10) }

// EngineAgentID is the engine's ID of an agent.
func EngineAgentID(id AgentID) queue.AgentID { return queue.AgentID(strconv.FormatInt(int64(id), 10)) }

// ParseEngineAgentID is the inverse of EngineAgentID.
func ParseEngineAgentID(a queue.AgentID) (AgentID, bool) {
	n, err := strconv.ParseInt(string(a), 10, 64)
	return AgentID(n), err == nil && n > 0
}

// Runtime is everything the call handling needs, for all organisations,
// read in one transaction so it is consistent.
type Runtime struct {
	At            time.Time
	Queues        []queue.QueueConfig // custom announcements' Prompt is a global announcement name
	QueueInfo     map[queue.QueueID]RuntimeQueue
	Agents        []queue.AgentConfig // active agents only
	AgentInfo     map[queue.AgentID]RuntimeAgent
	Numbers       map[string]RuntimeNumber // inbound number → its flow
	Schedules     callflow.Schedules       // by global name "<org>/<schedule>"
	Announcements map[callflow.AnnouncementRef]RuntimeAnnouncement
	// PauseReasons per organisation. One engine serves every organisation,
	// so give the engine no list (any reason) and check an agent's reason
	// against its organisation's list before AgentPause (the API does).
	PauseReasons map[OrgID][]string
	// Dialing is what each organisation may dial (callbacks, transfers).
	Dialing map[OrgID]RuntimeDialing
}

// RuntimeDialing is an organisation's dial limits and caller ID.
type RuntimeDialing struct {
	Policy   callflow.DialPolicy
	CallerID string
}

// RuntimeQueue is what the adapter needs of a queue besides the engine's
// settings.
type RuntimeQueue struct {
	ID          QueueID
	OrgID       OrgID
	Name        string
	DisplayName string
	Music       string // "" default music on hold, "ringing", or a music-on-hold class
}

// RuntimeAgent is how to reach an agent.
type RuntimeAgent struct {
	ID         AgentID
	OrgID      OrgID
	Name       string
	UserID     *UserID
	DeviceKind string // DeviceWebRTC or DeviceEndpoint
	DialString string
}

// RuntimeNumber is an inbound number's flow, its references rewritten to
// global names (see EngineQueueID), ready for callflow.Start with
// Options.Schedules = Runtime.Schedules.
type RuntimeNumber struct {
	OrgID  OrgID
	FlowID FlowID
	Flow   *callflow.Flow
}

// RuntimeAnnouncement locates an announcement's audio. Asterisk plays it
// with "sound:<omstil URL>/media/announcements/<MediaName>" through its
// HTTP media cache.
type RuntimeAnnouncement struct {
	ID         AnnouncementID
	OrgID      OrgID
	Name       string
	DurationMS int64
	MediaName  string
}

// LoadRuntime reads the whole call-handling configuration of every
// organisation in one read-only transaction.
func (s *Store) LoadRuntime(ctx context.Context) (Runtime, error) {
	rt := Runtime{At: s.now().UTC(), QueueInfo: map[queue.QueueID]RuntimeQueue{}, AgentInfo: map[queue.AgentID]RuntimeAgent{},
		Numbers: map[string]RuntimeNumber{}, Schedules: callflow.Schedules{},
		Announcements: map[callflow.AnnouncementRef]RuntimeAnnouncement{}, PauseReasons: map[OrgID][]string{},
		Dialing: map[OrgID]RuntimeDialing{}}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	} else {
		opts = nil // SQLite: a deferred read transaction is a snapshot already
	}
	key, err := s.mediaKey(s.db.WithContext(ctx)) // may write it, so before the read-only transaction
	if err != nil {
		return Runtime{}, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var orgs []Organisation
		if err := tx.Find(&orgs).Error; err != nil {
			return err
		}
		slug := map[OrgID]string{}
		for _, o := range orgs {
			slug[o.ID] = o.Slug
			pr, err := pauseReasons(tx, o.ID)
			if err != nil {
				return err
			}
			rt.PauseReasons[o.ID] = pr
			rt.Dialing[o.ID] = RuntimeDialing{Policy: o.DialPolicy(), CallerID: o.CallerID}
		}
		global := func(org OrgID, name string) string { return slug[org] + "/" + name }
		var anns []Announcement
		if err := tx.Select(metaColumns).Find(&anns).Error; err != nil {
			return err
		}
		for _, a := range anns {
			rt.Announcements[callflow.AnnouncementRef(global(a.OrgID, a.Name))] = RuntimeAnnouncement{
				ID: a.ID, OrgID: a.OrgID, Name: a.Name, DurationMS: a.DurationMS, MediaName: mediaName(key, a.ID, a.SHA256)}
		}
		var scheds []Schedule
		if err := tx.Find(&scheds).Error; err != nil {
			return err
		}
		for _, sc := range scheds {
			d := sc.Definition
			rt.Schedules[callflow.ScheduleRef(global(sc.OrgID, sc.Name))] = &d
		}
		var qs []Queue
		if err := tx.Order("id").Find(&qs).Error; err != nil {
			return err
		}
		qid := map[QueueID]queue.QueueID{}
		for _, q := range qs {
			id := EngineQueueID(slug[q.OrgID], q.Name)
			qid[q.ID] = id
			org := q.OrgID
			rt.Queues = append(rt.Queues, q.EngineConfig(id, func(n string) string { return global(org, n) }))
			rt.QueueInfo[id] = RuntimeQueue{ID: q.ID, OrgID: q.OrgID, Name: q.Name, DisplayName: q.DisplayName, Music: q.Music}
		}
		var ms []Membership
		if err := tx.Order("agent_id, queue_id").Find(&ms).Error; err != nil {
			return err
		}
		byAgent := map[AgentID][]queue.Membership{}
		for _, m := range ms {
			byAgent[m.AgentID] = append(byAgent[m.AgentID], queue.Membership{Queue: qid[m.QueueID], Tier: m.Tier, Order: m.SortOrder, Weight: m.Weight})
		}
		var ags []Agent
		if err := tx.Where("active = ?", true).Order("id").Find(&ags).Error; err != nil {
			return err
		}
		for _, a := range ags {
			id := EngineAgentID(a.ID)
			ac := queue.AgentConfig{ID: id, Skills: a.Skills, Queues: byAgent[a.ID]}
			if a.WrapUpSeconds != nil {
				w := secs(*a.WrapUpSeconds)
				ac.WrapUp = &w
			}
			rt.Agents = append(rt.Agents, ac)
			rt.AgentInfo[id] = RuntimeAgent{ID: a.ID, OrgID: a.OrgID, Name: a.Name, UserID: a.UserID, DeviceKind: a.DeviceKind, DialString: a.DialString}
		}
		var flows []Flow
		if err := tx.Find(&flows).Error; err != nil {
			return err
		}
		flowByID := map[FlowID]*callflow.Flow{}
		for _, f := range flows {
			flowByID[f.ID] = globalFlow(f.Definition, func(n string) string { return global(f.OrgID, n) })
		}
		var nums []Number
		if err := tx.Find(&nums).Error; err != nil {
			return err
		}
		for _, n := range nums {
			rt.Numbers[n.Number] = RuntimeNumber{OrgID: n.OrgID, FlowID: n.FlowID, Flow: flowByID[n.FlowID]}
		}
		return nil
	}, opts)
	if err != nil {
		return Runtime{}, fmt.Errorf("config: load runtime configuration: %w", err)
	}
	return rt, nil
}

// globalFlow returns a deep enough copy of f with every queue,
// announcement and saved-schedule name rewritten by global.
func globalFlow(f callflow.Flow, global func(string) string) *callflow.Flow {
	return f.RenameRefs(func(_ callflow.RefKind, name string) string { return global(name) })
}
