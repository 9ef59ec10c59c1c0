package callflow

import "time"

// testFlow is borgerservice's flow: opening hours, caller rules, a welcome,
// a main menu (with an invalid-key message and a "repeat" key), queues with
// overflow, a transfer to the switchboard and the closed messages.
func testFlow() *Flow {
	return &Flow{
		Name:  "borgerservice",
		Start: "åbent",
		Steps: []Step{
			{ID: "åbent", Kind: KindSchedule, Schedule: &ScheduleStep{Schedule: "borgerservice", Open: "hvem", Closed: "lukket", Holiday: "helligdag"}},
			{ID: "hvem", Kind: KindCaller, Caller: &CallerStep{
				Rules: []CallerRule{
					{Match: MatchInternal, MaxLength: 4, Next: "kø-intern"},
					{Match: MatchPrefix, Numbers: []string{"+4599"}, Next: "kø-erhverv"},
					{Match: MatchExact, Numbers: []string{"70 10 20 30"}, Next: "kø-erhverv"},
					{Match: MatchAnonymous, Next: "velkomst"},
				},
				Default: "velkomst",
			}},
			{ID: "velkomst", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "velkomst", Next: "hovedmenu"}},
			{ID: "hovedmenu", Kind: KindMenu, Menu: &MenuStep{
				Announcement: "hovedmenu",
				Options:      map[string]StepID{"1": "kø-borgerservice", "2": "pension", "9": "hovedmenu", "0": "omstilling"},
				Invalid:      "ugyldigt",
				Exhausted:    "kø-borgerservice",
			}},
			{ID: "ugyldigt", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "ugyldigt-valg", Next: "hovedmenu"}},
			{ID: "pension", Kind: KindQueue, Queue: &QueueStep{Queue: "pension", Priority: 1, Full: "lukket", NoAgents: "kø-borgerservice"}},
			{ID: "kø-borgerservice", Kind: KindQueue, Queue: &QueueStep{Queue: "borgerservice", Timeout: "lukket"}},
			{ID: "kø-erhverv", Kind: KindQueue, Queue: &QueueStep{Queue: "erhverv", Priority: 5}},
			{ID: "kø-intern", Kind: KindQueue, Queue: &QueueStep{Queue: "intern"}},
			{ID: "omstilling", Kind: KindTransfer, Transfer: &TransferStep{Destination: "PJSIP/1000"}},
			{ID: "lukket", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "lukket", Next: "læg-på"}},
			{ID: "helligdag", Kind: KindAnnouncement, Announcement: &AnnouncementStep{Announcement: "helligdag", Next: "læg-på"}},
			{ID: "læg-på", Kind: KindHangup},
		},
	}
}

func testRefs() StaticRefs {
	return StaticRefs{
		Queues: map[QueueRef]bool{"borgerservice": true, "pension": true, "erhverv": true, "intern": true},
		Announcements: map[AnnouncementRef]bool{
			"velkomst": true, "hovedmenu": true, "ugyldigt-valg": true, "lukket": true, "helligdag": true,
		},
		Schedules: Schedules{"borgerservice": borgerservice()},
	}
}

// Times for the fixture: a Monday morning (open), a Saturday (closed),
// Juleaften (closing day).
var (
	mondayMorning = time.Date(2026, 3, 2, 9, 0, 0, 0, Location())
	saturday      = time.Date(2026, 3, 7, 10, 0, 0, 0, Location())
	juleaften     = time.Date(2026, 12, 24, 10, 0, 0, 0, Location())
)

// step returns the flow's step with that ID, for mutation in tests.
func (f *Flow) step(id StepID) *Step {
	for i := range f.Steps {
		if f.Steps[i].ID == id {
			return &f.Steps[i]
		}
	}
	panic("no step " + string(id))
}
