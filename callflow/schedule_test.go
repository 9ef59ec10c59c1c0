package callflow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
)

// at is a Danish local time.
func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Location())
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func r(from, to string) Range { return Range{From: from, To: to} }

// borgerservice is a typical municipal schedule.
func borgerservice() *Schedule {
	return &Schedule{
		Name: "borgerservice",
		Weekly: Week{
			Monday:    []Range{r("08:00", "15:00")},
			Tuesday:   []Range{r("08:00", "15:00")},
			Wednesday: []Range{r("08:00", "15:00")},
			Thursday:  []Range{r("08:00", "12:00"), r("13:00", "17:30")},
			Friday:    []Range{r("08:00", "13:00")},
		},
		PublicHolidays: true,
		ClosingDays: []ClosingDay{
			{Date: "12-24", Name: "Juleaften"},
			{Date: "12-31", Name: "Nytårsaften"},
			{Date: "2026-12-28", Name: "Kommunal lukkedag"},
		},
		SpecialDays: []SpecialDay{
			{Date: "06-05", Name: "Grundlovsdag", Hours: []Range{r("08:00", "12:00")}},
		},
	}
}

func TestScheduleIsOpen(t *testing.T) {
	nightOwl := &Schedule{Name: "nat", Weekly: Week{Sunday: []Range{r("02:00", "03:00"), r("03:00", "04:00")}}}
	noHolidays := borgerservice()
	noHolidays.PublicHolidays = false
	christmasMorning := borgerservice()
	christmasMorning.SpecialDays = append(christmasMorning.SpecialDays, SpecialDay{Date: "2026-12-24", Name: "Juleaften 2026", Hours: []Range{r("09:00", "11:00")}})
	closedSpecial := borgerservice()
	closedSpecial.SpecialDays = []SpecialDay{{Date: "2026-03-02", Name: "Flytning"}}

	tests := []struct {
		name   string
		s      *Schedule
		t      time.Time
		open   bool
		allDay bool
		why    string // substring
	}{
		{"monday before opening", borgerservice(), at(2026, 3, 2, 7, 59), false, false, "closed — outside opening hours (Monday 08:00–15:00)"},
		{"monday at opening", borgerservice(), at(2026, 3, 2, 8, 0), true, false, "open — Monday 08:00–15:00"},
		{"monday last minute", borgerservice(), at(2026, 3, 2, 14, 59), true, false, "open"},
		{"monday at closing", borgerservice(), at(2026, 3, 2, 15, 0), false, false, "outside opening hours"},
		{"thursday morning", borgerservice(), at(2026, 3, 5, 11, 59), true, false, "Thursday 08:00–12:00, 13:00–17:30"},
		{"thursday lunch", borgerservice(), at(2026, 3, 5, 12, 30), false, false, "outside opening hours (Thursday 08:00–12:00, 13:00–17:30)"},
		{"thursday afternoon", borgerservice(), at(2026, 3, 5, 13, 0), true, false, "open"},
		{"thursday late", borgerservice(), at(2026, 3, 5, 17, 29), true, false, "open"},
		{"thursday after", borgerservice(), at(2026, 3, 5, 17, 30), false, false, "outside"},
		{"friday short day", borgerservice(), at(2026, 3, 6, 13, 0), false, false, "Friday 08:00–13:00"},
		{"saturday", borgerservice(), at(2026, 3, 7, 10, 0), false, false, "closed — no opening hours on Saturday"},
		{"sunday", borgerservice(), at(2026, 3, 8, 10, 0), false, false, "no opening hours on Sunday"},
		{"time given in UTC is read in Danish time", borgerservice(), utc(2026, 3, 2, 7, 30), true, false, "open"},

		// DST: the Monday after spring-forward opens at 06:00 UTC, the
		// Friday before at 07:00 UTC; autumn the other way round.
		{"spring: friday before DST 06:30 UTC = 07:30 CET", borgerservice(), utc(2026, 3, 27, 6, 30), false, false, "outside"},
		{"spring: monday after DST 06:30 UTC = 08:30 CEST", borgerservice(), utc(2026, 3, 30, 6, 30), true, false, "open"},
		{"spring: monday after DST 05:59 UTC = 07:59 CEST", borgerservice(), utc(2026, 3, 30, 5, 59), false, false, "outside"},
		{"autumn: friday before 05:30 UTC = 07:30 CEST", borgerservice(), utc(2026, 10, 23, 5, 30), false, false, "outside"},
		{"autumn: friday before 06:30 UTC = 08:30 CEST", borgerservice(), utc(2026, 10, 23, 6, 30), true, false, "open"},
		{"autumn: monday after 06:30 UTC = 07:30 CET", borgerservice(), utc(2026, 10, 26, 6, 30), false, false, "outside"},
		{"autumn: monday after 07:00 UTC = 08:00 CET", borgerservice(), utc(2026, 10, 26, 7, 0), true, false, "open"},
		// On the change days themselves 02:00–03:00 is skipped in spring
		// and happens twice in autumn.
		{"spring change day 00:59 UTC = 01:59 CET", nightOwl, utc(2026, 3, 29, 0, 59), false, false, "outside"},
		{"spring change day 01:00 UTC = 03:00 CEST", nightOwl, utc(2026, 3, 29, 1, 0), true, false, "open"},
		{"autumn change day 00:30 UTC = first 02:30 CEST", nightOwl, utc(2026, 10, 25, 0, 30), true, false, "open"},
		{"autumn change day 01:30 UTC = second 02:30 CET", nightOwl, utc(2026, 10, 25, 1, 30), true, false, "open"},
		{"autumn change day 03:00 UTC = 04:00 CET", nightOwl, utc(2026, 10, 25, 3, 0), false, false, "outside"},

		// Danish public holidays 2026 and 2027.
		{"skærtorsdag 2026", borgerservice(), at(2026, 4, 2, 10, 0), false, true, "closed — Skærtorsdag (public holiday)"},
		{"langfredag 2026", borgerservice(), at(2026, 4, 3, 10, 0), false, true, "Langfredag (public holiday)"},
		{"2. påskedag 2026", borgerservice(), at(2026, 4, 6, 10, 0), false, true, "Anden påskedag (public holiday)"},
		{"store bededag 2026 is a normal friday", borgerservice(), at(2026, 5, 1, 10, 0), true, false, "open — Friday"},
		{"store bededag 2023 was a holiday", borgerservice(), at(2023, 5, 5, 10, 0), false, true, "Store bededag (public holiday)"},
		{"kristi himmelfart 2026", borgerservice(), at(2026, 5, 14, 10, 0), false, true, "Kristi Himmelfartsdag"},
		{"2. pinsedag 2026", borgerservice(), at(2026, 5, 25, 10, 0), false, true, "Anden Pinsedag"},
		{"1. juledag 2026", borgerservice(), at(2026, 12, 25, 10, 0), false, true, "Juledag (public holiday)"},
		{"nytårsdag 2027", borgerservice(), at(2027, 1, 1, 10, 0), false, true, "Nytårsdag"},
		{"langfredag 2027", borgerservice(), at(2027, 3, 26, 10, 0), false, true, "Langfredag"},
		{"2. påskedag 2027", borgerservice(), at(2027, 3, 29, 10, 0), false, true, "Anden påskedag"},
		{"store bededag 2027 is a normal friday", borgerservice(), at(2027, 4, 23, 10, 0), true, false, "open"},
		{"kristi himmelfart 2027", borgerservice(), at(2027, 5, 6, 10, 0), false, true, "Kristi Himmelfartsdag"},
		{"2. pinsedag 2027", borgerservice(), at(2027, 5, 17, 10, 0), false, true, "Anden Pinsedag"},
		{"holidays off: skærtorsdag is a thursday", noHolidays, at(2026, 4, 2, 10, 0), true, false, "open — Thursday"},

		// Closing days.
		{"juleaften 2026 (every year)", borgerservice(), at(2026, 12, 24, 10, 0), false, true, "closed — Juleaften (closing day)"},
		{"juleaften 2027 (every year)", borgerservice(), at(2027, 12, 24, 10, 0), false, true, "Juleaften (closing day)"},
		{"nytårsaften 2026", borgerservice(), at(2026, 12, 31, 10, 0), false, true, "Nytårsaften (closing day)"},
		{"one-off closing day", borgerservice(), at(2026, 12, 28, 10, 0), false, true, "Kommunal lukkedag (closing day)"},
		{"one-off closing day only that year", borgerservice(), at(2027, 12, 28, 10, 0), true, false, "open — Tuesday"},

		// Special days override holidays, closing days and weekly hours.
		{"grundlovsdag morning", borgerservice(), at(2026, 6, 5, 11, 0), true, false, "open — Grundlovsdag (special day, 08:00–12:00)"},
		{"grundlovsdag after noon", borgerservice(), at(2026, 6, 5, 12, 30), false, false, "closed — Grundlovsdag (special day, 08:00–12:00)"},
		{"special day beats closing day", christmasMorning, at(2026, 12, 24, 10, 0), true, false, "Juleaften 2026 (special day, 09:00–11:00)"},
		{"special day beats closing day, outside its hours", christmasMorning, at(2026, 12, 24, 11, 0), false, false, "special day"},
		{"special day without hours closes", closedSpecial, at(2026, 3, 2, 10, 0), false, true, "closed — Flytning (special day, closed all day)"},
		{"empty schedule", &Schedule{}, at(2026, 3, 2, 10, 0), false, false, "no opening hours on Monday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, why := tt.s.IsOpen(tt.t)
			if open != tt.open || !strings.Contains(why, tt.why) {
				t.Errorf("IsOpen(%s) = %v, %q; want %v, containing %q", tt.t.In(Location()), open, why, tt.open, tt.why)
			}
			if st := tt.s.status(tt.t); st.allDay != tt.allDay {
				t.Errorf("allDay = %v, want %v", st.allDay, tt.allDay)
			}
		})
	}
}

