package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/prometheus/client_golang/prometheus"
)

// CallEventAppender is what the EventWriter needs of the store.
type CallEventAppender interface {
	AppendCallEvents(ctx context.Context, evs []config.CallEvent) error
}

// EventLogOptions tune the EventWriter. The zero value keeps 100,000
// events in memory and has no spill file.
type EventLogOptions struct {
	// MemoryLimit is how many events wait in memory while the database
	// is away (default 100,000, ~50 MB); newer ones go to SpillPath.
	MemoryLimit int
	// SpillPath is the spill file (JSON lines, mode 0600: it holds
	// citizens' numbers). A file left there by an earlier run is written
	// first. Empty: no file; events beyond MemoryLimit stay in memory.
	SpillPath string
	// CloseTimeout bounds how long Close keeps writing (default 10 s);
	// what is left then goes to the spill file.
	CloseTimeout time.Duration
	// Clock times the retries (default the system clock).
	Clock queue.Clock
	// Registry gets the writer's metrics when set.
	Registry prometheus.Registerer
}

// Defaults of EventLogOptions.
const (
	DefaultEventMemoryLimit = 100_000
	eventBatch              = 500
	appendTimeout           = 10 * time.Second
	firstRetry              = 500 * time.Millisecond
	lastRetry               = 30 * time.Second
	setAsideLogsPerMinute   = 10
)

// EventWriter appends the call-event log to SQL in batches of 500, off
// the adapter's loop: the loop only appends to a slice.
//
// Nothing is lost on the way (issue 14). An event the store refuses is
// set aside alone: counted, and logged with its kind and ids (never the
// caller's number or its data). While the database does not answer, the
// events wait in order — in memory up to MemoryLimit, then in the spill
// file — and are written, oldest first, when it answers again; retries
// back off from 0.5 s to 30 s. A spill file is replayed on the next start.
type EventWriter struct {
	app   CallEventAppender
	orgs  *OrgIndex
	log   *slog.Logger
	clock queue.Clock
	opts  EventLogOptions

	// ctx bounds every write; Close cancels it CloseTimeout after it is
	// called, so a write the database never answers does not hold it.
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	in   []config.CallEvent // added, not yet taken by the loop
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once

	// Owned by the loop goroutine.
	bl        *backlog
	held      []config.CallEvent // taken, but the spill file would not take them yet
	failures  int                // writes failed in a row
	spillErr  bool               // the spill file failed (logged once until it works)
	logWindow time.Time          // start of the minute set-aside lines are counted in
	logged    int                // set-aside lines logged in it
	muted     int                // set-aside lines not logged in it

	// Read by Stats from any goroutine.
	memN, spillN             atomic.Int64
	written, invalid, failed atomic.Int64
}

// EventLogStats are the writer's counts.
type EventLogStats struct {
	Memory   int   // events waiting in memory
	Spilled  int   // events waiting in the spill file
	Written  int64 // events written since start
	Invalid  int64 // events set aside as refused
	Failures int64 // writes that failed because the database did not answer
}

// NewEventWriter starts a writer; Close flushes and stops it. It fails
// only when a spill file is there and cannot be read.
func NewEventWriter(app CallEventAppender, orgs *OrgIndex, log *slog.Logger, opts EventLogOptions) (*EventWriter, error) {
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = DefaultEventMemoryLimit
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = queue.SystemClock{}
	}
	w := &EventWriter{app: app, orgs: orgs, log: log, clock: opts.Clock, opts: opts,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	bl, err := openBacklog(opts.MemoryLimit, opts.SpillPath, w.unreadable)
	if err != nil {
		return nil, err
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.bl = bl
	if _, n := bl.len(); n > 0 {
		log.Warn("call-event log: replaying the spill file of an earlier run", "events", n, "file", opts.SpillPath)
	}
	w.count()
	if opts.Registry != nil {
		if err := w.register(opts.Registry); err != nil {
			bl.closeFile()
			w.cancel()
			return nil, err
		}
	}
	go w.run()
	return w, nil
}

func (w *EventWriter) register(reg prometheus.Registerer) error {
	gauge := func(where string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "omstil_call_event_backlog",
			Help:        "Call events waiting to be written to the database, in memory or in the spill file.",
			ConstLabels: prometheus.Labels{"where": where}}, f)
	}
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	for _, c := range []prometheus.Collector{
		gauge("memory", func() float64 { return float64(w.Stats().Memory) }),
		gauge("spill", func() float64 { return float64(w.Stats().Spilled) }),
		counter("omstil_call_events_written_total", "Call events written to the database.", &w.written),
		counter("omstil_call_events_invalid_total", "Call events set aside because the database cannot take them (logged with their kind and ids).", &w.invalid),
		counter("omstil_call_event_write_failures_total", "Writes of the call-event log that failed because the database did not answer (retried).", &w.failed),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("call-event log metrics: %w", err)
		}
	}
	return nil
}

