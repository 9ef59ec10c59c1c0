package ari

import "sync"

// workers runs jobs in order per key (a call), with any number of keys in
// parallel. enqueue never blocks, so the loop can hand work out without
// waiting for Asterisk; a key's goroutine exists only while it has jobs.
type workers struct {
	mu sync.Mutex
	q  map[string][]func()
	wg sync.WaitGroup
}

func newWorkers() *workers { return &workers{q: map[string][]func(){}} }

func (w *workers) enqueue(key string, job func()) {
	w.mu.Lock()
	q := w.q[key]
	w.q[key] = append(q, job)
	start := len(q) == 0
	if start {
		w.wg.Add(1)
	}
	w.mu.Unlock()
	if start {
		go w.drain(key)
	}
}

// drain runs key's jobs; the running job stays at the head of the slice
// so that enqueue knows a goroutine is busy with the key.
func (w *workers) drain(key string) {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		job := w.q[key][0]
		w.mu.Unlock()
		job()
		w.mu.Lock()
		q := w.q[key][1:]
		if len(q) == 0 {
			delete(w.q, key)
			w.mu.Unlock()
			return
		}
		w.q[key] = q
		w.mu.Unlock()
	}
}

func (w *workers) wait() { w.wg.Wait() }