func d(y int, m time.Month, day int) Date { return Date{y, m, day} }

func TestPublicHolidays(t *testing.T) {
	tests := []struct {
		year int
		want []Holiday
	}{
		{2026, []Holiday{
			{d(2026, 1, 1), "Nytårsdag", DayPublicHoliday, nil},
			{d(2026, 4, 2), "Skærtorsdag", DayPublicHoliday, nil},
			{d(2026, 4, 3), "Langfredag", DayPublicHoliday, nil},
			{d(2026, 4, 6), "Anden påskedag", DayPublicHoliday, nil},
			{d(2026, 5, 14), "Kristi Himmelfartsdag", DayPublicHoliday, nil},
			{d(2026, 5, 25), "Anden Pinsedag", DayPublicHoliday, nil},
			{d(2026, 6, 5), "Grundlovsdag", DayPublicHoliday, nil},
			{d(2026, 12, 25), "Juledag", DayPublicHoliday, nil},
			{d(2026, 12, 26), "Anden juledag", DayPublicHoliday, nil},
		}},
		{2023, []Holiday{
			{d(2023, 1, 1), "Nytårsdag", DayPublicHoliday, nil},
			{d(2023, 4, 6), "Skærtorsdag", DayPublicHoliday, nil},
			{d(2023, 4, 7), "Langfredag", DayPublicHoliday, nil},
			{d(2023, 4, 10), "Anden påskedag", DayPublicHoliday, nil},
			{d(2023, 5, 5), "Store bededag", DayPublicHoliday, nil},
			{d(2023, 5, 18), "Kristi Himmelfartsdag", DayPublicHoliday, nil},
			{d(2023, 5, 29), "Anden Pinsedag", DayPublicHoliday, nil},
			{d(2023, 6, 5), "Grundlovsdag", DayPublicHoliday, nil},
			{d(2023, 12, 25), "Juledag", DayPublicHoliday, nil},
			{d(2023, 12, 26), "Anden juledag", DayPublicHoliday, nil},
		}},
	}
	for _, tt := range tests {
		got := PublicHolidays(tt.year)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("PublicHolidays(%d) =\n%v\nwant\n%v", tt.year, got, tt.want)
		}
	}
}

