package telephony

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/omstil/omstil/config"
)

// backlog holds the call events not yet in the database, oldest first:
// up to limit in memory, the newer ones beyond that in a spill file of JSON
// lines. While the file holds events every new event goes to its end, so
// the order is always memory, then file. The file holds citizens' numbers:
// mode 0600, and it is removed as soon as its last event is written. How
// far it has been written is kept in a side file (path + ".pos"), so a
// restart replays only what is left (at most the batch being written at
// the crash is written twice).
//
// Owned by the EventWriter's goroutine; nothing here is safe for
// concurrent use.
type backlog struct {
	limit int
	path  string // "" = no spill file: events beyond limit wait in the writer's memory

	mem []config.CallEvent

	// The spill file: events [off, size) are not yet written, spilled of
	// them (lines, some perhaps unreadable).
	w       *os.File // open for appending; nil when there is no file
	r       *os.File
	size    int64
	off     int64
	spilled int

	// peek caches what was read from the file and not yet dropped, so
	// that a retry does not read (and count) it again.
	pk []spillRead

	invalid func(line int64, err error) // an unreadable line was skipped
}

// spillRead is one event read from the spill file and where it ends.
type spillRead struct {
	ev    config.CallEvent
	end   int64 // file offset after its line
	lines int   // lines consumed up to and including it, from the peek's start
}

// spillEvent is a call event as a line of the spill file. Its own type, so
// the file's format does not change with the gorm model.
type spillEvent struct {
	Org    config.OrgID `json:"org"`
	At     time.Time    `json:"at"`
	Call   string       `json:"call,omitempty"`
	Kind   string       `json:"kind"`
	Queue  string       `json:"queue,omitempty"`
	Agent  string       `json:"agent,omitempty"`
	Caller string       `json:"caller,omitempty"`
	WaitMS int64        `json:"wait_ms,omitempty"`
	Data   string       `json:"data,omitempty"`
}

func toSpill(e config.CallEvent) spillEvent {
	return spillEvent{Org: e.OrgID, At: e.At, Call: e.CallID, Kind: e.Kind, Queue: e.Queue, Agent: e.Agent, Caller: e.Caller, WaitMS: e.WaitMS, Data: e.Data}
}

func (s spillEvent) event() config.CallEvent {
	return config.CallEvent{OrgID: s.Org, At: s.At, CallID: s.Call, Kind: s.Kind, Queue: s.Queue, Agent: s.Agent, Caller: s.Caller, WaitMS: s.WaitMS, Data: s.Data}
}

// openBacklog opens the spill file a previous run left, if any: its
// events are the oldest of the backlog. A last line cut short by a crash
// is cut off.
func openBacklog(limit int, path string, invalid func(int64, error)) (*backlog, error) {
	b := &backlog{limit: max(limit, 1), path: path, invalid: invalid}
	if path == "" {
		return b, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		os.Remove(b.posPath())
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("call-event spill file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("call-event spill file: %w", err)
	}
	// Count the lines after the written position; find the last newline.
	off := b.readPos()
	var lines int
	var end, pos int64
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		pos += int64(len(line))
		if err == nil {
			end = pos
			if pos > off {
				lines++
			}
			continue
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: keep reading it.
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				pos += int64(len(line))
			}
			if err == nil {
				end = pos
				if pos > off {
					lines++
				}
				continue
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		f.Close()
		return nil, fmt.Errorf("call-event spill file: read: %w", err)
	}
	if end < pos {
		if err := f.Truncate(end); err != nil {
			f.Close()
			return nil, fmt.Errorf("call-event spill file: cut off a torn last line: %w", err)
		}
	}
	if off > end {
		off = 0 // a position from another file: replay it all
	}
	f.Close()
	b.size, b.off, b.spilled = end, off, lines
	if lines == 0 {
		b.removeFile()
		return b, nil
	}
	if b.w, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		return nil, fmt.Errorf("call-event spill file: %w", err)
	}
	if b.r, err = os.Open(path); err != nil {
		b.w.Close()
		return nil, fmt.Errorf("call-event spill file: %w", err)
	}
	return b, nil
}

func (b *backlog) posPath() string { return b.path + ".pos" }

func (b *backlog) readPos() int64 {
	v, err := os.ReadFile(b.posPath())
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// writePos records how far the file is written; atomic by rename, so a
// crash leaves the old position or the new one.
func (b *backlog) writePos() error {
	tmp := b.posPath() + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(b.off, 10)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, b.posPath())
}

// len returns the events in memory and in the spill file.
func (b *backlog) len() (mem, spilled int) { return len(b.mem), b.spilled }

func (b *backlog) empty() bool { return len(b.mem) == 0 && b.spilled == 0 }

// push takes evs, in order, into memory while there is room and the file
// is empty, the rest into the file. It returns how many it took; fewer
// than len(evs) only when the file cannot be written (or there is none):
// the caller keeps the others and offers them again.
func (b *backlog) push(evs []config.CallEvent) (int, error) {
	n := 0
	if b.spilled == 0 {
		n = min(len(evs), b.limit-len(b.mem))
		b.mem = append(b.mem, evs[:n]...)
	}
	if n == len(evs) {
		return n, nil
	}
	if b.path == "" {
		return n, nil
	}
	if err := b.appendFile(evs[n:]); err != nil {
		return n, err
	}
	return len(evs), nil
}

