package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
)

// TestNumberOwnedByAnotherOrganisation: a number the default organisation
// routes (+4570101010) is refused to another organisation in every
// spelling, with a 409 on field number that neither names nor hints at
// the owner; a free number is stored canonical and shown as typed.
func TestNumberOwnedByAnotherOrganisation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.callSetup()
	ctx := context.Background()
	faxe, err := f.store.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	sys := config.SystemActor(faxe.ID)
	admin, err := f.store.CreateUser(ctx, sys, config.NewUser{OrgID: faxe.ID, Username: "faxeadmin", Password: testPassword, Role: config.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := f.store.CreateToken(ctx, sys, admin.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	var def callflow.Flow
	if err := json.Unmarshal([]byte(`{"start":"h","steps":[{"id":"h","kind":"hangup"}]}`), &def); err != nil {
		t.Fatal(err)
	}
	fl, err := f.store.CreateFlow(ctx, sys, "hoved", def)
	if err != nil {
		t.Fatal(err)
	}
	w := f.do(req{method: "POST", path: "/api/v1/numbers", token: tok, body: fmt.Sprintf(`{"number":"70 20 30 40","flow_id":%d}`, fl.ID)})
	if w.Code != 201 {
		t.Fatalf("create a free number: %d %s", w.Code, w.Body)
	}
	var mine struct {
		ID              int64
		Number, Display string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &mine); err != nil || mine.Number != "+4570203040" || mine.Display != "70 20 30 40" {
		t.Fatalf("created %s (%v): want number +4570203040, display as typed", w.Body, err)
	}
	refused := func(what string, r req) {
		t.Helper()
		w := f.do(r)
		var body struct {
			Error struct{ Code, Message, Field string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 409 || body.Error.Field != "number" {
			t.Errorf("%s: %d %s, want 409 on field number", what, w.Code, w.Body)
			return
		}
		for _, hint := range []string{"default", "Default", "organisation", "routed", "hovednummer"} {
			if strings.Contains(body.Error.Message, hint) {
				t.Errorf("%s: message %q hints at the owner (%q)", what, body.Error.Message, hint)
			}
		}
	}
	for _, spelling := range []string{"+4570101010", "4570101010", "004570101010", "70101010", "70 10 10 10", "+45 70-10-10-10"} {
		refused("create "+spelling, req{method: "POST", path: "/api/v1/numbers", token: tok,
			body: fmt.Sprintf(`{"number":%q,"flow_id":%d}`, spelling, fl.ID)})
		refused("patch to "+spelling, req{method: "PATCH", path: fmt.Sprintf("/api/v1/numbers/%d", mine.ID), token: tok,
			body: fmt.Sprintf(`{"number":%q}`, spelling)})
	}
	// Nothing changed: faxe has its one number, the owner still routes its own.
	w = f.do(req{method: "GET", path: "/api/v1/numbers", token: tok})
	if w.Code != 200 || strings.Count(w.Body.String(), `"id"`) != 1 || !strings.Contains(w.Body.String(), `"number":"+4570203040"`) {
		t.Fatalf("faxe's numbers after the refusals: %d %s", w.Code, w.Body)
	}
	w = f.do(req{method: "GET", path: "/api/v1/numbers", token: f.tokens[config.RoleAdmin]})
	if !strings.Contains(w.Body.String(), `"number":"+4570101010"`) {
		t.Fatalf("owner's numbers: %s", w.Body)
	}
	// A number that is no number is a 400 on the same field.
	w = f.do(req{method: "POST", path: "/api/v1/numbers", token: tok, body: fmt.Sprintf(`{"number":"123456789","flow_id":%d}`, fl.ID)})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"number"`) {
		t.Fatalf("9-digit number: %d %s", w.Code, w.Body)
	}
}
