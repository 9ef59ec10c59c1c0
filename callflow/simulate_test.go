package callflow

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSimulate(t *testing.T) {
	tests := []struct {
		name string
		in   SimInput
		want []string // "step: explanation"
	}{
		{"juleaften", SimInput{Number: "70203040", Caller: "+4512345678", Time: juleaften}, []string{
			"åbent: schedule 'borgerservice' at Thu 2026-12-24 10:00: closed — Juleaften (closing day) → holiday branch, step 'helligdag'",
			"helligdag: announcement: play 'helligdag', then step 'læg-på'",
			"læg-på: hang up (normal)",
		}},
		{"menu choice 2, pension has no agents", SimInput{Caller: "+4512345678", Time: mondayMorning, Digits: []string{"2"}, QueueOutcomes: []QueueOutcome{QueueNoAgents}}, []string{
			"åbent: schedule 'borgerservice' at Mon 2026-03-02 09:00: open — Monday 08:00–15:00 → open branch, step 'hvem'",
			"hvem: caller …78 matches no rule → default step 'velkomst'",
			"velkomst: announcement: play 'velkomst', then step 'hovedmenu'",
			"hovedmenu: menu: play 'hovedmenu' and wait up to 5s for a key (attempt 1 of 3)",
			"hovedmenu: menu: caller pressed 2 → step 'pension'",
			"pension: queue 'pension' (priority 1)",
			"pension: queue 'pension': noAgents → step 'kø-borgerservice'",
			"kø-borgerservice: queue 'borgerservice' (priority 0)",
			"kø-borgerservice: queue 'borgerservice': the call waits and an agent answers",
		}},
		{"no key, a wrong key, then no keys left: exhausted", SimInput{Caller: "anonymous", Time: mondayMorning, Digits: []string{"", "7"}}, []string{
			"åbent: schedule 'borgerservice' at Mon 2026-03-02 09:00: open — Monday 08:00–15:00 → open branch, step 'hvem'",
			"hvem: caller anonymous matches rule 4 (anonymous) → step 'velkomst'",
			"velkomst: announcement: play 'velkomst', then step 'hovedmenu'",
			"hovedmenu: menu: play 'hovedmenu' and wait up to 5s for a key (attempt 1 of 3)",
			"hovedmenu: menu: no key pressed within 5s (attempt 1 of 3)",
			"hovedmenu: menu: play again",
			"hovedmenu: menu: play 'hovedmenu' and wait up to 5s for a key (attempt 2 of 3)",
			`hovedmenu: menu: invalid key "7" (attempt 2 of 3)`,
			"hovedmenu: menu: invalid-key branch → step 'ugyldigt'",
			"ugyldigt: announcement: play 'ugyldigt-valg', then step 'hovedmenu'",
			"hovedmenu: menu: play 'hovedmenu' and wait up to 5s for a key (attempt 3 of 3)",
			"hovedmenu: menu: no key pressed within 5s (attempt 3 of 3)",
			"hovedmenu: menu: no valid choice after 3 attempts → step 'kø-borgerservice'",
			"kø-borgerservice: queue 'borgerservice' (priority 0)",
			"kø-borgerservice: queue 'borgerservice': the call waits and an agent answers",
		}},
		{"business caller at the switchboard", SimInput{Caller: "+45 99 88 77 66", Time: saturday.Add(48 * time.Hour)}, []string{
			"åbent: schedule 'borgerservice' at Mon 2026-03-09 10:00: open — Monday 08:00–15:00 → open branch, step 'hvem'",
			"hvem: caller …66 matches rule 2 (prefix [+4599]) → step 'kø-erhverv'",
			"kø-erhverv: queue 'erhverv' (priority 5)",
			"kø-erhverv: queue 'erhverv': the call waits and an agent answers",
		}},
		{"transfer", SimInput{Caller: "1234567", Time: mondayMorning, Digits: []string{"0"}}, []string{
			"åbent: schedule 'borgerservice' at Mon 2026-03-02 09:00: open — Monday 08:00–15:00 → open branch, step 'hvem'",
			"hvem: caller …67 matches no rule → default step 'velkomst'",
			"velkomst: announcement: play 'velkomst', then step 'hovedmenu'",
			"hovedmenu: menu: play 'hovedmenu' and wait up to 5s for a key (attempt 1 of 3)",
			"hovedmenu: menu: caller pressed 0 → step 'omstilling'",
			"omstilling: transfer to PJSIP/1000",
		}},
		{"queue full without a branch", SimInput{Caller: "1000", Time: mondayMorning, QueueOutcomes: []QueueOutcome{QueueFull}}, []string{
			"åbent: schedule 'borgerservice' at Mon 2026-03-02 09:00: open — Monday 08:00–15:00 → open branch, step 'hvem'",
			"hvem: caller …00 matches rule 1 (internal, at most 4 digits) → step 'kø-intern'",
			"kø-intern: queue 'intern' (priority 0)",
			"kø-intern: queue 'intern': full and no full branch — hang up (busy)",
		}},
		{"time in UTC is shown in Danish time", SimInput{Time: time.Date(2026, 7, 1, 5, 30, 0, 0, time.UTC)}, []string{
			"åbent: schedule 'borgerservice' at Wed 2026-07-01 07:30: closed — outside opening hours (Wednesday 08:00–15:00) → closed branch, step 'lukket'",
			"lukket: announcement: play 'lukket', then step 'læg-på'",
			"læg-på: hang up (normal)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := Simulate(testFlow(), tt.in, testRefs().Schedules)
			if err != nil {
				t.Fatalf("Simulate: %v", err)
			}
			got := pathLines(path)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("path:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func pathLines(path []PathStep) []string {
	var lines []string
	for _, p := range path {
		lines = append(lines, string(p.Step)+": "+p.Explanation)
	}
	return lines
}

func TestSimulateErrors(t *testing.T) {
	if _, err := Simulate(testFlow(), SimInput{Time: mondayMorning, Digits: []string{"12"}}, nil); err == nil || errors.Is(err, ErrFlowBroken) {
		t.Errorf("two keys in one digit: err = %v", err)
	}
	if _, err := Simulate(testFlow(), SimInput{Time: mondayMorning, QueueOutcomes: []QueueOutcome{0}}, nil); err == nil {
		t.Error("unknown queue outcome: no error")
	}
	broken := testFlow()
	broken.step("velkomst").Announcement.Next = "menu"
	path, err := Simulate(broken, SimInput{Caller: "+4512345678", Time: mondayMorning}, testRefs().Schedules)
	if !errors.Is(err, ErrFlowBroken) {
		t.Fatalf("err = %v, want ErrFlowBroken", err)
	}
	if last := path[len(path)-1]; last.Step != "velkomst" || last.Explanation != "flow error: step 'menu' does not exist — hang up" {
		t.Errorf("last path step = %+v", last)
	}
	if path, err := Simulate(nil, SimInput{}, nil); !errors.Is(err, ErrFlowBroken) || len(path) != 1 {
		t.Errorf("nil flow: %v, %v", path, err)
	}
}

func TestSimInputJSON(t *testing.T) {
	var in SimInput
	body := `{"number":"70203040","caller":"+4512345678","time":"2026-12-24T10:00:00+01:00","digits":["1",""],"queueOutcomes":["full","noAgents","timeout"]}`
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	if len(in.QueueOutcomes) != 3 || in.QueueOutcomes[1] != QueueNoAgents || !in.Time.Equal(juleaften) {
		t.Errorf("decoded %+v", in)
	}
	if err := json.Unmarshal([]byte(`{"queueOutcomes":["busy"]}`), &in); err == nil {
		t.Error("unknown outcome decoded without error")
	}
	out, err := json.Marshal(in.QueueOutcomes)
	if err != nil || string(out) != `["full","noAgents","timeout"]` {
		t.Errorf("marshal = %s, %v", out, err)
	}
}

func TestFlowJSON(t *testing.T) {
	// The store saves flows as JSON: the round trip must be lossless and the
	// field names are the documented ones.
	f := testFlow()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"start":"åbent"`, `"kind":"schedule"`, `"schedule":{"schedule":"borgerservice","open":"hvem","closed":"lukket","holiday":"helligdag"}`,
		`"options":{"0":"omstilling","1":"kø-borgerservice","2":"pension","9":"hovedmenu"}`, `"noAgents":"kø-borgerservice"`,
		`{"match":"internal","maxLength":4,"next":"kø-intern"}`, `"transfer":{"destination":"PJSIP/1000"}`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s:\n%s", field, b)
		}
	}
	var back Flow
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n%s", b, b2)
	}
	if err := back.Validate(testRefs()); err != nil {
		t.Errorf("decoded flow invalid: %v", err)
	}
}
