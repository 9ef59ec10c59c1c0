package callflow

import "testing"

// BenchmarkCallToQueue is one live call's work in the flow: schedule,
// caller rules, welcome, menu choice, queue.
func BenchmarkCallToQueue(b *testing.B) {
	f := testFlow()
	opts := Options{Schedules: testRefs().Schedules}
	b.ReportAllocs()
	for b.Loop() {
		run, _ := Start(f, CallInfo{Caller: "+4512345678", Now: mondayMorning}, opts)
		run.Next(mondayMorning, PlaybackDone{})
		if _, ok := run.Next(mondayMorning, Digit("1")).(Enqueue); !ok {
			b.Fatal("not queued")
		}
	}
}

func BenchmarkIsOpen(b *testing.B) {
	s := borgerservice()
	b.ReportAllocs()
	for b.Loop() {
		s.IsOpen(mondayMorning)
	}
}

func BenchmarkValidate(b *testing.B) {
	f, refs := testFlow(), testRefs()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Validate(refs); err != nil {
			b.Fatal(err)
		}
	}
}
