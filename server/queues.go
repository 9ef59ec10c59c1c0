package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

type queueStore interface {
	ListQueues(ctx context.Context, org config.OrgID) ([]config.Queue, error)
	GetQueue(ctx context.Context, org config.OrgID, id config.QueueID) (config.Queue, error)
	CreateQueue(ctx context.Context, actor config.Actor, n config.NewQueue) (config.Queue, error)
	UpdateQueue(ctx context.Context, actor config.Actor, id config.QueueID, p config.QueuePatch) (config.Queue, error)
	DeleteQueue(ctx context.Context, actor config.Actor, id config.QueueID) error
}

type skillJSON struct {
	Skill string `json:"skill"`
	Level int    `json:"level"`
}

type escalationJSON struct {
	AfterSeconds int `json:"after_seconds"`
	MaxTier      int `json:"max_tier"`
	RelaxSkills  int `json:"relax_skills"`
}

type queueAnnouncementJSON struct {
	Announcement string `json:"announcement"`
	EverySeconds int    `json:"every_seconds"`
	FirstSeconds int    `json:"first_seconds"`
}

// queueSettingsJSON is a queue's settings as the API shows them.
type queueSettingsJSON struct {
	Strategy                   string                  `json:"strategy"`
	Weight                     int                     `json:"weight"`
	MaxLen                     int                     `json:"max_len"`
	MaxWaitSeconds             int                     `json:"max_wait_seconds"`
	EmptyPolicy                string                  `json:"empty_policy"`
	RingTimeoutSeconds         int                     `json:"ring_timeout_seconds"`
	RetryDelaySeconds          int                     `json:"retry_delay_seconds"`
	MaxParallelOffers          int                     `json:"max_parallel_offers"`
	WrapUpSeconds              int                     `json:"wrap_up_seconds"`
	AutoPauseAfter             int                     `json:"auto_pause_after"`
	RingInUse                  bool                    `json:"ring_in_use"`
	Skills                     []skillJSON             `json:"skills"`
	Escalation                 []escalationJSON        `json:"escalation"`
	AnnounceOnJoin             bool                    `json:"announce_on_join"`
	AnnounceEverySeconds       int                     `json:"announce_every_seconds"`
	AnnounceOnlyIfBetter       bool                    `json:"announce_only_if_better"`
	AnnounceGranularitySeconds int                     `json:"announce_granularity_seconds"`
	CustomAnnouncements        []queueAnnouncementJSON `json:"custom_announcements"`
	CallbackEnabled            bool                    `json:"callback_enabled"`
	CallbackAttempts           int                     `json:"callback_attempts"`
	CallbackRetryDelaySeconds  int                     `json:"callback_retry_delay_seconds"`
	ServiceLevelSeconds        int                     `json:"service_level_seconds"`
	HandleTimeSeconds          int                     `json:"handle_time_seconds"`
	ServiceLevelPercent        int                     `json:"service_level_percent"`
	MaxOccupancyPercent        int                     `json:"max_occupancy_percent"`
	Music                      string                  `json:"music"`
}

