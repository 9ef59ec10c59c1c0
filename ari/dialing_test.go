package ari_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// hasChannel reports whether Asterisk has a channel whose name starts with
// prefix.
func hasChannel(t *testing.T, e *env, prefix string) bool {
	t.Helper()
	chs, err := e.cli.ListChannels(context.Background())
	if err != nil {
		t.Fatalf("list channels: %v", err)
	}
	for _, ch := range chs {
		if strings.HasPrefix(ch.Name, prefix) {
			return true
		}
	}
	return false
}

// TestTransferToNumberUsesTheCallsOrganisation: an agent's transfer to a
// number goes out through the trunk of the call's organisation, not the
// installation-wide one; a dial string outside the organisation's limits
// is refused and the agent keeps the citizen.
func TestTransferToNumberUsesTheCallsOrganisation(t *testing.T) {
	pbx := newAsterisk(t)
	cfg := config(q1(), agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}})
	cfg.OrgDialing = map[string]ari.OrgDialing{"kommune": {
		Policy: callflow.DialPolicy{Trunk: "Local/{number}@omstil-test-agents", Endpoints: []string{"PJSIP/kommune-*"},
			// (the agents' own phones are in the test context)
			LocalContexts: []string{"omstil-test-agents"}},
		CallerID: `"Kommunen" <70101010>`,
	}}
	e := startWith(t, pbx, newShiftedClock(mondayMorning), cfg, func(o *ari.Options) {
		o.CallbackEndpoint = "Local/{number}@another-municipality"
	})
	e.ready("anna")
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("anna talks to the citizen", func() bool { return hasEvent(e, id, ari.CallBridged, "") })
	ctx := context.Background()

	for _, dest := range []string{"PJSIP/faxe-1001", "PJSIP/kommune-1@faxe-trunk", "Console/dsp", "Local/1000@omstil-inbound", "PJSIP/kommune-1,30,tT"} {
		err := e.ad.TransferToNumber(ctx, "anna", queue.CallID(id), dest)
		var r *ari.Refusal
		if !errors.As(err, &r) || r.Reason != ari.RefusedNotAllowed {
			t.Fatalf("TransferToNumber(%q) = %v, want a not-allowed refusal", dest, err)
		}
	}
	if c, ok := e.call(id); !ok || c.Agent != "anna" || hasEvent(e, id, ari.CallTransferred, "") {
		t.Fatalf("after refused transfers: %+v, want the citizen still with anna", c)
	}

	if err := e.ad.TransferToNumber(ctx, "anna", queue.CallID(id), "150"); err != nil {
		t.Fatalf("TransferToNumber(150): %v", err)
	}
	e.eventually("the citizen is transferred", func() bool { return hasEvent(e, id, ari.CallTransferred, "") })
	e.eventually("the number is dialled through the organisation's trunk", func() bool {
		return hasChannel(t, e, "Local/150@omstil-test-agents")
	})
	if hasChannel(t, e, "Local/150@another-municipality") {
		t.Fatal("the number went out through the installation-wide trunk")
	}
}

// TestFlowTransferOutsideDialLimitsIsRefused: a flow whose transfer step
// dials outside the organisation's limits (saved before the limits were
// narrowed, or by a caller that did not check) hangs the call up rather
// than dialling.
func TestFlowTransferOutsideDialLimitsIsRefused(t *testing.T) {
	pbx := newAsterisk(t)
	cfg := config(q1())
	cfg.Numbers["70109090"] = ari.NumberConfig{Org: "kommune", Flow: &callflow.Flow{Name: "videre", Start: "videre", Steps: []callflow.Step{
		{ID: "videre", Kind: callflow.KindTransfer, Transfer: &callflow.TransferStep{Destination: "Local/199@omstil-test-agents-other"}},
	}}}
	cfg.Numbers["70108080"] = ari.NumberConfig{Org: "no-limits", Flow: &callflow.Flow{Name: "nummer", Start: "videre", Steps: []callflow.Step{
		{ID: "videre", Kind: callflow.KindTransfer, Transfer: &callflow.TransferStep{Destination: "+4512345678"}},
	}}}
	e := start(t, pbx, newShiftedClock(mondayMorning), cfg)
	for _, tc := range []struct{ number, reason string }{
		{"70109090", ari.RefusedNotAllowed},
		{"70108080", ari.RefusedNoRoute}, // an organisation without limits dials nothing
	} {
		id := pbx.placeCall(t, tc.number, "+4512345678")
		e.eventually("the transfer is refused", func() bool { return hasEvent(e, id, ari.CallFlowError, "transfer refused: "+tc.reason) })
		e.eventually("the call is hung up", func() bool { return hasEvent(e, id, ari.CallHungUp, "") })
		if hasEvent(e, id, ari.CallTransferred, "") {
			t.Fatalf("%s: the call was transferred", tc.number)
		}
	}
	if hasChannel(t, e, "Local/199@") {
		t.Fatal("the refused destination was dialled")
	}
}

