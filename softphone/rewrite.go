package softphone

import (
	"time"

	"github.com/pion/rtp"
)

// pcmuRate is the RTP clock rate of PCMU: 8000 samples a second, one byte a
// sample.
const pcmuRate = 8000

// rewriter maps the packets of successive RTP sources (one call after
// another, an SSRC change inside a call, a new browser PeerConnection after a
// page reload) onto one continuous outgoing stream: sequence numbers go on
// from the last one sent, and timestamps advance by the wall-clock time
// between the last packet of the old source and the first of the new one (at
// least the duration of the last packet), so the receiver's jitter buffer
// sees one stream with a pause rather than a jump. Within one source the
// source's own sequence and timestamp deltas are kept (losses and gaps stay
// visible). The first packet of every new source gets the marker bit, as RFC
// 3551 asks for the start of a talkspurt.
//
// A rewriter is not safe for concurrent use; its owner locks around it.
type rewriter struct {
	started  bool // a packet was sent
	lastSeq  uint16
	lastTS   uint32
	lastLen  int // payload bytes (= samples for PCMU) of the newest packet
	lastAt   time.Time
	haveSrc  bool
	srcSSRC  uint32
	seqDelta uint16
	tsDelta  uint32
}

// newRewriter starts the outgoing stream at the given sequence number and
// timestamp (random in production, fixed in tests).
func newRewriter(seq uint16, ts uint32) rewriter {
	return rewriter{lastSeq: seq - 1, lastTS: ts}
}

// newSource makes the next packet start a new source even if it carries the
// same SSRC as the previous one (a new call).
func (w *rewriter) newSource() { w.haveSrc = false }

// rewrite changes h in place. payloadLen is the packet's payload size.
func (w *rewriter) rewrite(h *rtp.Header, payloadLen int, now time.Time) {
	if !w.haveSrc || h.SSRC != w.srcSSRC {
		seq := w.lastSeq + 1
		ts := w.lastTS
		if w.started {
			gap := int64(now.Sub(w.lastAt)) * pcmuRate / int64(time.Second)
			if gap < int64(w.lastLen) {
				gap = int64(w.lastLen)
			}
			ts += uint32(gap)
		}
		w.seqDelta = seq - h.SequenceNumber
		w.tsDelta = ts - h.Timestamp
		w.haveSrc, w.srcSSRC = true, h.SSRC
		h.Marker = true
	}
	h.SequenceNumber += w.seqDelta
	h.Timestamp += w.tsDelta
	// A reordered (older) packet is passed on but does not move the stream's
	// position back.
	if !w.started || int16(h.SequenceNumber-w.lastSeq) > 0 {
		w.lastSeq, w.lastTS, w.lastLen, w.lastAt = h.SequenceNumber, h.Timestamp, payloadLen, now
	}
	w.started = true
}
