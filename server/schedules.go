package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
)

type scheduleStore interface {
	ListSchedules(ctx context.Context, org config.OrgID) ([]config.Schedule, error)
	GetSchedule(ctx context.Context, org config.OrgID, id config.ScheduleID) (config.Schedule, error)
	CreateSchedule(ctx context.Context, actor config.Actor, n config.NewSchedule) (config.Schedule, error)
	UpdateSchedule(ctx context.Context, actor config.Actor, id config.ScheduleID, p config.SchedulePatch) (config.Schedule, error)
	DeleteSchedule(ctx context.Context, actor config.Actor, id config.ScheduleID) error
}

type scheduleResponse struct {
	ID         config.ScheduleID `json:"id"`
	Name       string            `json:"name"`
	Definition callflow.Schedule `json:"definition"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

func scheduleJSON(sc config.Schedule) scheduleResponse {
	return scheduleResponse{sc.ID, sc.Name, sc.Definition, sc.CreatedAt, sc.UpdatedAt}
}

type scheduleCreateRequest struct {
	Name       string            `json:"name"`
	Definition callflow.Schedule `json:"definition"`
}

type schedulePatchRequest struct {
	Name       *string            `json:"name"`
	Definition *callflow.Schedule `json:"definition"`
}

// Patch turns the request into the store's patch.
func (r schedulePatchRequest) Patch() config.SchedulePatch {
	return config.SchedulePatch{Name: r.Name, Definition: r.Definition}
}

func (s *Server) listSchedules(c *gin.Context) {
	readOrg(s, c, CallConfig.ListSchedules, each(scheduleJSON))
}

func (s *Server) getSchedule(c *gin.Context) {
	readByID(s, c, "schedule", CallConfig.GetSchedule, scheduleJSON)
}

func (s *Server) createSchedule(c *gin.Context) {
	write(s, c, http.StatusCreated, func(cc CallConfig, ctx context.Context, a config.Actor, req scheduleCreateRequest) (config.Schedule, error) {
		return cc.CreateSchedule(ctx, a, config.NewSchedule{Name: req.Name, Definition: req.Definition})
	}, scheduleJSON)
}

func (s *Server) patchSchedule(c *gin.Context) {
	patchByID[schedulePatchRequest](s, c, "schedule", CallConfig.UpdateSchedule, scheduleJSON)
}

func (s *Server) deleteSchedule(c *gin.Context) {
	deleteByID(s, c, "schedule", CallConfig.DeleteSchedule)
}

type holidaysResponse struct {
	Year     int                `json:"year"`
	Schedule *config.ScheduleID `json:"schedule_id,omitempty"`
	Days     []callflow.Holiday `json:"days"`
}

// holidays lists the Danish public holidays of a year, or with
// schedule_id the days on which that schedule does not follow its weekly
// hours (its closing and special days too).
func (s *Server) holidays(c *gin.Context) {
	year := s.opts.Now().In(callflow.Location()).Year()
	if v := c.Query("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1900 || n > 2200 {
			s.fail(c, &apiError{http.StatusBadRequest, "invalid", "year: want a year 1900-2200", "year"})
			return
		}
		year = n
	}
	out := holidaysResponse{Year: year}
	if v := c.Query("schedule_id"); v != "" {
		cc, ok := s.callConfig(c)
		if !ok {
			return
		}
		id, err := config.ParseID("schedule_id", v)
		if err != nil {
			s.fail(c, err)
			return
		}
		sc, err := cc.GetSchedule(c.Request.Context(), actor(c).OrgID, config.ScheduleID(id))
		if err != nil {
			s.fail(c, err)
			return
		}
		sid := sc.ID
		out.Schedule = &sid
		out.Days = sc.Definition.Holidays(year)
	} else {
		out.Days = callflow.PublicHolidays(year)
	}
	if out.Days == nil {
		out.Days = []callflow.Holiday{}
	}
	c.JSON(http.StatusOK, out)
}