// appendFile writes evs at the end of the spill file and syncs it.
func (b *backlog) appendFile(evs []config.CallEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if b.w == nil {
		w, err := os.OpenFile(b.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("call-event spill file: %w", err)
		}
		r, err := os.Open(b.path)
		if err != nil {
			w.Close()
			return fmt.Errorf("call-event spill file: %w", err)
		}
		b.w, b.r, b.size, b.off = w, r, 0, 0
		os.Remove(b.posPath())
	}
	data, err := encodeLines(evs)
	if err != nil {
		return err
	}
	n, err := b.w.Write(data)
	if err == nil {
		err = b.w.Sync()
	}
	if err != nil {
		// Cut a partial write off again, so the file stays whole lines.
		if n > 0 {
			b.w.Truncate(b.size)
		}
		return fmt.Errorf("call-event spill file: write: %w", err)
	}
	b.size += int64(n)
	b.spilled += len(evs)
	return nil
}

// peek returns up to n of the oldest events, without taking them.
func (b *backlog) peek(n int) ([]config.CallEvent, error) {
	if len(b.mem) > 0 {
		return b.mem[:min(n, len(b.mem))], nil
	}
	if b.spilled == 0 {
		return nil, nil
	}
	if len(b.pk) == 0 {
		if err := b.readFile(n); err != nil {
			return nil, err
		}
	}
	out := make([]config.CallEvent, min(n, len(b.pk)))
	for i := range out {
		out[i] = b.pk[i].ev
	}
	return out, nil
}

// readFile reads up to n events after off into the peek cache. Lines that
// are not a valid event are reported and skipped; when only such lines
// are left they are dropped at once.
func (b *backlog) readFile(n int) error {
	br := bufio.NewReader(io.NewSectionReader(b.r, b.off, b.size-b.off))
	pos, lines := b.off, 0
	for len(b.pk) < n && lines < b.spilled {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("call-event spill file: read: %w", err)
		}
		start := pos
		pos += int64(len(line))
		lines++
		var s spillEvent
		err = json.Unmarshal(line, &s)
		if err == nil {
			err = config.CheckCallEvent(s.event())
		}
		if err != nil {
			b.invalid(start, err)
			continue
		}
		b.pk = append(b.pk, spillRead{ev: s.event(), end: pos, lines: lines})
	}
	if len(b.pk) == 0 && lines > 0 {
		return b.consume(pos, lines)
	}
	return nil
}

// drop takes the k oldest events (written, or set aside) out.
func (b *backlog) drop(k int) error {
	if k == 0 {
		return nil
	}
	if len(b.mem) > 0 {
		clear(b.mem[:k])
		b.mem = b.mem[k:]
		if len(b.mem) == 0 {
			b.mem = nil
		}
		return nil
	}
	last := b.pk[k-1]
	rest := b.pk[k:]
	for i := range rest {
		rest[i].lines -= last.lines
	}
	b.pk = rest
	return b.consume(last.end, last.lines)
}

// consume moves the written position to off, lines further on; when the
// file is all written it is removed.
func (b *backlog) consume(off int64, lines int) error {
	b.off, b.spilled = off, b.spilled-lines
	if b.spilled > 0 {
		return b.writePos()
	}
	return b.removeFile()
}

func (b *backlog) removeFile() error {
	b.closeFile()
	b.size, b.off, b.spilled, b.pk = 0, 0, 0, nil
	err := os.Remove(b.path)
	os.Remove(b.posPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("call-event spill file: remove: %w", err)
	}
	return nil
}

func (b *backlog) closeFile() {
	if b.w != nil {
		b.w.Close()
		b.r.Close()
		b.w, b.r = nil, nil
	}
}

// spillAll puts everything left, and then extra, into the spill file in
// order (memory, what the file holds, extra), for the next start to
// write. It is what Close does when the database is away.
func (b *backlog) spillAll(extra []config.CallEvent) error {
	if len(b.mem) == 0 && len(extra) == 0 {
		b.closeFile()
		return nil
	}
	if b.path == "" {
		return errors.New("no call-event spill file is set")
	}
	if b.spilled == 0 {
		err := b.appendFile(append(b.mem, extra...))
		b.mem = nil
		b.closeFile()
		return err
	}
	// Memory is older than the file: write a new file, memory first.
	head, err := encodeLines(b.mem)
	if err != nil {
		return err
	}
	tail, err := encodeLines(extra)
	if err != nil {
		return err
	}
	tmp := b.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("call-event spill file: %w", err)
	}
	defer os.Remove(tmp)
	_, err = f.Write(head)
	if err == nil {
		_, err = io.Copy(f, io.NewSectionReader(b.r, b.off, b.size-b.off))
	}
	if err == nil {
		_, err = f.Write(tail)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, b.path)
	}
	if err != nil {
		return fmt.Errorf("call-event spill file: %w", err)
	}
	os.Remove(b.posPath())
	b.mem = nil
	b.closeFile()
	return nil
}

func encodeLines(evs []config.CallEvent) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range evs {
		if err := enc.Encode(toSpill(e)); err != nil {
			return nil, fmt.Errorf("call-event spill file: encode: %w", err)
		}
	}
	return buf.Bytes(), nil
}
