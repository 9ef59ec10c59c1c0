// Package staffing says how many agents a queue needs.
//
// It has two parts, both pure (standard library only, no I/O):
//
//   - the queueing formulas: Erlang C (ErlangC, ErlangCResult,
//     AgentsErlangC) for callers who wait as long as it takes, and Erlang A
//     (ErlangAResult, AgentsErlangA) for callers who hang up after an
//     exponentially distributed patience;
//   - the history (Analyse): from the call-event log of one queue over the
//     last weeks, per weekday × 15-minute interval, the average arrivals,
//     handling time, abandonment, the callers' patience and the agents who
//     were logged in, and from them the agents the formulas ask for.
//
// Sketch:
//
//	l := staffing.Load{Rate: 100.0 / 1800, AHT: 180, Target: 20}
//	r, err := staffing.AgentsErlangC(l, staffing.Goal{SL: 0.8, MaxOccupancy: 0.85})
//	// r.Agents == 14, r.SL ≈ 0.888
//
// docs/reports.md ("Staffing") gives the formulas, the assumptions and the
// sources.
package staffing
