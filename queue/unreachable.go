package queue

import "time"

// An agent whose device cannot be reached (OfferFailed with
// FailUnavailable: a browser agent with no page open, a desk phone that is
// not registered, an originate Asterisk refuses) is not a ringing phone
// nobody picks up: offered again at once it fails again at once, and
// without a limit the adapter and the engine offer and fail in a tight loop.
// So, whatever the queue's RetryDelay and AutoPauseAfter say, such an agent
// is offered nothing for a growing delay (UnreachableBackoff, doubled after
// each failure in a row) and after UnreachableAfter failures in a row is
// paused with UnreachableReason. Meanwhile the call goes to other agents.
// Any sign that the device is there (an answer, a ring that was not
// answered, busy, declined) and a new ready or login start the count
// again.
const (
	// UnreachableReason is the pause reason of an agent taken out for
	// being unreachable. Always allowed, like AutoPauseReason.
	UnreachableReason = "unreachable"
	// UnreachableAfter is how many unreachable offers in a row pause the
	// agent: with the back-off below the fourth comes 2+4+8 = 14 s after
	// the first.
	UnreachableAfter = 4
	// UnreachableBackoff is the delay after the first unreachable offer;
	// each further one in a row doubles it (2 s, 4 s, 8 s).
	UnreachableBackoff = 2 * time.Second
)

// unreachableBackoff is the delay after the n-th unreachable offer in a
// row (n from 1).
func unreachableBackoff(n int) time.Duration {
	return UnreachableBackoff << min(n-1, 16)
}
