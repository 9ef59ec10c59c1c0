package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
)

// A data subject's export and delete: admins only, their own
// organisation's records only, audited without the number.
func TestGDPRExportAndDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	faxe, err := f.store.CreateOrg(ctx, "faxe", "Faxe Kommune")
	if err != nil {
		t.Fatal(err)
	}
	sys := config.SystemActor(faxe.ID)
	fa, err := f.store.CreateUser(ctx, sys, config.NewUser{OrgID: faxe.ID, Username: "faxeadmin", Password: testPassword, Role: config.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	faxeTok, _, err := f.store.CreateToken(ctx, sys, fa.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	at := f.now.Add(-time.Hour)
	if err := f.store.AppendCallEvents(ctx, []config.CallEvent{
		{OrgID: f.org, At: at, CallID: "c1", Kind: "call.arrived", Caller: "+4512345678", Data: `{"number":"+4570101010"}`},
		{OrgID: f.org, At: at, CallID: "c1", Kind: "Answered", Agent: "default/1", WaitMS: 4000},
		{OrgID: f.org, At: at, CallID: "c2", Kind: "call.arrived", Caller: "+4587654321"},
		{OrgID: faxe.ID, At: at, CallID: "f1", Kind: "call.arrived", Caller: "12345678"},
	}); err != nil {
		t.Fatal(err)
	}
	admin := f.tokens[config.RoleAdmin]
	body := `{"number":"12 34 56 78"}`

	for _, path := range []string{"/api/v1/gdpr/export", "/api/v1/gdpr/delete"} {
		for _, r := range []struct {
			token string
			code  int
		}{{"", 401}, {f.tokens[config.RoleAgent], 403}, {f.tokens[config.RoleSupervisor], 403}} {
			if w := f.do(req{method: "POST", path: path, body: body, token: r.token}); w.Code != r.code {
				t.Fatalf("%s with %q: %d %s", path, r.token, w.Code, w.Body)
			}
		}
		for _, bad := range []string{`{"number":"abc"}`, `{}`, `{"number":"12345678","org":"faxe"}`} {
			w := f.do(req{method: "POST", path: path, body: bad, token: admin})
			if e := decode[struct{ Error struct{ Code, Field string } }](t, w); w.Code != 400 || (bad != `{"number":"12345678","org":"faxe"}` && e.Error.Field != "number") {
				t.Fatalf("%s %s: %d %s", path, bad, w.Code, w.Body)
			}
		}
	}

	type export struct {
		Number, Pseudonym string
		CallEvents        []struct {
			Call, Kind, Caller string
			Data               map[string]any
		} `json:"call_events"`
	}
	w := f.do(req{method: "POST", path: "/api/v1/gdpr/export", body: body, token: admin})
	ex := decode[export](t, w)
	if w.Code != 200 || ex.Number != "+4512345678" || !strings.HasPrefix(ex.Pseudonym, "pseud:") || len(ex.CallEvents) != 2 ||
		ex.CallEvents[0].Call != "c1" || ex.CallEvents[0].Data["number"] != "+4570101010" || ex.CallEvents[1].Kind != "Answered" {
		t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("an export may be cached: %v", w.Header())
	}
	w = f.do(req{method: "POST", path: "/api/v1/gdpr/export", body: body, token: faxeTok})
	if fx := decode[export](t, w); len(fx.CallEvents) != 1 || fx.CallEvents[0].Call != "f1" {
		t.Fatalf("faxe's export: %s", w.Body)
	}

	// Faxe's admin deletes: only faxe's record goes.
	w = f.do(req{method: "POST", path: "/api/v1/gdpr/delete", body: body, token: faxeTok})
	if d := decode[struct {
		Pseudonym  string
		CallEvents int64 `json:"call_events"`
	}](t, w); w.Code != 200 || d.CallEvents != 1 || d.Pseudonym != ex.Pseudonym {
		t.Fatalf("faxe's delete: %d %s", w.Code, w.Body)
	}
	w = f.do(req{method: "POST", path: "/api/v1/gdpr/export", body: body, token: admin})
	if again := decode[export](t, w); len(again.CallEvents) != 2 {
		t.Fatalf("faxe's delete touched the default organisation: %s", w.Body)
	}
	w = f.do(req{method: "POST", path: "/api/v1/gdpr/delete", body: `{"number":"+4512345678"}`, token: admin})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"call_events":2`) {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	left, _ := f.store.CallEventsSince(ctx, config.CallEventQuery{Org: f.org})
	if len(left) != 1 || left[0].CallID != "c2" {
		t.Fatalf("left: %+v", left)
	}

	// The audit log has each request with the pseudonym, never the number.
	w = f.do(req{method: "GET", path: "/api/v1/audit?object_type=data_subject", token: admin})
	if w.Code != 200 || strings.Count(w.Body.String(), ex.Pseudonym) != 3 || strings.Contains(w.Body.String(), "12345678") {
		t.Fatalf("audit: %s", w.Body)
	}

	// The organisation shows its retention.
	w = f.do(req{method: "GET", path: "/api/v1/organisation", token: admin})
	if !strings.Contains(w.Body.String(), `"pseudonymise_after_days":30`) || !strings.Contains(w.Body.String(), `"delete_after_months":13`) {
		t.Fatalf("organisation: %s", w.Body)
	}
}
