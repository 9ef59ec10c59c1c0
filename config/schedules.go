package config

import (
	"context"
	"fmt"
	"time"

	"github.com/omstil/omstil/callflow"
	"gorm.io/gorm"
)

// Schedule is a saved set of opening hours that flows refer to by Name.
type Schedule struct {
	ID         ScheduleID
	OrgID      OrgID
	Name       string
	Definition callflow.Schedule `gorm:"serializer:json"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewSchedule is what it takes to create a schedule.
type NewSchedule struct {
	OrgID      OrgID
	Name       string
	Definition callflow.Schedule
}

// SchedulePatch changes some fields of a schedule; nil fields stay.
type SchedulePatch struct {
	Name       *string
	Definition *callflow.Schedule
}

func scheduleView(s Schedule) map[string]any {
	return map[string]any{"id": s.ID, "name": s.Name, "definition": s.Definition}
}

func validSchedule(name string, def *callflow.Schedule) error {
	if err := validName("name", name); err != nil {
		return err
	}
	def.Name = name
	if err := def.Validate(); err != nil {
		return err
	}
	return nil
}

// CreateSchedule validates and stores a schedule, audited.
func (s *Store) CreateSchedule(ctx context.Context, actor Actor, n NewSchedule) (Schedule, error) {
	if err := validSchedule(n.Name, &n.Definition); err != nil {
		return Schedule{}, err
	}
	sc := Schedule{OrgID: actor.OrgID, Name: n.Name, Definition: n.Definition}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertSchedule(tx, actor, &sc) })
	return sc, wrapErr("create", "schedule", nil, err)
}

// insertSchedule stores a validated schedule inside a change, audited.
func (s *Store) insertSchedule(tx *gorm.DB, actor Actor, sc *Schedule) error {
	if err := uniqueName(tx, &Schedule{}, actor.OrgID, sc.Name, 0, "schedule"); err != nil {
		return err
	}
	if err := tx.Create(sc).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "schedule", sc.ID, nil, scheduleView(*sc))
}

// uniqueName refuses a name already taken in the organisation (a clear
// message rather than a constraint error).
func uniqueName(tx *gorm.DB, model any, org OrgID, name string, except int64, kind string) error {
	var n int64
	if err := tx.Model(model).Where("org_id = ? AND name = ? AND id <> ?", org, name, except).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &ConflictError{Field: "name", Message: fmt.Sprintf("a %s named %q already exists", kind, name)}
	}
	return nil
}

// GetSchedule loads a schedule of an organisation.
func (s *Store) GetSchedule(ctx context.Context, org OrgID, id ScheduleID) (Schedule, error) {
	var sc Schedule
	err := s.db.WithContext(ctx).Where("id = ? AND org_id = ?", id, org).First(&sc).Error
	return sc, wrapErr("load", "schedule", id, err)
}

// ListSchedules lists an organisation's schedules by name.
func (s *Store) ListSchedules(ctx context.Context, org OrgID) ([]Schedule, error) {
	var out []Schedule
	err := s.db.WithContext(ctx).Where("org_id = ?", org).Order("name").Find(&out).Error
	return out, wrapErr("list", "schedules", nil, err)
}

// UpdateSchedule applies a patch, audited. A schedule that flows use
// cannot be renamed.
func (s *Store) UpdateSchedule(ctx context.Context, actor Actor, id ScheduleID, p SchedulePatch) (Schedule, error) {
	var out Schedule
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var sc Schedule
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&sc).Error; err != nil {
			return err
		}
		before := scheduleView(sc)
		oldName := sc.Name
		if p.Name != nil {
			sc.Name = *p.Name
		}
		if p.Definition != nil {
			sc.Definition = *p.Definition
		}
		if err := validSchedule(sc.Name, &sc.Definition); err != nil {
			return err
		}
		if sc.Name != oldName {
			if err := uniqueName(tx, &Schedule{}, actor.OrgID, sc.Name, int64(id), "schedule"); err != nil {
				return err
			}
			if err := inUse(tx, actor.OrgID, "schedule", oldName); err != nil {
				return err
			}
		}
		if err := tx.Save(&sc).Error; err != nil {
			return err
		}
		out = sc
		return s.audit(tx, actor, "update", "schedule", sc.ID, before, scheduleView(sc))
	})
	return out, wrapErr("update", "schedule", id, err)
}

// DeleteSchedule removes a schedule no flow uses, audited.
func (s *Store) DeleteSchedule(ctx context.Context, actor Actor, id ScheduleID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var sc Schedule
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&sc).Error; err != nil {
			return err
		}
		if err := inUse(tx, actor.OrgID, "schedule", sc.Name); err != nil {
			return err
		}
		if err := tx.Delete(&sc).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "schedule", sc.ID, scheduleView(sc), nil)
	})
	return wrapErr("delete", "schedule", id, err)
}
