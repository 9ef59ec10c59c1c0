package softphone

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// mux is the shared relay socket (Config.SharedPort): one UDP socket for
// the audio of every browser call. Asterisk sends each call's RTP to it
// from that externalMedia channel's own RTP address
// (UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT), which tells the calls
// apart; the agents' audio goes back from it to that address. Packets are
// read in batches (recvmmsg on Linux) and written in batches (sendmmsg):
// with a socket per call, every packet cost a system call each way, which
// is what limits the number of calls on a small machine (see
// docs/performance.md).
type mux struct {
	mc   *muxConn
	w    *batchWriter // the agents' audio
	addr string
	log  *slog.Logger

	foreign atomic.Uint64 // packets from an address no call has
	strays  strays        // the reader's watch on them
	// system calls and packets read, for the load tool
	reads, readPkts atomic.Uint64

	mu    sync.RWMutex
	calls map[netip.AddrPort]*relay

	reader sync.WaitGroup
}

type outPacket struct {
	buf *[]byte
	n   int
	to  netip.AddrPort
}

// muxBatch is how many packets one system call reads or writes at most.
const muxBatch = 64

// bufPool holds packet buffers on their way to the writer.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1500); return &b }}

func newMux(conn *net.UDPConn, log *slog.Logger) (*mux, error) {
	conn.SetReadBuffer(4 << 20)
	conn.SetWriteBuffer(4 << 20)
	enableRxTime(conn)
	mc, err := newMuxConn(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	m := &mux{
		mc: mc, w: newBatchWriter(mc, log), addr: conn.LocalAddr().String(), log: log,
		calls: map[netip.AddrPort]*relay{},
	}
	m.reader.Add(1)
	go m.read()
	return m, nil
}

// register routes packets from Asterisk's address ap to r. Another call's
// registration for the same address is an error: Asterisk gives every
// externalMedia channel a port of its own.
func (m *mux) register(ap netip.AddrPort, r *relay) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if other := m.calls[ap]; other != nil && other != r {
		return fmt.Errorf("softphone: Asterisk address %s already belongs to call %s", ap, other.call)
	}
	m.calls[ap] = r
	return nil
}

// unregister removes every route to r.
func (m *mux) unregister(r *relay) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ap, x := range m.calls {
		if x == r {
			delete(m.calls, ap)
		}
	}
}

func (m *mux) read() {
	defer m.reader.Done()
	var p rtp.Packet
	for {
		k, err := m.mc.readBatch()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.log.Debug("softphone: shared relay read", "err", err)
			continue
		}
		m.reads.Add(1)
		m.readPkts.Add(uint64(k))
		m.mu.RLock()
		for i := range k {
			b, src, arrived := m.mc.packet(i)
			r := m.calls[src]
			if r == nil {
				m.foreign.Add(1)
				m.strays.seen(src, time.Now(), m.log)
				continue
			}
			r.fromAsterisk(b, arrived, &p)
		}
		m.mu.RUnlock()
	}
}

// strays watches the packets that reach the shared port from an address
// no call has. A few are normal: late audio of a call that just ended, or
// the first packets of one whose address is not registered yet. A steady
// stream is not: Asterisk's audio arriving from another address than the
// externalMedia channel's own, as behind NAT, which the shared port cannot
// take, so an agent hears nothing. Such a source is logged once per
// window. Only the mux's reader uses it.
type strays struct {
	since time.Time
	count map[netip.AddrPort]int
}

const (
	strayWindow = time.Minute
	// strayWarnAfter packets from one source within strayWindow: 2 s of
	// a call's audio.
	strayWarnAfter = 100
	// strayMax sources are counted per window, so a flood of sources
	// cannot grow the map.
	strayMax = 1024
)

func (s *strays) seen(src netip.AddrPort, now time.Time, log *slog.Logger) {
	if s.count == nil || now.Sub(s.since) > strayWindow {
		s.since, s.count = now, make(map[netip.AddrPort]int)
	}
	n, ok := s.count[src]
	if !ok && len(s.count) >= strayMax {
		return
	}
	s.count[src] = n + 1
	if n+1 == strayWarnAfter {
		log.Warn("softphone: shared relay port: RTP from an address no call has (dropped)",
			"from", src.String(), "packets", strayWarnAfter, "within", strayWindow.String(),
			"hint", "with OMSTIL_RTP_SHARED each call's RTP must arrive from its externalMedia channel's own address (UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT): no NAT between Asterisk and omstil")
	}
}

// batchWriter queues packets for one socket and writes them in batches
// (muxConn.writeBatch) from a goroutine of its own: the shared port's
// writer, and the load tool's batched baseline.
type batchWriter struct {
	mc  *muxConn
	log *slog.Logger
	// system calls and packets written, for the load tool
	writes, writePkts atomic.Uint64

	mu     sync.Mutex
	queue  []outPacket
	wake   chan struct{}
	closed chan struct{}
	done   chan struct{}
}

func newBatchWriter(mc *muxConn, log *slog.Logger) *batchWriter {
	w := &batchWriter{mc: mc, log: log, wake: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// send queues a copy of b for the address to.
func (w *batchWriter) send(b []byte, to netip.AddrPort) error {
	buf := bufPool.Get().(*[]byte)
	n := copy(*buf, b)
	w.mu.Lock()
	w.queue = append(w.queue, outPacket{buf, n, to})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

func (w *batchWriter) run() {
	defer close(w.done)
	var out []outPacket
	for {
		select {
		case <-w.wake:
		case <-w.closed:
			return
		}
		w.mu.Lock()
		out, w.queue = w.queue, out[:0]
		w.mu.Unlock()
		for start := 0; start < len(out); start += muxBatch {
			part := out[start:min(start+muxBatch, len(out))]
			calls, failed, err := w.mc.writeBatch(part)
			if err != nil && !errors.Is(err, net.ErrClosed) {
				w.log.Debug("softphone: shared relay write", "err", err, "dropped", failed)
			}
			w.writes.Add(uint64(calls))
			w.writePkts.Add(uint64(len(part) - failed))
			for _, o := range part {
				bufPool.Put(o.buf)
			}
		}
		clear(out)
	}
}

// stop ends the writer; packets still queued are not sent.
func (w *batchWriter) stop() {
	close(w.closed)
	<-w.done
}

func (m *mux) close() {
	m.mc.closeRead()
	m.reader.Wait()
	m.w.stop()
	m.mc.closeWrite()
}
