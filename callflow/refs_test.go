package callflow

import (
	"fmt"
	"reflect"
	"testing"
)

func TestRefs(t *testing.T) {
	f := testFlow()
	f.Steps = append(f.Steps, Step{ID: "inline", Kind: KindSchedule, Schedule: &ScheduleStep{Inline: &Schedule{}, Open: "læg-på", Closed: "læg-på"}})
	var got []string
	for _, r := range f.Refs() {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Step, r.Field, r.Kind, r.Name))
	}
	want := []string{
		"åbent schedule.schedule schedule borgerservice",
		"velkomst announcement.announcement announcement velkomst",
		"hovedmenu menu.announcement announcement hovedmenu",
		"ugyldigt announcement.announcement announcement ugyldigt-valg",
		"pension queue.queue queue pension",
		"kø-borgerservice queue.queue queue borgerservice",
		"kø-erhverv queue.queue queue erhverv",
		"kø-intern queue.queue queue intern",
		"lukket announcement.announcement announcement lukket",
		"helligdag announcement.announcement announcement helligdag",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Refs:\n got %q\nwant %q", got, want)
	}
}

func TestRenameRefs(t *testing.T) {
	f := testFlow()
	before := testFlow()
	g := f.RenameRefs(func(k RefKind, name string) string { return string(k) + ":" + name })
	if !reflect.DeepEqual(f, before) {
		t.Fatal("RenameRefs changed the flow it was given")
	}
	var got []string
	for _, r := range g.Refs() {
		got = append(got, r.Name)
	}
	want := []string{"schedule:borgerservice", "announcement:velkomst", "announcement:hovedmenu", "announcement:ugyldigt-valg",
		"queue:pension", "queue:borgerservice", "queue:erhverv", "queue:intern", "announcement:lukket", "announcement:helligdag"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("renamed refs:\n got %q\nwant %q", got, want)
	}
	// Everything but the names is kept.
	if g.Steps[5].Queue.Priority != 1 || g.Steps[5].Queue.Full != "lukket" || g.Steps[3].Menu.Options["1"] != "kø-borgerservice" {
		t.Errorf("RenameRefs lost settings: %+v %+v", g.Steps[5].Queue, g.Steps[3].Menu)
	}
}

func TestKindsListed(t *testing.T) {
	var got []Kind
	for _, k := range Kinds() {
		if k.Label.Da == "" || k.Label.En == "" || k.Help.Da == "" || k.Help.En == "" {
			t.Errorf("kind %s: label or help missing: %+v", k.Kind, k)
		}
		got = append(got, k.Kind)
	}
	for _, k := range []Kind{KindSchedule, KindMenu, KindAnnouncement, KindCaller, KindQueue, KindTransfer, KindHangup} {
		if !containsKind(got, k) {
			t.Errorf("kind %s not listed in %v", k, got)
		}
	}
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
