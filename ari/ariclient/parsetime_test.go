package ariclient

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Copenhagen without the system's zone files
)

var timeSeeds = []string{
	"2026-11-28T03:24:41.123+0000",
	"2026-11-28T03:24:41.123+0100",
	"2026-07-01T23:59:59.999+0200",
	"2026-03-29T02:30:00.000+0100", // Danish summer time begins at 02:00
	"2024-02-29T12:00:00.000-0530",
	"2023-02-29T12:00:00.000+0000", // no such day
	"2026-13-01T00:00:00.000+0000",
	"2026-11-28T24:00:00.000+0000",
	"2026-11-28T03:24:41.12+00000",
	"2026-11-28 03:24:41.123+0000",
	"2026-11-28T03:24:41.123Z0000",
	"2026-11-28T03:24:41.123+2400",
	"0000-01-01T00:00:00.000+0000",
	"2026-11-28T03:24:41+0100",
	"2026-11-28T03:24:41.123456+01:00",
}

// sameTime: t equals time.Parse's u, down to the zone (name, offset and
// whether it is Local).
func sameTime(t *testing.T, s string) {
	got, gerr := ParseTime(s)
	if s == "" { // no date: the zero time, not an error
		if gerr != nil || !got.IsZero() {
			t.Fatalf("empty: %v %v", got, gerr)
		}
		return
	}
	var want time.Time
	var werr error
	for _, layout := range []string{TimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if want, werr = time.Parse(layout, s); werr == nil {
			break
		}
	}
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: error %v, time.Parse %v", s, gerr, werr)
	}
	if werr != nil {
		return
	}
	gn, goff := got.Zone()
	wn, woff := want.Zone()
	if !got.Equal(want) || gn != wn || goff != woff || (got.Location() == time.Local) != (want.Location() == time.Local) ||
		got.String() != want.String() {
		t.Fatalf("%q: %v (%s %d), time.Parse %v (%s %d)", s, got, gn, goff, want, wn, woff)
	}
}

func TestParseTimeMatchesTimeParse(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	for _, local := range []*time.Location{time.UTC, cph} {
		t.Run(local.String(), func(t *testing.T) {
			saved := time.Local
			time.Local = local
			defer func() { time.Local = saved }()
			for _, s := range timeSeeds {
				sameTime(t, s)
			}
		})
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range timeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameTime(t, s) })
}
