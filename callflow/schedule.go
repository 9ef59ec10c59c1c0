package callflow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Copenhagen must resolve on hosts without zoneinfo

	"github.com/rickar/cal/v2/dk"
)

// copenhagen is the zone every schedule is read in. time/tzdata is linked in,
// so loading cannot fail for a valid name; the fixed-zone fallback only keeps
// the zero value usable if it ever did.
var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// Location returns the zone schedules are evaluated in (Europe/Copenhagen).
func Location() *time.Location { return copenhagen }

// Schedule is a set of opening hours: weekly hours, Danish public holidays
// (closed when PublicHolidays is true), the municipality's closing days and
// special days with their own hours. It is saved on its own and referenced
// by name from schedule steps, or written inline in a step.
//
// For a given date the first of these that applies decides:
//  1. a special day (its own hours; no hours = closed all day),
//  2. a closing day (closed all day),
//  3. a Danish public holiday, when PublicHolidays is set (closed all day),
//  4. the weekly hours of that weekday.
type Schedule struct {
	Name           string       `json:"name,omitempty"`
	Weekly         Week         `json:"weekly"`
	PublicHolidays bool         `json:"publicHolidays"`
	ClosingDays    []ClosingDay `json:"closingDays,omitempty"`
	SpecialDays    []SpecialDay `json:"specialDays,omitempty"`
}

// Week holds the opening hours per weekday; several ranges per day are
// allowed (e.g. closed for lunch). A day without ranges is closed.
type Week struct {
	Monday    []Range `json:"monday,omitempty"`
	Tuesday   []Range `json:"tuesday,omitempty"`
	Wednesday []Range `json:"wednesday,omitempty"`
	Thursday  []Range `json:"thursday,omitempty"`
	Friday    []Range `json:"friday,omitempty"`
	Saturday  []Range `json:"saturday,omitempty"`
	Sunday    []Range `json:"sunday,omitempty"`
}

// Day returns the ranges of one weekday.
func (w *Week) Day(d time.Weekday) []Range {
	switch d {
	case time.Monday:
		return w.Monday
	case time.Tuesday:
		return w.Tuesday
	case time.Wednesday:
		return w.Wednesday
	case time.Thursday:
		return w.Thursday
	case time.Friday:
		return w.Friday
	case time.Saturday:
		return w.Saturday
	default:
		return w.Sunday
	}
}

// Range is an opening period within one day in local wall-clock time,
// "HH:MM" from (inclusive) to "HH:MM" (exclusive); To may be "24:00".
// Ranges do not cross midnight: write 22:00–24:00 and 00:00–02:00.
type Range struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ClosingDay is a day closed all day. Date is "YYYY-MM-DD" (that day only)
// or "MM-DD" (every year, e.g. "12-24" Juleaften).
type ClosingDay struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

// SpecialDay is a day with its own hours instead of the weekly ones
// (e.g. "06-05" Grundlovsdag 08:00–12:00). Date as in ClosingDay. No hours
// means closed all day.
type SpecialDay struct {
	Date  string  `json:"date"`
	Name  string  `json:"name"`
	Hours []Range `json:"hours,omitempty"`
}

// DayKind says why a day deviates from the weekly hours.
type DayKind string

// Day kinds listed by Schedule.Holidays and PublicHolidays.
const (
	DayPublicHoliday DayKind = "public"
	DayClosing       DayKind = "closing"
	DaySpecial       DayKind = "special"
)

// Date is a calendar date without time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in Danish local time.
func DateOf(t time.Time) Date {
	y, m, d := t.In(copenhagen).Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// MarshalText writes "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "YYYY-MM-DD".
func (d *Date) UnmarshalText(b []byte) error {
	t, err := time.Parse("2006-01-02", string(b))
	if err != nil {
		return fmt.Errorf("callflow: date %q: want YYYY-MM-DD", b)
	}
	*d = Date{t.Year(), t.Month(), t.Day()}
	return nil
}

func (d Date) before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// Holiday is a day on which a schedule does not follow its weekly hours.
type Holiday struct {
	Date  Date    `json:"date"`
	Name  string  `json:"name"`
	Kind  DayKind `json:"kind"`
	Hours []Range `json:"hours,omitempty"` // special days only
}

// PublicHolidays returns the Danish public holidays of a year, in date order
// (from github.com/rickar/cal/v2/dk: Store bededag ends with 2023;
// Grundlovsdag is included; Juleaften and Nytårsaften are not — add them as
// closing days).
func PublicHolidays(year int) []Holiday {
	var hs []Holiday
	for _, h := range dk.Holidays {
		_, obs := h.Calc(year)
		if obs.IsZero() {
			continue
		}
		y, m, d := obs.Date()
		hs = append(hs, Holiday{Date: Date{y, m, d}, Name: h.Name, Kind: DayPublicHoliday})
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].Date.before(hs[j].Date) })
	return hs
}

// Holidays returns the days of a year on which the schedule does not follow
// its weekly hours, as they take effect (a special day on a public holiday
// is listed once, as the special day), in date order. It is what the admin
// UI shows as "holidays and closing days of the coming year".
func (s *Schedule) Holidays(year int) []Holiday {
	byDate := map[Date]Holiday{}
	if s.PublicHolidays {
		for _, h := range PublicHolidays(year) {
			if _, ok := byDate[h.Date]; !ok {
				byDate[h.Date] = h
			}
		}
	}
	for _, c := range s.ClosingDays {
		if d, ok := parseDaySpec(c.Date, year); ok {
			byDate[d] = Holiday{Date: d, Name: c.Name, Kind: DayClosing}
		}
	}
	for _, sp := range s.SpecialDays {
		if d, ok := parseDaySpec(sp.Date, year); ok {
			byDate[d] = Holiday{Date: d, Name: sp.Name, Kind: DaySpecial, Hours: sp.Hours}
		}
	}
	hs := make([]Holiday, 0, len(byDate))
	for _, h := range byDate {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Date.before(hs[j].Date) })
	return hs
}

