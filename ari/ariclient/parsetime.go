package ariclient

import "time"

// parseAsteriskTime parses exactly TimeLayout ("2026-11-28T03:24:41.123+0100")
// without time.Parse's layout scanner; there is a date in every event and
// every channel. ok is false for anything
// else, including out-of-range fields: the caller then uses time.Parse,
// whose result (and error) this must equal whenever ok is true, Location
// included (FuzzParseTime checks it).
func parseAsteriskTime(s string) (t time.Time, ok bool) {
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || (s[23] != '+' && s[23] != '-') {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec, milli := num(11, 2), num(14, 2), num(17, 2), num(20, 3)
	zh, zm := num(24, 2), num(26, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 || milli < 0 ||
		zh < 0 || zh > 23 || zm < 0 || zm > 59 {
		return time.Time{}, false
	}
	offset := (zh*60 + zm) * 60
	if s[23] == '-' {
		offset = -offset
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, milli*int(time.Millisecond), time.UTC).
		Add(-time.Duration(offset) * time.Second)
	// as time.Parse: the local zone if it has this offset at t, else a
	// fixed zone without a name
	if _, off := t.In(time.Local).Zone(); off == offset {
		return t.In(time.Local), true
	}
	return t.In(time.FixedZone("", offset)), true // shared per whole hour
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
