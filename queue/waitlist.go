package queue

import "sort"

// waitList is a queue's waiting calls (incl. ones being offered and callback
// requests) in service order: priority (high first), then JoinedAt, then
// arrival sequence. A sorted slice: position lookup is a binary search,
// insert and remove move pointers only; a queue holds hundreds of calls, not
// millions.
type waitList struct{ items []*call }

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

func (w *waitList) len() int { return len(w.items) }

func (w *waitList) insert(c *call) {
	i := sort.Search(len(w.items), func(i int) bool { return before(c, w.items[i]) })
	w.items = append(w.items, nil)
	copy(w.items[i+1:], w.items[i:])
	w.items[i] = c
}

// index returns c's index, or -1.
func (w *waitList) index(c *call) int {
	i := sort.Search(len(w.items), func(i int) bool { return !before(w.items[i], c) })
	if i < len(w.items) && w.items[i] == c {
		return i
	}
	return -1
}

func (w *waitList) remove(c *call) bool {
	i := w.index(c)
	if i < 0 {
		return false
	}
	copy(w.items[i:], w.items[i+1:])
	w.items[len(w.items)-1] = nil
	w.items = w.items[:len(w.items)-1]
	if cap(w.items) > 64 && len(w.items) < cap(w.items)/4 {
		w.items = append([]*call(nil), w.items...)
	}
	return true
}