// TestConsultNumberUsesTheCallsOrganisation: an attended transfer to a
// number needs the organisation's trunk; one outside its limits is
// refused.
func TestConsultNumberOutsideDialLimitsIsRefused(t *testing.T) {
	pbx := newAsterisk(t)
	cfg := config(q1(), agentSpec{"anna", pbx.agent("answer", 1), []queue.QueueID{"q1"}})
	cfg.OrgDialing = map[string]ari.OrgDialing{"kommune": {Policy: callflow.DialPolicy{LocalContexts: []string{"omstil-test-agents"}}}}
	e := start(t, pbx, newShiftedClock(mondayMorning), cfg)
	e.ready("anna")
	id := pbx.placeCall(t, "70102020", "+4512345678")
	e.eventually("anna talks to the citizen", func() bool { return hasEvent(e, id, ari.CallBridged, "") })
	ctx := context.Background()
	for _, tc := range []struct{ to, reason string }{
		{"177", ari.RefusedNoRoute}, // no trunk
		{"PJSIP/faxe-1", ari.RefusedNotAllowed},
	} {
		err := e.ad.Consult(ctx, "anna", queue.CallID(id), ari.ConsultTarget{Kind: ari.ConsultNumber, To: tc.to})
		var r *ari.Refusal
		if !errors.As(err, &r) || r.Reason != tc.reason {
			t.Fatalf("Consult(%q) = %v, want %s", tc.to, err, tc.reason)
		}
	}
	if hasEvent(e, id, ari.CallConsult, "") {
		t.Fatal("a refused consultation was dialled")
	}
}

// channelCaller is the caller ID number of the channel omstil originated
// whose name starts with prefix (of a Local channel, the ;1 half in the
// app), and whether there is one with a caller ID yet (Asterisk lists a
// new channel for a moment before the originate's caller ID is on it).
func channelCaller(t *testing.T, e *env, prefix string) (string, bool) {
	t.Helper()
	chs, err := e.cli.ListChannels(context.Background())
	if err != nil {
		t.Fatalf("list channels: %v", err)
	}
	for _, ch := range chs {
		if strings.HasPrefix(ch.Name, prefix) && !strings.HasSuffix(ch.Name, ";2") && ch.Caller.Number != "" {
			return ch.Caller.Number, true
		}
	}
	return "", false
}

// TestFlowTransferShowsTheCitizenInsideThePBX: a flow's transfer to a
// destination inside the PBX (a FreePBX ring group or voicemail through a
// Local context) presents the citizen's number, so that staff see who
// calls and a voicemail can be returned; a transfer to a number goes out
// through the trunk with the organisation's caller ID.
func TestFlowTransferShowsTheCitizenInsideThePBX(t *testing.T) {
	pbx := newAsterisk(t)
	cfg := config(q1())
	cfg.OrgDialing = map[string]ari.OrgDialing{"kommune": {
		Policy:   callflow.DialPolicy{Trunk: "Local/{number}@omstil-test-agents", LocalContexts: []string{"omstil-test-agents"}},
		CallerID: `"Kommunen" <70101010>`,
	}}
	transfer := func(dest string) *callflow.Flow {
		return &callflow.Flow{Name: "videre", Start: "videre", Steps: []callflow.Step{
			{ID: "videre", Kind: callflow.KindTransfer, Transfer: &callflow.TransferStep{Destination: dest}},
		}}
	}
	cfg.Numbers["70107070"] = ari.NumberConfig{Org: "kommune", Flow: transfer("Local/160@omstil-test-agents")}
	cfg.Numbers["70106060"] = ari.NumberConfig{Org: "kommune", Flow: transfer("170")}
	e := start(t, pbx, newShiftedClock(mondayMorning), cfg)

	pbx.placeCall(t, "70107070", "+4512345678")
	var inside, outside string
	e.eventually("the ring group is dialled", func() bool {
		var ok bool
		inside, ok = channelCaller(t, e, "Local/160@omstil-test-agents")
		return ok
	})
	if inside != "+4512345678" {
		t.Errorf("inside the PBX the transfer shows %q, want the citizen's +4512345678", inside)
	}
	pbx.placeCall(t, "70106060", "+4512345678")
	e.eventually("the number is dialled", func() bool {
		var ok bool
		outside, ok = channelCaller(t, e, "Local/170@omstil-test-agents")
		return ok
	})
	if outside != "70101010" {
		t.Errorf("a number is dialled showing %q, want the organisation's 70101010", outside)
	}
}