// IsOpen reports whether the schedule is open at t (read in Danish local
// time) and why, e.g. "closed — Juleaften (closing day)".
func (s *Schedule) IsOpen(t time.Time) (open bool, why string) {
	st := s.status(t)
	return st.open, st.why
}

// status is IsOpen with the reason kind the schedule step needs.
type status struct {
	open   bool
	allDay bool // closed all day by a holiday, closing day or special day without hours
	why    string
}

func (s *Schedule) status(t time.Time) status {
	lt := t.In(copenhagen)
	y, m, d := lt.Date()
	date := Date{y, m, d}
	minute := lt.Hour()*60 + lt.Minute()

	// Later entries of a list win, matching Holidays.
	for i := len(s.SpecialDays) - 1; i >= 0; i-- {
		sp := s.SpecialDays[i]
		if !daySpecMatches(sp.Date, date) {
			continue
		}
		if len(sp.Hours) == 0 {
			return status{allDay: true, why: fmt.Sprintf("closed — %s (special day, closed all day)", sp.Name)}
		}
		open := inRanges(sp.Hours, minute)
		return status{open: open, why: fmt.Sprintf("%s — %s (special day, %s)", openWord(open), sp.Name, formatRanges(sp.Hours))}
	}
	for i := len(s.ClosingDays) - 1; i >= 0; i-- {
		c := s.ClosingDays[i]
		if daySpecMatches(c.Date, date) {
			return status{allDay: true, why: fmt.Sprintf("closed — %s (closing day)", c.Name)}
		}
	}
	if s.PublicHolidays {
		for _, h := range PublicHolidays(y) {
			if h.Date == date {
				return status{allDay: true, why: fmt.Sprintf("closed — %s (public holiday)", h.Name)}
			}
		}
	}
	wd := lt.Weekday()
	rs := s.Weekly.Day(wd)
	if len(rs) == 0 {
		return status{why: fmt.Sprintf("closed — no opening hours on %s", wd)}
	}
	if inRanges(rs, minute) {
		return status{open: true, why: fmt.Sprintf("open — %s %s", wd, formatRanges(rs))}
	}
	return status{why: fmt.Sprintf("closed — outside opening hours (%s %s)", wd, formatRanges(rs))}
}

func openWord(open bool) string {
	if open {
		return "open"
	}
	return "closed"
}

// inRanges reports whether a minute of the day lies in one of the ranges.
// Unparsable ranges (refused by validation) never match.
func inRanges(rs []Range, minute int) bool {
	for _, r := range rs {
		from, to, err := r.minutes()
		if err == nil && from <= minute && minute < to {
			return true
		}
	}
	return false
}

func formatRanges(rs []Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.From + "–" + r.To
	}
	return strings.Join(parts, ", ")
}

// minutes parses a range into minutes since midnight.
func (r Range) minutes() (from, to int, err error) {
	if from, err = parseClock(r.From, false); err != nil {
		return 0, 0, err
	}
	if to, err = parseClock(r.To, true); err != nil {
		return 0, 0, err
	}
	return from, to, nil
}

// parseClock parses "HH:MM"; "24:00" only when allowEnd.
func parseClock(s string, allowEnd bool) (int, error) {
	bad := fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[3] == '+' || h < 0 || m < 0 || m > 59 {
		return 0, bad
	}
	if h == 24 && m == 0 && allowEnd {
		return 24 * 60, nil
	}
	if h > 23 {
		return 0, bad
	}
	return h*60 + m, nil
}

// parseDaySpec resolves "YYYY-MM-DD" or "MM-DD" to a date in year; ok is
// false when the spec is malformed or names another year (or 29 February
// in a year without it).
func parseDaySpec(spec string, year int) (Date, bool) {
	switch len(spec) {
	case len("2006-01-02"):
		t, err := time.Parse("2006-01-02", spec)
		if err != nil || t.Year() != year {
			return Date{}, false
		}
		return Date{t.Year(), t.Month(), t.Day()}, true
	case len("01-02"):
		// Parse with a leap year so that 02-29 is accepted.
		t, err := time.Parse("2006-01-02", "2024-"+spec)
		if err != nil {
			return Date{}, false
		}
		d := time.Date(year, t.Month(), t.Day(), 12, 0, 0, 0, time.UTC)
		if d.Month() != t.Month() {
			return Date{}, false
		}
		return Date{year, t.Month(), t.Day()}, true
	}
	return Date{}, false
}

func daySpecMatches(spec string, d Date) bool {
	got, ok := parseDaySpec(spec, d.Year)
	return ok && got == d
}

// validDaySpec reports whether spec is a well-formed "YYYY-MM-DD" or "MM-DD".
func validDaySpec(spec string) bool {
	switch len(spec) {
	case len("2006-01-02"):
		_, err := time.Parse("2006-01-02", spec)
		return err == nil
	case len("01-02"):
		_, err := time.Parse("2006-01-02", "2024-"+spec)
		return err == nil
	}
	return false
}