// queueSettingsInput is the same with every field optional: on create
// over the defaults, on patch over the current settings.
type queueSettingsInput struct {
	Strategy                   *string                  `json:"strategy"`
	Weight                     *int                     `json:"weight"`
	MaxLen                     *int                     `json:"max_len"`
	MaxWaitSeconds             *int                     `json:"max_wait_seconds"`
	EmptyPolicy                *string                  `json:"empty_policy"`
	RingTimeoutSeconds         *int                     `json:"ring_timeout_seconds"`
	RetryDelaySeconds          *int                     `json:"retry_delay_seconds"`
	MaxParallelOffers          *int                     `json:"max_parallel_offers"`
	WrapUpSeconds              *int                     `json:"wrap_up_seconds"`
	AutoPauseAfter             *int                     `json:"auto_pause_after"`
	RingInUse                  *bool                    `json:"ring_in_use"`
	Skills                     *[]skillJSON             `json:"skills"`
	Escalation                 *[]escalationJSON        `json:"escalation"`
	AnnounceOnJoin             *bool                    `json:"announce_on_join"`
	AnnounceEverySeconds       *int                     `json:"announce_every_seconds"`
	AnnounceOnlyIfBetter       *bool                    `json:"announce_only_if_better"`
	AnnounceGranularitySeconds *int                     `json:"announce_granularity_seconds"`
	CustomAnnouncements        *[]queueAnnouncementJSON `json:"custom_announcements"`
	CallbackEnabled            *bool                    `json:"callback_enabled"`
	CallbackAttempts           *int                     `json:"callback_attempts"`
	CallbackRetryDelaySeconds  *int                     `json:"callback_retry_delay_seconds"`
	ServiceLevelSeconds        *int                     `json:"service_level_seconds"`
	HandleTimeSeconds          *int                     `json:"handle_time_seconds"`
	ServiceLevelPercent        *int                     `json:"service_level_percent"`
	MaxOccupancyPercent        *int                     `json:"max_occupancy_percent"`
	Music                      *string                  `json:"music"`
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// apply writes the given fields over q.
func (in queueSettingsInput) apply(q *config.QueueSettings) {
	set(&q.Strategy, in.Strategy)
	set(&q.Weight, in.Weight)
	set(&q.MaxLen, in.MaxLen)
	set(&q.MaxWaitSeconds, in.MaxWaitSeconds)
	set(&q.EmptyPolicy, in.EmptyPolicy)
	set(&q.RingTimeoutSeconds, in.RingTimeoutSeconds)
	set(&q.RetryDelaySeconds, in.RetryDelaySeconds)
	set(&q.MaxParallelOffers, in.MaxParallelOffers)
	set(&q.WrapUpSeconds, in.WrapUpSeconds)
	set(&q.AutoPauseAfter, in.AutoPauseAfter)
	set(&q.RingInUse, in.RingInUse)
	set(&q.AnnounceOnJoin, in.AnnounceOnJoin)
	set(&q.AnnounceEverySeconds, in.AnnounceEverySeconds)
	set(&q.AnnounceOnlyIfBetter, in.AnnounceOnlyIfBetter)
	set(&q.AnnounceGranularitySeconds, in.AnnounceGranularitySeconds)
	set(&q.CallbackEnabled, in.CallbackEnabled)
	set(&q.CallbackAttempts, in.CallbackAttempts)
	set(&q.CallbackRetryDelaySeconds, in.CallbackRetryDelaySeconds)
	set(&q.ServiceLevelSeconds, in.ServiceLevelSeconds)
	set(&q.HandleTimeSeconds, in.HandleTimeSeconds)
	set(&q.ServiceLevelPercent, in.ServiceLevelPercent)
	set(&q.MaxOccupancyPercent, in.MaxOccupancyPercent)
	set(&q.Music, in.Music)
	if in.Skills != nil {
		q.Skills = make([]config.SkillReq, len(*in.Skills))
		for i, s := range *in.Skills {
			q.Skills[i] = config.SkillReq{Skill: s.Skill, Level: s.Level}
		}
	}
	if in.Escalation != nil {
		q.Escalation = make([]config.EscalationStep, len(*in.Escalation))
		for i, e := range *in.Escalation {
			q.Escalation[i] = config.EscalationStep{AfterSeconds: e.AfterSeconds, MaxTier: e.MaxTier, RelaxSkills: e.RelaxSkills}
		}
	}
	if in.CustomAnnouncements != nil {
		q.CustomAnnouncements = make([]config.QueueAnnouncement, len(*in.CustomAnnouncements))
		for i, a := range *in.CustomAnnouncements {
			q.CustomAnnouncements[i] = config.QueueAnnouncement{Announcement: a.Announcement, EverySeconds: a.EverySeconds, FirstSeconds: a.FirstSeconds}
		}
	}
}

type queueResponse struct {
	ID          config.QueueID `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	queueSettingsJSON
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func queueJSON(q config.Queue) queueResponse {
	st := q.QueueSettings
	out := queueResponse{ID: q.ID, Name: q.Name, DisplayName: q.DisplayName, CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt,
		queueSettingsJSON: queueSettingsJSON{
			Strategy: st.Strategy, Weight: st.Weight, MaxLen: st.MaxLen, MaxWaitSeconds: st.MaxWaitSeconds, EmptyPolicy: st.EmptyPolicy,
			RingTimeoutSeconds: st.RingTimeoutSeconds, RetryDelaySeconds: st.RetryDelaySeconds, MaxParallelOffers: st.MaxParallelOffers,
			WrapUpSeconds: st.WrapUpSeconds, AutoPauseAfter: st.AutoPauseAfter, RingInUse: st.RingInUse,
			Skills: []skillJSON{}, Escalation: []escalationJSON{}, CustomAnnouncements: []queueAnnouncementJSON{},
			AnnounceOnJoin: st.AnnounceOnJoin, AnnounceEverySeconds: st.AnnounceEverySeconds, AnnounceOnlyIfBetter: st.AnnounceOnlyIfBetter,
			AnnounceGranularitySeconds: st.AnnounceGranularitySeconds, CallbackEnabled: st.CallbackEnabled, CallbackAttempts: st.CallbackAttempts,
			CallbackRetryDelaySeconds: st.CallbackRetryDelaySeconds, ServiceLevelSeconds: st.ServiceLevelSeconds,
			HandleTimeSeconds: st.HandleTimeSeconds, ServiceLevelPercent: st.ServiceLevelPercent,
			MaxOccupancyPercent: st.MaxOccupancyPercent, Music: st.Music,
		}}
	for _, s := range st.Skills {
		out.Skills = append(out.Skills, skillJSON{s.Skill, s.Level})
	}
	for _, e := range st.Escalation {
		out.Escalation = append(out.Escalation, escalationJSON{e.AfterSeconds, e.MaxTier, e.RelaxSkills})
	}
	for _, a := range st.CustomAnnouncements {
		out.CustomAnnouncements = append(out.CustomAnnouncements, queueAnnouncementJSON{a.Announcement, a.EverySeconds, a.FirstSeconds})
	}
	return out
}

type queueCreateRequest struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	queueSettingsInput
}

// New turns the request into the store's new queue: the given settings
// over the defaults.
func (r queueCreateRequest) New() config.NewQueue {
	st := config.DefaultQueueSettings()
	r.queueSettingsInput.apply(&st)
	return config.NewQueue{Name: r.Name, DisplayName: r.DisplayName, Settings: st}
}

type queuePatchRequest struct {
	DisplayName *string `json:"display_name"`
	queueSettingsInput
}

// Patch turns the request into the store's patch.
func (r queuePatchRequest) Patch() config.QueuePatch {
	in := r.queueSettingsInput
	return config.QueuePatch{DisplayName: r.DisplayName, Settings: in.apply}
}

func (s *Server) listQueues(c *gin.Context) {
	readOrg(s, c, CallConfig.ListQueues, each(queueJSON))
}

func (s *Server) getQueue(c *gin.Context) {
	readByID(s, c, "queue", CallConfig.GetQueue, queueJSON)
}

func (s *Server) createQueue(c *gin.Context) {
	write(s, c, http.StatusCreated, func(cc CallConfig, ctx context.Context, a config.Actor, req queueCreateRequest) (config.Queue, error) {
		return cc.CreateQueue(ctx, a, req.New())
	}, queueJSON)
}

func (s *Server) patchQueue(c *gin.Context) {
	patchByID[queuePatchRequest](s, c, "queue", CallConfig.UpdateQueue, queueJSON)
}

func (s *Server) deleteQueue(c *gin.Context) {
	deleteByID(s, c, "queue", CallConfig.DeleteQueue)
}

type waitingCallJSON struct {
	Call          queue.CallID `json:"call"`
	Position      int          `json:"position"`
	Priority      int          `json:"priority"`
	JoinedAt      time.Time    `json:"joined_at"`
	WaitedSeconds float64      `json:"waited_seconds"`
	Callback      bool         `json:"callback"`
	Ringing       int          `json:"ringing"`
}

type agentCountsJSON struct {
	LoggedOut int `json:"logged_out"`
	Ready     int `json:"ready"`
	Paused    int `json:"paused"`
	Ringing   int `json:"ringing"`
	OnCall    int `json:"on_call"`
	WrapUp    int `json:"wrap_up"`
}

type queueStatusResponse struct {
	ID                   config.QueueID    `json:"id"`
	Name                 string            `json:"name"`
	EngineID             queue.QueueID     `json:"engine_id"`
	Running              bool              `json:"running"` // known to the engine
	Waiting              []waitingCallJSON `json:"waiting"`
	LongestWaitSeconds   float64           `json:"longest_wait_seconds"`
	EstimatedWaitSeconds *float64          `json:"estimated_wait_seconds"` // null: nobody serves the queue
	Agents               agentCountsJSON   `json:"agents"`
	AnsweredToday        int               `json:"answered_today"`
	AbandonedToday       int               `json:"abandoned_today"`
	OverflowedToday      int               `json:"overflowed_today"`
	CallbacksToday       int               `json:"callbacks_today"`
	ServiceLevelToday    float64           `json:"service_level_today"`
	At                   time.Time         `json:"at"`
}

func (s *Server) queueStatus(c *gin.Context) {
	cc, id, ok := s.configAndID(c, "queue")
	if !ok {
		return
	}
	q, err := cc.GetQueue(c.Request.Context(), actor(c).OrgID, config.QueueID(id))
	if err != nil {
		s.fail(c, err)
		return
	}
	slug, ok := s.orgSlug(c, cc)
	if !ok {
		return
	}
	snap, ok := s.liveSnapshot(c)
	if !ok {
		return
	}
	eid := config.EngineQueueID(slug, q.Name)
	out := queueStatusResponse{ID: q.ID, Name: q.Name, EngineID: eid, Waiting: []waitingCallJSON{}, At: snap.At}
	for _, qs := range snap.Queues {
		if qs.ID != eid {
			continue
		}
		out.Running = true
		for _, w := range qs.Waiting {
			out.Waiting = append(out.Waiting, waitingCallJSON{w.Call, w.Position, w.Priority, w.JoinedAt, w.Waited.Seconds(), w.Callback, w.Ringing})
		}
		out.LongestWaitSeconds = qs.LongestWait.Seconds()
		if qs.EstimatedWait >= 0 {
			v := qs.EstimatedWait.Seconds()
			out.EstimatedWaitSeconds = &v
		}
		a := qs.Agents
		out.Agents = agentCountsJSON{a.LoggedOut, a.Ready, a.Paused, a.Ringing, a.OnCall, a.WrapUp}
		out.AnsweredToday, out.AbandonedToday, out.OverflowedToday, out.CallbacksToday = qs.AnsweredToday, qs.AbandonedToday, qs.OverflowedToday, qs.CallbacksToday
		out.ServiceLevelToday = qs.ServiceLevelToday
	}
	c.JSON(http.StatusOK, out)
}

// unembed removes the embedded settings struct's name that encoding/json
// puts in front of a field with the wrong type. Other errors, and those of
// requests without queueSettingsInput, pass unchanged.
func unembed(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && strings.HasPrefix(ae.Field, "queueSettingsInput.") {
		f := strings.TrimPrefix(ae.Field, "queueSettingsInput.")
		return &apiError{ae.Status, ae.Code, strings.Replace(ae.Message, ae.Field, f, 1), f}
	}
	return err
}