// Stats returns the writer's counts.
func (w *EventWriter) Stats() EventLogStats {
	w.mu.Lock()
	mem := len(w.in) + int(w.memN.Load())
	w.mu.Unlock()
	return EventLogStats{Memory: mem, Spilled: int(w.spillN.Load()),
		Written: w.written.Load(), Invalid: w.invalid.Load(), Failures: w.failed.Load()}
}

// add queues ev; it never blocks.
func (w *EventWriter) add(ev config.CallEvent) {
	if ev.At.IsZero() {
		ev.At = w.clock.Now()
	}
	w.mu.Lock()
	w.in = append(w.in, ev)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Close writes what it can within CloseTimeout, puts the rest in the
// spill file, and stops the writer. Call it after the adapter has
// stopped. Safe to call twice.
func (w *EventWriter) Close() {
	w.once.Do(func() {
		close(w.quit)
		// A bound on I/O, not on behaviour: real time, like the timeouts.
		stop := time.AfterFunc(w.opts.CloseTimeout, w.cancel)
		<-w.done
		stop.Stop()
		w.cancel()
	})
	<-w.done
}

func (w *EventWriter) run() {
	defer close(w.done)
	var (
		timer queue.Timer
		retry <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		w.take()
		if retry == nil && !w.bl.empty() {
			ctx, cancel := context.WithTimeout(w.ctx, appendTimeout)
			err := w.writeBatch(ctx)
			cancel()
			if err != nil {
				timer = w.clock.NewTimer(w.failedWrite(err))
				retry = timer.C()
			} else if !w.bl.empty() || len(w.held) > 0 {
				select {
				case <-w.quit:
					w.shutdown()
					return
				default:
					continue
				}
			}
		}
		select {
		case <-w.kick:
		case <-retry:
			retry = nil
		case <-w.quit:
			w.shutdown()
			return
		}
	}
}

// take moves the added events into the backlog, setting aside those the
// store would refuse.
func (w *EventWriter) take() {
	w.mu.Lock()
	in := w.in
	w.in = nil
	w.memN.Add(int64(len(in))) // still in memory: Stats never sees them gone
	w.mu.Unlock()
	for _, ev := range in {
		if err := config.CheckCallEvent(ev); err != nil {
			w.setAside(ev, err)
			continue
		}
		w.held = append(w.held, ev)
	}
	if len(w.held) > 0 {
		n, err := w.bl.push(w.held)
		clear(w.held[:n])
		w.held = w.held[n:]
		if len(w.held) == 0 {
			w.held = nil
		}
		switch {
		case err != nil && !w.spillErr:
			w.spillErr = true
			w.log.Error("call-event log: cannot write the spill file; events wait in memory", "err", err, "waiting", len(w.held))
		case err == nil && w.spillErr && len(w.held) == 0:
			w.spillErr = false
			w.log.Info("call-event log: the spill file is written again")
		}
	}
	w.count()
}

func (w *EventWriter) count() {
	mem, sp := w.bl.len()
	w.memN.Store(int64(mem + len(w.held)))
	w.spillN.Store(int64(sp))
}

// writeBatch writes the oldest events, up to a batch. Its error is the
// database's: the events stay in the backlog.
func (w *EventWriter) writeBatch(ctx context.Context) error {
	defer w.count()
	batch, err := w.bl.peek(eventBatch)
	if err != nil {
		return err
	}
	n, err := w.push(ctx, batch)
	if derr := w.bl.drop(n); derr != nil {
		w.log.Error("call-event log: spill file", "err", derr)
	}
	if err != nil {
		return err
	}
	if w.failures > 0 {
		mem, sp := w.bl.len()
		w.log.Info("call-event log: the database answers again; writing the backlog", "after_failures", w.failures, "memory", mem, "spilled", sp)
		w.failures = 0
	}
	return nil
}

// push writes evs in order. It returns how many from the front are done
// (written, or refused and set aside) and the error that stopped it. A
// batch the store refuses is halved until the refused events are alone.
func (w *EventWriter) push(ctx context.Context, evs []config.CallEvent) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	err := w.app.AppendCallEvents(ctx, evs)
	switch {
	case err == nil:
		w.written.Add(int64(len(evs)))
		return len(evs), nil
	case !errors.Is(err, config.ErrCallEventRefused):
		return 0, err
	case len(evs) == 1:
		w.setAside(evs[0], err)
		return 1, nil
	}
	h := len(evs) / 2
	n, err := w.push(ctx, evs[:h])
	if err != nil || n < h {
		return n, err
	}
	m, err := w.push(ctx, evs[h:])
	return h + m, err
}

