package config

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/omstil/omstil/callflow"
	"gorm.io/gorm"
)

// Flow is a saved call flow. Definition.Name is kept equal to Name.
type Flow struct {
	ID         FlowID
	OrgID      OrgID
	Name       string
	Definition callflow.Flow `gorm:"serializer:json"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// FlowPatch changes some fields of a flow; nil fields stay.
type FlowPatch struct {
	Name       *string
	Definition *callflow.Flow
}

func flowView(f Flow) map[string]any {
	return map[string]any{"id": f.ID, "name": f.Name, "definition": f.Definition}
}

// validFlow checks the flow against what exists in the same transaction,
// so a flow is never saved referring to a queue being deleted at the same
// moment. The error is a *callflow.ValidationError naming the steps.
// Caller rules' numbers are saved in the form they are compared in.
func validFlow(tx *gorm.DB, org OrgID, name string, def *callflow.Flow) error {
	if err := validName("name", name); err != nil {
		return err
	}
	def.Name = name
	def.CanonicalizeNumbers()
	r, err := loadRefs(tx, org)
	if err != nil {
		return err
	}
	return def.Validate(r)
}

// CreateFlow validates and stores a flow, audited. A flow with a loop
// without a menu, a dangling branch or an unknown queue, announcement or
// schedule is refused with a *callflow.ValidationError.
func (s *Store) CreateFlow(ctx context.Context, actor Actor, name string, def callflow.Flow) (Flow, error) {
	if err := validName("name", name); err != nil {
		return Flow{}, err
	}
	f := Flow{OrgID: actor.OrgID, Name: name, Definition: def}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertFlow(tx, actor, &f) })
	return f, wrapErr("create", "flow", nil, err)
}

// insertFlow validates a flow against what exists in the transaction and
// stores it, audited.
func (s *Store) insertFlow(tx *gorm.DB, actor Actor, f *Flow) error {
	if err := uniqueName(tx, &Flow{}, actor.OrgID, f.Name, 0, "flow"); err != nil {
		return err
	}
	if err := validFlow(tx, actor.OrgID, f.Name, &f.Definition); err != nil {
		return err
	}
	if err := tx.Create(f).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "flow", f.ID, nil, flowView(*f))
}

// GetFlow loads a flow of an organisation.
func (s *Store) GetFlow(ctx context.Context, org OrgID, id FlowID) (Flow, error) {
	var f Flow
	err := s.db.WithContext(ctx).Where("id = ? AND org_id = ?", id, org).First(&f).Error
	return f, wrapErr("load", "flow", id, err)
}

// ListFlows lists an organisation's flows by name.
func (s *Store) ListFlows(ctx context.Context, org OrgID) ([]Flow, error) {
	var out []Flow
	err := s.db.WithContext(ctx).Where("org_id = ?", org).Order("name").Find(&out).Error
	return out, wrapErr("list", "flows", nil, err)
}

// UpdateFlow applies a patch, validated as CreateFlow, audited.
func (s *Store) UpdateFlow(ctx context.Context, actor Actor, id FlowID, p FlowPatch) (Flow, error) {
	var out Flow
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var f Flow
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&f).Error; err != nil {
			return err
		}
		before := flowView(f)
		if p.Name != nil && *p.Name != f.Name {
			if err := validName("name", *p.Name); err != nil {
				return err
			}
			if err := uniqueName(tx, &Flow{}, actor.OrgID, *p.Name, int64(id), "flow"); err != nil {
				return err
			}
			f.Name = *p.Name
		}
		if p.Definition != nil {
			f.Definition = *p.Definition
		}
		if err := validFlow(tx, actor.OrgID, f.Name, &f.Definition); err != nil {
			return err
		}
		if err := tx.Save(&f).Error; err != nil {
			return err
		}
		out = f
		return s.audit(tx, actor, "update", "flow", f.ID, before, flowView(f))
	})
	return out, wrapErr("update", "flow", id, err)
}

// DeleteFlow removes a flow no number leads to, audited.
func (s *Store) DeleteFlow(ctx context.Context, actor Actor, id FlowID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var f Flow
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&f).Error; err != nil {
			return err
		}
		var nums []string
		if err := tx.Model(&Number{}).Where("flow_id = ?", f.ID).Order("number").Pluck("number", &nums).Error; err != nil {
			return err
		}
		if len(nums) > 0 {
			by := make([]string, len(nums))
			for i, n := range nums {
				by[i] = "number " + n
			}
			return &InUseError{What: fmt.Sprintf("flow '%s'", f.Name), By: by}
		}
		if err := tx.Delete(&f).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "flow", f.ID, flowView(f), nil)
	})
	return wrapErr("delete", "flow", id, err)
}

// Number is an inbound number as the dialplan passes it to the Stasis
// app, and the flow its calls take. Number is the canonical form
// (callflow.CanonicalNumber: +4570101010, or a short number such as 1813),
// unique in the installation; Display is the number as the admin typed
// it, shown only.
type Number struct {
	ID          NumberID
	OrgID       OrgID
	Number      string
	Display     string
	FlowID      FlowID
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NumberPatch changes some fields of a number; nil fields stay.
type NumberPatch struct {
	Number      *string
	FlowID      *FlowID
	Description *string
}

// NormalizeNumber checks an inbound number and returns its canonical form
// (callflow.CanonicalNumber) and its display form (trimmed, at most 64
// characters).
func NormalizeNumber(n string) (canonical, display string, err error) {
	display = strings.TrimSpace(n)
	if err := validText("number", display, 64); err != nil {
		return "", "", err
	}
	canonical, err = callflow.CanonicalNumber(display)
	if err != nil {
		return "", "", Invalid("number", "%q is %v", display, err)
	}
	return canonical, display, nil
}

func numberView(n Number) map[string]any {
	return map[string]any{"id": n.ID, "number": n.Number, "display": n.Display, "flow_id": n.FlowID, "description": n.Description}
}

// numberTaken is the one answer to a number that cannot be routed because
// it is routed already, in this organisation or in another: it must not
// tell an organisation that another one owns the number, let alone which.
func numberTaken(canonical string) error {
	return &ConflictError{Field: "number", Message: fmt.Sprintf("%s is not available", canonical)}
}

func (s *Store) checkNumber(tx *gorm.DB, org OrgID, n *Number) error {
	var cnt int64
	if err := tx.Model(&Flow{}).Where("id = ? AND org_id = ?", n.FlowID, org).Count(&cnt).Error; err != nil {
		return err
	}
	if cnt == 0 {
		return Invalid("flow_id", "there is no flow %d in this organisation", n.FlowID)
	}
	if err := tx.Model(&Number{}).Where("number = ? AND id <> ?", n.Number, n.ID).Count(&cnt).Error; err != nil {
		return err
	}
	if cnt > 0 {
		return numberTaken(n.Number)
	}
	return nil
}

// CreateNumber routes an inbound number to a flow, audited.
func (s *Store) CreateNumber(ctx context.Context, actor Actor, number string, flow FlowID, description string) (Number, error) {
	n, err := newNumber(actor.OrgID, number, flow, description)
	if err != nil {
		return Number{}, err
	}
	err = s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertNumber(tx, actor, &n) })
	return n, wrapErr("create", "number", nil, err)
}

// newNumber checks what can be checked of a number without the database.
func newNumber(org OrgID, number string, flow FlowID, description string) (Number, error) {
	num, display, err := NormalizeNumber(number)
	if err != nil {
		return Number{}, err
	}
	if err := validText("description", description, 256); err != nil {
		return Number{}, err
	}
	return Number{OrgID: org, Number: num, Display: display, FlowID: flow, Description: description}, nil
}

// insertNumber stores a checked number inside a change, audited.
func (s *Store) insertNumber(tx *gorm.DB, actor Actor, n *Number) error {
	if err := s.checkNumber(tx, actor.OrgID, n); err != nil {
		return err
	}
	if err := tx.Create(n).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "number", n.ID, nil, numberView(*n))
}

// GetNumber loads a number of an organisation.
func (s *Store) GetNumber(ctx context.Context, org OrgID, id NumberID) (Number, error) {
	var n Number
	err := s.db.WithContext(ctx).Where("id = ? AND org_id = ?", id, org).First(&n).Error
	return n, wrapErr("load", "number", id, err)
}

// ListNumbers lists an organisation's numbers.
func (s *Store) ListNumbers(ctx context.Context, org OrgID) ([]Number, error) {
	var out []Number
	err := s.db.WithContext(ctx).Where("org_id = ?", org).Order("number").Find(&out).Error
	return out, wrapErr("list", "numbers", nil, err)
}

// UpdateNumber applies a patch, audited.
func (s *Store) UpdateNumber(ctx context.Context, actor Actor, id NumberID, p NumberPatch) (Number, error) {
	var display string
	if p.Number != nil {
		num, d, err := NormalizeNumber(*p.Number)
		if err != nil {
			return Number{}, err
		}
		p.Number, display = &num, d
	}
	if p.Description != nil {
		if err := validText("description", *p.Description, 256); err != nil {
			return Number{}, err
		}
	}
	var out Number
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var n Number
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&n).Error; err != nil {
			return err
		}
		before := numberView(n)
		if p.Number != nil {
			n.Number, n.Display = *p.Number, display
		}
		if p.FlowID != nil {
			n.FlowID = *p.FlowID
		}
		if p.Description != nil {
			n.Description = *p.Description
		}
		if err := s.checkNumber(tx, actor.OrgID, &n); err != nil {
			return err
		}
		if err := tx.Save(&n).Error; err != nil {
			return err
		}
		out = n
		return s.audit(tx, actor, "update", "number", n.ID, before, numberView(n))
	})
	return out, wrapErr("update", "number", id, err)
}

// DeleteNumber stops routing a number, audited.
func (s *Store) DeleteNumber(ctx context.Context, actor Actor, id NumberID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var n Number
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&n).Error; err != nil {
			return err
		}
		if err := tx.Delete(&n).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "number", n.ID, numberView(n), nil)
	})
	return wrapErr("delete", "number", id, err)
}

// FlowForNumber loads the flow an organisation's inbound number leads to,
// for the routing dry-run. number may be in any spelling CanonicalNumber
// accepts.
func (s *Store) FlowForNumber(ctx context.Context, org OrgID, number string) (Flow, error) {
	if c, err := callflow.CanonicalNumber(number); err == nil {
		number = c
	}
	var n Number
	if err := s.db.WithContext(ctx).Where("number = ? AND org_id = ?", number, org).First(&n).Error; err != nil {
		return Flow{}, wrapErr("load", "number", number, err)
	}
	return s.GetFlow(ctx, org, n.FlowID)
}
