package ari

import (
	"errors"
	"maps"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// OrgDialing is what one organisation's calls may dial and how: the one
// rule (callflow.DialPolicy) applied at call time to callbacks, flow
// transfer steps, agents' transfers to a number and consultations of a
// number, whatever the layers above checked when the configuration was
// saved.
type OrgDialing struct {
	// Policy: numbers go out through Policy.Trunk (or Options.
	// CallbackEndpoint when Policy.InstallationTrunk and no Trunk), dial
	// strings only when the policy allows them.
	Policy callflow.DialPolicy
	// CallerID shown to citizens on callbacks and transfers to numbers;
	// empty: Options.CallerID when Policy.InstallationTrunk, else none.
	CallerID string
}

// RefusedNotAllowed: the destination is outside the dial limits of the
// call's organisation.
const RefusedNotAllowed = "not-allowed"

func cloneDialing(m map[string]OrgDialing) map[string]OrgDialing {
	if m == nil {
		return map[string]OrgDialing{}
	}
	return maps.Clone(m)
}

// dialOut is the endpoint and caller ID that reach dest for call c, from
// the dial limits of the call's organisation; an organisation without
// limits may dial nothing. The refusal never repeats dest: a callback's
// destination is a citizen's number, and refusals are logged.
//
// A number goes out through the trunk showing the organisation's caller
// ID. A dial string names a destination inside the PBX (a Local context or
// an endpoint the organisation may dial: a FreePBX ring group, voicemail,
// IVR, a colleague's phone), which shows the citizen's number, so that
// staff see who calls and a voicemail can be returned; a withheld number
// stays withheld.
func (a *Adapter) dialOut(c *call, dest string) (endpoint, callerID string, err error) {
	d, ok := a.cfg.dialing[c.org]
	if !ok {
		return "", "", refuse(RefusedNoRoute, "the call's organisation has no dial limits; a system administrator sets them (omstil org set)")
	}
	ep, err := d.Policy.Dial(dest, a.opt.CallbackEndpoint)
	if err != nil {
		reason, detail := RefusedNotAllowed, err.Error()
		var de *callflow.DialError
		if errors.As(err, &de) {
			detail = de.Reason
		}
		if callflow.IsNumber(dest) {
			reason = RefusedNoRoute
		}
		return "", "", refuse(reason, "%s", detail)
	}
	if !callflow.IsNumber(dest) {
		if callflow.MaskNumber(c.caller) == "anonymous" {
			return ep, "", nil
		}
		return ep, c.caller, nil
	}
	callerID = d.CallerID
	if callerID == "" && d.Policy.InstallationTrunk {
		callerID = a.opt.CallerID
	}
	return ep, callerID, nil
}

// callbackDial is dialOut for a callback whose call may be gone (nil).
func (a *Adapter) callbackDial(c *call, number string) (endpoint, callerID string, err error) {
	if c == nil {
		return "", "", refuse(RefusedState, "the call is gone")
	}
	return a.dialOut(c, number)
}

// refusalReason is a refusal's reason word (the error's text for others).
func refusalReason(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return err.Error()
}

// dialAllowed reports whether an agent's endpoint dial string is inside
// the dial limits of the agent's organisation in cfg. The store checks it
// when the agent is saved and refuses limits that would strand it; Reload
// leaves out an agent that fails it anyway, so a desk phone of another
// municipality is never rung also when something above forgot.
func dialAllowed(cfg config, ag queue.AgentID, dial string) bool {
	d, ok := cfg.dialing[cfg.agentOrg[ag]]
	return ok && d.Policy.Check(dial) == nil
}