func TestScheduleHolidays(t *testing.T) {
	got := borgerservice().Holidays(2026)
	var lines []string
	for _, h := range got {
		lines = append(lines, h.Date.String()+" "+string(h.Kind)+" "+h.Name)
	}
	want := []string{
		"2026-01-01 public Nytårsdag",
		"2026-04-02 public Skærtorsdag",
		"2026-04-03 public Langfredag",
		"2026-04-06 public Anden påskedag",
		"2026-05-14 public Kristi Himmelfartsdag",
		"2026-05-25 public Anden Pinsedag",
		"2026-06-05 special Grundlovsdag",
		"2026-12-24 closing Juleaften",
		"2026-12-25 public Juledag",
		"2026-12-26 public Anden juledag",
		"2026-12-28 closing Kommunal lukkedag",
		"2026-12-31 closing Nytårsaften",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("Holidays(2026) =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if h := got[6]; !reflect.DeepEqual(h.Hours, []Range{r("08:00", "12:00")}) {
		t.Errorf("special day hours = %v", h.Hours)
	}
	// The one-off closing day is not in 2027; 29 February only in leap years.
	s := &Schedule{ClosingDays: []ClosingDay{{Date: "2026-12-28", Name: "x"}, {Date: "02-29", Name: "skuddag"}}}
	if hs := s.Holidays(2027); len(hs) != 0 {
		t.Errorf("Holidays(2027) = %v, want none", hs)
	}
	if hs := s.Holidays(2028); len(hs) != 1 || hs[0].Date != d(2028, 2, 29) {
		t.Errorf("Holidays(2028) = %v, want 2028-02-29", hs)
	}
}

func TestScheduleJSON(t *testing.T) {
	in := `{"name":"bs","weekly":{"monday":[{"from":"08:00","to":"15:00"}]},"publicHolidays":true,` +
		`"closingDays":[{"date":"12-24","name":"Juleaften"}],"specialDays":[{"date":"06-05","name":"Grundlovsdag","hours":[{"from":"08:00","to":"12:00"}]}]}`
	var s Schedule
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip:\n got %s\nwant %s", out, in)
	}
	hs, err := json.Marshal(s.Holidays(2026)[:1])
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"date":"2026-01-01","name":"Nytårsdag","kind":"public"}]`; string(hs) != want {
		t.Errorf("holidays JSON = %s, want %s", hs, want)
	}
	var dt Date
	if err := json.Unmarshal([]byte(`"2026-12-24"`), &dt); err != nil || dt != d(2026, 12, 24) {
		t.Errorf("Date unmarshal = %v, %v", dt, err)
	}
	if err := json.Unmarshal([]byte(`"24/12"`), &dt); err == nil {
		t.Error("Date unmarshal of 24/12: no error")
	}
}

func TestScheduleValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Schedule)
		field  string // "" = valid
		code   Code
	}{
		{"valid", func(s *Schedule) {}, "", ""},
		{"end of day 24:00", func(s *Schedule) { s.Weekly.Saturday = []Range{r("20:00", "24:00")} }, "", ""},
		{"short hour", func(s *Schedule) { s.Weekly.Monday = []Range{r("8:00", "15:00")} }, "weekly.monday[0]", CodeBadTime},
		{"hour 25", func(s *Schedule) { s.Weekly.Monday = []Range{r("08:00", "25:00")} }, "weekly.monday[0]", CodeBadTime},
		{"minute 60", func(s *Schedule) { s.Weekly.Tuesday = []Range{r("08:60", "15:00")} }, "weekly.tuesday[0]", CodeBadTime},
		{"24:00 as start", func(s *Schedule) { s.Weekly.Sunday = []Range{r("24:00", "24:00")} }, "weekly.sunday[0]", CodeBadTime},
		{"end before start", func(s *Schedule) { s.Weekly.Friday = []Range{r("16:00", "09:00")} }, "weekly.friday[0]", CodeBadTime},
		{"empty range", func(s *Schedule) { s.Weekly.Friday = []Range{r("09:00", "09:00")} }, "weekly.friday[0]", CodeBadTime},
		{"overlap", func(s *Schedule) {
			s.Weekly.Thursday = []Range{r("13:00", "17:30"), r("08:00", "13:30")}
		}, "weekly.thursday[0]", CodeBadTime},
		{"bad closing date", func(s *Schedule) { s.ClosingDays[0].Date = "24-12" }, "closingDays[0].date", CodeBadDate},
		{"no such day", func(s *Schedule) { s.ClosingDays[2].Date = "2026-02-30" }, "closingDays[2].date", CodeBadDate},
		{"duplicate closing day", func(s *Schedule) { s.ClosingDays[1].Date = "12-24" }, "closingDays[1].date", CodeBadDate},
		{"closing day without name", func(s *Schedule) { s.ClosingDays[0].Name = " " }, "closingDays[0].name", CodeBadValue},
		{"special day hours", func(s *Schedule) { s.SpecialDays[0].Hours[0].To = "07:00" }, "specialDays[0].hours[0]", CodeBadTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := borgerservice()
			tt.mutate(s)
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("Validate() = %v, want *ValidationError", err)
			}
			if len(ve.Problems) != 1 || ve.Problems[0].Field != tt.field || ve.Problems[0].Code != tt.code {
				t.Fatalf("problems = %+v, want one %s at %s", ve.Problems, tt.code, tt.field)
			}
		})
	}
}
