package config

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/omstil/omstil/callflow"
	"gorm.io/gorm"
)

// UpgradeDialPolicy is what migration 00007 gives the default organisation,
// so that an installation upgraded from a single-organisation omstil keeps
// dialling what it dialled before: any PJSIP, SIP, IAX2 or DAHDI endpoint,
// Local into any context, numbers through OMSTIL_CALLBACK_ENDPOINT. A
// system administrator narrows it before a second organisation shares the
// Asterisk (omstil org set --slug default ...).
var UpgradeDialPolicy = callflow.DialPolicy{
	Endpoints:         []string{"PJSIP/*", "PJSIP/*@*", "SIP/*", "SIP/*@*", "IAX2/*", "IAX2/*@*", "DAHDI/*", "DAHDI/*/*"},
	InstallationTrunk: true,
	LocalContexts:     []string{"*"},
}

// DialPolicy is what the organisation may dial.
func (o Organisation) DialPolicy() callflow.DialPolicy {
	return callflow.DialPolicy{Endpoints: slices.Clone(o.DialEndpoints), Trunk: o.DialTrunk,
		InstallationTrunk: o.DialInstallationTrunk, LocalContexts: slices.Clone(o.DialLocalContexts)}
}

func orgView(o Organisation) map[string]any {
	return map[string]any{"id": o.ID, "slug": o.Slug, "name": o.Name, "endpoints": o.DialEndpoints, "trunk": o.DialTrunk,
		"installation_trunk": o.DialInstallationTrunk, "local_contexts": o.DialLocalContexts, "caller_id": o.CallerID,
		"pseudonymise_after_days": o.RetentionPseudonymiseDays, "delete_after_months": o.RetentionDeleteMonths}
}

// CreateOrg adds an organisation (a municipality sharing the
// installation) as omstil itself (the command line). It may dial nothing
// until a system administrator sets its limits (UpdateOrg).
func (s *Store) CreateOrg(ctx context.Context, slug, name string) (Organisation, error) {
	return s.CreateOrgAs(ctx, Actor{Username: "system"}, slug, name)
}

// CreateOrgAs adds an organisation, audited in the new organisation's log
// as actor's change. Its slug prefixes its queues' engine IDs, so it
// cannot change later.
func (s *Store) CreateOrgAs(ctx context.Context, actor Actor, slug, name string) (Organisation, error) {
	if !orgSlugRE.MatchString(slug) {
		return Organisation{}, Invalid("slug", "must be 2-32 characters: lower-case letters, digits and -, starting with a letter or digit")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 {
		return Organisation{}, Invalid("name", "must be 1-128 characters")
	}
	if err := validText("name", name, 128); err != nil {
		return Organisation{}, err
	}
	o := Organisation{Slug: slug, Name: name, DialEndpoints: []string{}, DialLocalContexts: []string{}, CreatedAt: s.now().UTC(),
		RetentionPseudonymiseDays: DefaultRetention.PseudonymiseDays, RetentionDeleteMonths: DefaultRetention.DeleteMonths}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&o).Error; err != nil {
			return err
		}
		actor.OrgID = o.ID
		return s.audit(tx, actor, "create", "organisation", o.ID, nil, orgView(o))
	})
	if err != nil {
		return Organisation{}, fmt.Errorf("config: create organisation %q: %w", slug, mapErr(err))
	}
	return o, nil
}

// ListOrgs lists every organisation by slug (for system administrators).
func (s *Store) ListOrgs(ctx context.Context) ([]Organisation, error) {
	var out []Organisation
	if err := s.db.WithContext(ctx).Order("slug").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("config: list organisations: %w", err)
	}
	return out, nil
}

// OrgPatch changes an organisation's name, dial limits and retention;
// nil fields stay.
type OrgPatch struct {
	Name              *string
	Endpoints         *[]string
	Trunk             *string
	InstallationTrunk *bool
	LocalContexts     *[]string
	CallerID          *string
	PseudonymiseDays  *int // Retention.PseudonymiseDays
	DeleteMonths      *int // Retention.DeleteMonths
}

// StrandedError refuses dial limits that saved agents or flows are
// outside of. errors.Is(err, ErrInUse) holds.
type StrandedError struct {
	By []string // e.g. "agent 'Karen' (PJSIP/faxe-1)"
}

func (e *StrandedError) Error() string {
	return "these would be outside the new dial limits; change them first: " + strings.Join(e.By, ", ")
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *StrandedError) Is(target error) bool { return target == ErrInUse }

