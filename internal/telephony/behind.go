package telephony

import "sync"

// behind takes items from a goroutine that must not block (the adapter's
// loop) and hands them, in order, to write on a goroutine of its own.
type behind[T any] struct {
	write func([]T)
	mu    sync.Mutex
	buf   []T
	wmu   sync.Mutex // one write at a time, so items keep their order
	kick  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newBehind[T any](write func([]T)) *behind[T] {
	b := &behind[T]{write: write, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// add queues v; it never blocks.
func (b *behind[T]) add(v T) {
	b.mu.Lock()
	b.buf = append(b.buf, v)
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *behind[T]) loop() {
	defer close(b.done)
	for {
		select {
		case <-b.kick:
		case <-b.quit:
			b.flush()
			return
		}
		b.flush()
	}
}

// flush writes what is queued now; a caller that must see earlier items
// written (a read after them) calls it first.
func (b *behind[T]) flush() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	items := b.buf
	b.buf = nil
	b.mu.Unlock()
	if len(items) > 0 {
		b.write(items)
	}
}

// close writes what is queued and stops. Safe to call twice.
func (b *behind[T]) close() {
	b.once.Do(func() { close(b.quit) })
	<-b.done
}
