package server

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/staffing"
)

// staffingStore is what the staffing report needs of the store.
type staffingStore interface {
	GetQueue(ctx context.Context, org config.OrgID, id config.QueueID) (config.Queue, error)
	QueueHistory(ctx context.Context, org config.OrgID, id config.QueueID, since, until time.Time, r config.QueueHistoryReaders) (config.Queue, error)
}

// Default and limits of the staffing report's "weeks" parameter.
const (
	defaultStaffingWeeks = 8
	maxStaffingWeeks     = 52
)

type staffingGoalJSON struct {
	ServiceLevelPercent int `json:"service_level_percent"`
	ServiceLevelSeconds int `json:"service_level_seconds"`
	MaxOccupancyPercent int `json:"max_occupancy_percent"`
}

type staffingQueueJSON struct {
	ID          config.QueueID `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
}

// staffNeedJSON is the fewest agents a formula asks for and what they
// give; null in the report when the goal is out of reach.
type staffNeedJSON struct {
	Agents          int      `json:"agents"`
	ServiceLevel    float64  `json:"service_level"`
	Occupancy       float64  `json:"occupancy"`
	WaitProbability float64  `json:"wait_probability"`
	ASASeconds      *float64 `json:"asa_seconds,omitempty"`  // Erlang C
	AbandonRate     *float64 `json:"abandon_rate,omitempty"` // Erlang A
}

type staffingIntervalJSON struct {
	Weekday         string         `json:"weekday"` // monday … sunday
	Start           string         `json:"start"`   // HH:MM local time
	Occurrences     int            `json:"occurrences"`
	Arrivals        float64        `json:"arrivals"`
	Answered        float64        `json:"answered"`
	Abandoned       float64        `json:"abandoned"`
	AHTSeconds      float64        `json:"aht_seconds"`
	AbandonRate     float64        `json:"abandon_rate"`
	PatienceSeconds *float64       `json:"patience_seconds"`
	LoggedIn        float64        `json:"logged_in"`
	ErlangC         *staffNeedJSON `json:"erlang_c"`
	ErlangA         *staffNeedJSON `json:"erlang_a"`
}

type staffingResponse struct {
	Queue           staffingQueueJSON      `json:"queue"`
	Weeks           int                    `json:"weeks"`
	Since           time.Time              `json:"since"`
	Until           time.Time              `json:"until"`
	TimeZone        string                 `json:"time_zone"`
	IntervalMinutes int                    `json:"interval_minutes"`
	Goal            staffingGoalJSON       `json:"goal"`
	AHTSeconds      float64                `json:"aht_seconds"`
	PatienceSeconds *float64               `json:"patience_seconds"`
	Intervals       []staffingIntervalJSON `json:"intervals"`
}

// staffingQuery is the report's query string, checked.
type staffingQuery struct {
	queue config.QueueID
	weeks int
	csv   bool
}

func parseStaffingQuery(c *gin.Context) (staffingQuery, error) {
	q := staffingQuery{weeks: defaultStaffingWeeks}
	raw := c.Query("queue")
	if raw == "" {
		return q, config.Invalid("queue", "give the queue's id: ?queue=ID")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return q, config.Invalid("queue", "%q is not a queue id", raw)
	}
	q.queue = config.QueueID(id)
	if w := c.Query("weeks"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > maxStaffingWeeks {
			return q, config.Invalid("weeks", "must be 1-%d", maxStaffingWeeks)
		}
		q.weeks = n
	}
	switch f := c.Query("format"); f {
	case "", "json":
	case "csv":
		q.csv = true
	default:
		return q, config.Invalid("format", "%q: want json or csv", f)
	}
	return q, nil
}

// staffingReport answers GET /api/v1/reports/staffing: per weekday ×
// 15-minute interval of the last weeks, the queue's load and the agents
// Erlang C and Erlang A ask for beside those who were logged in
// (docs/reports.md).
func (s *Server) staffingReport(c *gin.Context) {
	st, ok := s.opts.Store.(staffingStore)
	if !ok {
		s.fail(c, &apiError{http.StatusServiceUnavailable, "unavailable", "the store has no call-event log", ""})
		return
	}
	q, err := parseStaffingQuery(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx, org := c.Request.Context(), actor(c).OrgID
	queue, err := st.GetQueue(ctx, org, q.queue)
	if err != nil {
		s.fail(c, err)
		return
	}
	loc := callflow.Location()
	w := staffing.Window{Until: s.opts.Now().Truncate(staffing.IntervalLength), Weeks: q.weeks, Location: loc,
		Target: float64(queue.ServiceLevelSeconds), DefaultAHT: float64(queue.HandleTimeSeconds),
		Goal: staffing.Goal{SL: float64(queue.ServiceLevelPercent) / 100, MaxOccupancy: float64(queue.MaxOccupancyPercent) / 100}}
	h, err := staffing.NewHistory(w)
	if err != nil {
		s.fail(c, err)
		return
	}
	var bad int
	_, err = st.QueueHistory(ctx, org, q.queue, w.Since(), w.Until, config.QueueHistoryReaders{
		Call: func(e config.CallEvent) error { h.Call(staffingEvent(e)); return nil },
		Agent: func(e config.CallEvent) error {
			if h.Agent(staffingEvent(e)) != nil {
				bad++ // an event the engine did not write; skipped
			}
			return nil
		},
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	if bad > 0 {
		s.log.Warn("staffing: agent state events without their states skipped", "queue", queue.ID, "events", bad)
	}
	plan := h.Plan()
	out := staffingResponse{
		Queue: staffingQueueJSON{ID: queue.ID, Name: queue.Name, DisplayName: queue.DisplayName},
		Weeks: plan.Weeks, Since: plan.Since.UTC(), Until: plan.Until.UTC(), TimeZone: loc.String(),
		IntervalMinutes: int(staffing.IntervalLength / time.Minute),
		Goal: staffingGoalJSON{ServiceLevelPercent: queue.ServiceLevelPercent, ServiceLevelSeconds: queue.ServiceLevelSeconds,
			MaxOccupancyPercent: queue.MaxOccupancyPercent},
		AHTSeconds: round(plan.AHT, 1), PatienceSeconds: finiteOrNull(plan.Patience, 1),
		Intervals: make([]staffingIntervalJSON, 0, len(plan.Intervals)),
	}
	for _, iv := range plan.Intervals {
		out.Intervals = append(out.Intervals, staffingIntervalJSON{
			Weekday: weekdayNames[iv.Weekday], Start: time.Date(2000, 1, 1, 0, iv.Start, 0, 0, time.UTC).Format("15:04"),
			Occurrences: iv.Count, Arrivals: round(iv.Arrivals, 3), Answered: round(iv.Answered, 3), Abandoned: round(iv.Abandoned, 3),
			AHTSeconds: round(iv.AHT, 1), AbandonRate: round(iv.AbandonRate, 4), PatienceSeconds: finiteOrNull(iv.Patience, 1),
			LoggedIn: round(iv.LoggedIn, 3), ErlangC: staffNeed(iv.ErlangC, false), ErlangA: staffNeed(iv.ErlangA, true),
		})
	}
	if q.csv {
		writeStaffingCSV(c, out)
		return
	}
	c.JSON(http.StatusOK, out)
}

// writeStaffingCSV writes the intervals as CSV, one row each, with a
// header; an absent figure (no patience, a goal out of reach) is empty.
func writeStaffingCSV(c *gin.Context, r staffingResponse) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="staffing-%d.csv"`, r.Queue.ID))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"weekday", "start", "occurrences", "arrivals", "answered", "abandoned", "aht_seconds", "abandon_rate",
		"patience_seconds", "logged_in", "erlang_c_agents", "erlang_c_service_level", "erlang_c_occupancy", "erlang_c_asa_seconds",
		"erlang_a_agents", "erlang_a_service_level", "erlang_a_occupancy", "erlang_a_abandon_rate"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	opt := func(x *float64) string {
		if x == nil {
			return ""
		}
		return f(*x)
	}
	need := func(n *staffNeedJSON, extra *float64) []string {
		if n == nil {
			return []string{"", "", "", ""}
		}
		return []string{strconv.Itoa(n.Agents), f(n.ServiceLevel), f(n.Occupancy), opt(extra)}
	}
	for _, iv := range r.Intervals {
		row := []string{iv.Weekday, iv.Start, strconv.Itoa(iv.Occurrences), f(iv.Arrivals), f(iv.Answered), f(iv.Abandoned),
			f(iv.AHTSeconds), f(iv.AbandonRate), opt(iv.PatienceSeconds), f(iv.LoggedIn)}
		var asa, ab *float64
		if iv.ErlangC != nil {
			asa = iv.ErlangC.ASASeconds
		}
		if iv.ErlangA != nil {
			ab = iv.ErlangA.AbandonRate
		}
		row = append(row, need(iv.ErlangC, asa)...)
		row = append(row, need(iv.ErlangA, ab)...)
		_ = w.Write(row)
	}
	w.Flush()
}

var weekdayNames = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

func staffingEvent(e config.CallEvent) staffing.Event {
	return staffing.Event{At: e.At, Kind: e.Kind, Call: e.CallID, Agent: e.Agent, WaitMS: e.WaitMS, Data: e.Data}
}

func staffNeed(s staffing.Staff, erlangA bool) *staffNeedJSON {
	if !s.OK {
		return nil
	}
	out := &staffNeedJSON{Agents: s.Agents, ServiceLevel: round(s.SL, 4), Occupancy: round(s.Occupancy, 4), WaitProbability: round(s.PWait, 4)}
	if erlangA {
		v := round(s.PAbandon, 4)
		out.AbandonRate = &v
	} else {
		v := round(s.ASA, 1)
		out.ASASeconds = &v
	}
	return out
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func finiteOrNull(x float64, digits int) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	v := round(x, digits)
	return &v
}