// UpdateOrg changes an organisation's name, what it may dial and how long
// it keeps citizens' numbers, audited
// in that organisation's log (actor.OrgID is ignored). Limits that would
// leave a saved agent's dial string or a flow's transfer step outside are
// refused with a *StrandedError listing them: the call-time check would
// refuse those calls anyway, and an admin learns it now rather than from
// a citizen whose transfer failed.
func (s *Store) UpdateOrg(ctx context.Context, actor Actor, id OrgID, p OrgPatch) (Organisation, error) {
	var out Organisation
	err := s.change(ctx, id, func(tx *gorm.DB) error {
		var o Organisation
		if err := tx.Where("id = ?", id).First(&o).Error; err != nil {
			return err
		}
		before := orgView(o)
		if p.Name != nil {
			n := strings.TrimSpace(*p.Name)
			if n == "" || len(n) > 128 {
				return Invalid("name", "must be 1-128 characters")
			}
			if err := validText("name", n, 128); err != nil {
				return err
			}
			o.Name = n
		}
		if p.Endpoints != nil {
			o.DialEndpoints = cleanList(*p.Endpoints)
		}
		if p.Trunk != nil {
			o.DialTrunk = strings.TrimSpace(*p.Trunk)
		}
		if p.InstallationTrunk != nil {
			o.DialInstallationTrunk = *p.InstallationTrunk
		}
		if p.LocalContexts != nil {
			o.DialLocalContexts = cleanList(*p.LocalContexts)
		}
		if p.CallerID != nil {
			o.CallerID = strings.TrimSpace(*p.CallerID)
			if err := validText("caller_id", o.CallerID, 80); err != nil {
				return err
			}
		}
		if p.PseudonymiseDays != nil {
			o.RetentionPseudonymiseDays = *p.PseudonymiseDays
		}
		if p.DeleteMonths != nil {
			o.RetentionDeleteMonths = *p.DeleteMonths
		}
		if err := o.Retention().Validate(); err != nil {
			return err
		}
		pol := o.DialPolicy()
		if err := pol.Validate(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			return Invalid(field, "%s", msg)
		}
		by, err := stranded(tx, o.ID, pol)
		if err != nil {
			return err
		}
		if len(by) > 0 {
			return &StrandedError{By: by}
		}
		if err := tx.Save(&o).Error; err != nil {
			return err
		}
		out = o
		actor.OrgID = o.ID
		return s.audit(tx, actor, "update", "organisation", o.ID, before, orgView(o))
	})
	if err != nil {
		var se *StrandedError
		var ve *ValidationError
		if errors.As(err, &se) || errors.As(err, &ve) {
			return Organisation{}, err
		}
		return Organisation{}, fmt.Errorf("config: update organisation %d: %w", id, mapErr(err))
	}
	return out, nil
}

func cleanList(in []string) []string {
	out := []string{}
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// stranded lists the organisation's agents and flows that dial outside p.
func stranded(tx *gorm.DB, org OrgID, p callflow.DialPolicy) ([]string, error) {
	var by []string
	var ags []Agent
	if err := tx.Where("org_id = ? AND device_kind = ?", org, DeviceEndpoint).Order("name").Find(&ags).Error; err != nil {
		return nil, err
	}
	for _, a := range ags {
		if p.Check(a.DialString) != nil {
			by = append(by, fmt.Sprintf("agent '%s' (%s)", a.Name, a.DialString))
		}
	}
	var fs []Flow
	if err := tx.Where("org_id = ?", org).Order("name").Find(&fs).Error; err != nil {
		return nil, err
	}
	for _, f := range fs {
		for _, st := range f.Definition.Steps {
			if st.Transfer != nil && p.Check(st.Transfer.Destination) != nil {
				by = append(by, fmt.Sprintf("flow '%s' step '%s' (%s)", f.Name, st.ID, st.Transfer.Destination))
			}
		}
	}
	return by, nil
}

// orgPolicy loads what an organisation may dial inside a transaction.
func orgPolicy(tx *gorm.DB, org OrgID) (callflow.DialPolicy, error) {
	var o Organisation
	if err := tx.Where("id = ?", org).First(&o).Error; err != nil {
		return callflow.DialPolicy{}, err
	}
	return o.DialPolicy(), nil
}

// checkAgentDial refuses an endpoint agent whose dial string is outside
// its organisation's dial limits.
func checkAgentDial(tx *gorm.DB, org OrgID, a *Agent) error {
	if a.DeviceKind != DeviceEndpoint {
		return nil
	}
	p, err := orgPolicy(tx, org)
	if err != nil {
		return err
	}
	if err := p.Check(a.DialString); err != nil {
		var de *callflow.DialError
		if errors.As(err, &de) {
			return Invalid("dial_string", "%q: %s", de.Dest, de.Reason)
		}
		return Invalid("dial_string", "%s", err.Error())
	}
	return nil
}
