package queue

import "sort"

// waitList is a queue's waiting calls (incl. ones being offered and callback
// requests) in service order: priority (high first), then JoinedAt, then
// arrival sequence.
//
// A sorted slice with free room kept at its front: position lookup is a
// binary search, and insert and remove move the pointers on the shorter
// side of the place only. The usual changes (a new caller at the end, the
// first caller answered or hanging up early in the line) move almost
// nothing, so a queue of 10,000 callers costs no more per call than one of
// ten; a plain slice copied its whole tail on every answered call.
type waitList struct {
	buf  []*call // buf[head:] are the calls in order; buf[:head] is free
	head int
}

// before reports whether a is served before b.
func before(a, b *call) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if a.joinN != b.joinN {
		return a.joinN < b.joinN
	}
	return a.seq < b.seq
}

// all returns the calls in service order. The slice is the list's own: it
// is valid until the next insert or remove.
func (w *waitList) all() []*call { return w.buf[w.head:] }

func (w *waitList) len() int { return len(w.buf) - w.head }

func (w *waitList) insert(c *call) {
	items := w.all()
	i := sort.Search(len(items), func(i int) bool { return before(c, items[i]) })
	if w.head > 0 && i < len(items)/2 {
		// room at the front, and the place is in the front half
		w.head--
		copy(w.buf[w.head:], w.buf[w.head+1:w.head+1+i])
		w.buf[w.head+i] = c
		return
	}
	if w.head > 0 && len(w.buf) == cap(w.buf) {
		w.compact() // reuse the front's room before growing
	}
	at := w.head + i
	w.buf = append(w.buf, nil)
	copy(w.buf[at+1:], w.buf[at:])
	w.buf[at] = c
}

// index returns c's position (0 is served first), or -1.
func (w *waitList) index(c *call) int {
	items := w.all()
	i := sort.Search(len(items), func(i int) bool { return !before(items[i], c) })
	if i < len(items) && items[i] == c {
		return i
	}
	return -1
}

func (w *waitList) remove(c *call) bool {
	i := w.index(c)
	if i < 0 {
		return false
	}
	n := w.len()
	if i < n/2 {
		// close the gap from the front
		copy(w.buf[w.head+1:], w.buf[w.head:w.head+i])
		w.buf[w.head] = nil
		w.head++
	} else {
		at := w.head + i
		copy(w.buf[at:], w.buf[at+1:])
		w.buf[len(w.buf)-1] = nil
		w.buf = w.buf[:len(w.buf)-1]
	}
	switch {
	case w.len() == 0:
		w.buf, w.head = w.buf[:0], 0
		if cap(w.buf) > 64 {
			w.buf = nil
		}
	case cap(w.buf) > 64 && w.len() < cap(w.buf)/4:
		w.buf, w.head = append([]*call(nil), w.all()...), 0
	}
	return true
}

// compact moves the calls to the start of buf.
func (w *waitList) compact() {
	n := copy(w.buf, w.all())
	clear(w.buf[n:])
	w.buf, w.head = w.buf[:n], 0
}