// failedWrite counts a write the database did not take and returns how
// long to wait before the next.
func (w *EventWriter) failedWrite(err error) time.Duration {
	w.failures++
	w.failed.Add(1)
	d := firstRetry << min(w.failures-1, 16)
	if d > lastRetry {
		d = lastRetry
	}
	if w.failures == 1 || d == lastRetry {
		mem, sp := w.bl.len()
		w.log.Error("call-event log: the database does not take events; keeping them", "err", err,
			"failures", w.failures, "memory", mem+len(w.held), "spilled", sp, "retry_in", d)
	}
	return d
}

// setAside counts an event the store refuses and logs what it is, never
// its caller or data; at most setAsideLogsPerMinute lines a minute.
func (w *EventWriter) setAside(ev config.CallEvent, err error) {
	w.invalid.Add(1)
	now := w.clock.Now()
	if now.Sub(w.logWindow) >= time.Minute {
		w.logWindow, w.logged = now, 0
	}
	if w.logged >= setAsideLogsPerMinute {
		w.muted++
		return
	}
	w.logged++
	attrs := []any{"reason", err, "kind", ev.Kind, "call", ev.CallID, "agent", ev.Agent, "queue", ev.Queue, "org", int64(ev.OrgID), "at", ev.At}
	if w.muted > 0 {
		attrs = append(attrs, "set_aside_unlogged", w.muted)
		w.muted = 0
	}
	w.log.Error("call-event log: event set aside", attrs...)
}

// unreadable reports a line of the spill file that is not an event.
func (w *EventWriter) unreadable(offset int64, err error) {
	w.invalid.Add(1)
	w.log.Error("call-event log: unreadable line in the spill file set aside", "file", w.opts.SpillPath, "offset", offset, "err", errText(err))
}

// errText is err's text when it is the store's refusal; a JSON error may
// quote part of the line, which may be a citizen's number.
func errText(err error) string {
	if errors.Is(err, config.ErrCallEventRefused) {
		return err.Error()
	}
	return "not a JSON call event"
}

// shutdown writes what it can until Close's bound, then spills the rest.
func (w *EventWriter) shutdown() {
	var err error
	w.take()
	for !w.bl.empty() && w.ctx.Err() == nil {
		actx, acancel := context.WithTimeout(w.ctx, appendTimeout)
		err = w.writeBatch(actx)
		acancel()
		if err != nil {
			break
		}
		w.take() // what waited for room
	}
	mem, sp := w.bl.len()
	left := mem + len(w.held)
	switch {
	case left == 0 && sp == 0:
		w.bl.closeFile()
		return
	case left > 0:
		if serr := w.bl.spillAll(w.held); serr != nil {
			w.log.Error("call-event log: events lost at stop: the database does not take them and the spill file cannot be written",
				"events", left, "err", err, "spill_err", serr)
			return
		}
		w.held = nil
		w.count()
	default:
		w.bl.closeFile()
	}
	w.log.Warn("call-event log: stopped with events not yet written; they are in the spill file and are written at the next start",
		"events", left+sp, "file", w.opts.SpillPath, "err", err)
}
