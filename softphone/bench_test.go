package softphone

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func BenchmarkRewrite(b *testing.B) {
	w := newRewriter(1, 1)
	h := rtp.Header{SSRC: 7}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.SequenceNumber, h.Timestamp = uint16(i), uint32(i*160)
		w.rewrite(&h, 160, now)
	}
}

// countSink signals every packet it is given.
type countSink chan struct{}

func (c countSink) WriteRTP(*rtp.Packet) error {
	c <- struct{}{}
	return nil
}

// BenchmarkRelayAsteriskToSink: one packet from the fake Asterisk's socket
// through the relay to the browser-side writer, one at a time: the
// latency of one loopback UDP hop plus the relay.
func BenchmarkRelayAsteriskToSink(b *testing.B) {
	m := newTestManager(b, 47400, 47409)
	s, _ := m.openSession("a")
	sink := make(countSink, 1)
	s.down.setSink(sink)
	addr, err := s.AttachCall("c")
	if err != nil {
		b.Fatal(err)
	}
	ast := newFakeAsterisk(b, "127.0.0.1")
	to := netip.MustParseAddrPort(addr)
	raw, _ := pcmu(1, 1, 1, 0).Marshal()
	b.ReportAllocs()
	for b.Loop() {
		ast.conn.WriteToUDPAddrPort(raw, to)
		<-sink
	}
}

// BenchmarkRelayBrowserToAsterisk: the cost of relaying one packet of the
// agent's microphone to Asterisk (rewrite, marshal, sendto).
func BenchmarkRelayBrowserToAsterisk(b *testing.B) {
	m := newTestManager(b, 47410, 47419)
	s, _ := m.openSession("a")
	s.AttachCall("c")
	ast := newFakeAsterisk(b, "127.0.0.1")
	s.SetRemote("c", ast.addr())
	r := s.cur.Load()
	p := pcmu(1, 1, 1, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*160)
		r.fromBrowser(p)
	}
}

// BenchmarkTrackWriteSRTP: pion's part of the Asterisk → browser path, one
// packet written to a connected PeerConnection's track (SRTP encryption and
// sendto), for comparison with the relay's own cost.
func BenchmarkTrackWriteSRTP(b *testing.B) {
	m := newTestManager(b, 47420, 47429)
	openBrowser(b, m, "a")
	s, _ := m.Session("a")
	box := s.down.sink.Load()
	if box == nil {
		b.Fatal("no track")
	}
	track := box.w.(*webrtc.TrackLocalStaticRTP)
	p := pcmu(1, 1, 1, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*160)
		if err := track.WriteRTP(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRelayLoad is the load tool: N concurrent calls, each with 50 packets
// a second in both directions, spread evenly over the 20 ms frame, with the
// send time in the payload. Asterisk → browser: fake Asterisk socket → relay
// socket → relay → browser-side writer (a UDP send to a collector, standing
// in for pion's SRTP write) → collector. Browser → Asterisk: a UDP socket
// standing in for pion's ICE socket → a reader goroutine (pion's track
// reader) → relay → fake Asterisk socket. The delays reported are end to
// end over two loopback hops, so they bound the relay's added delay from
// above; the load generator runs in the same process.
func TestRelayLoad(t *testing.T) {
	spec := os.Getenv("OMSTIL_RELAY_LOAD")
	if spec == "" {
		t.Skip("load tool: set OMSTIL_RELAY_LOAD=250,500,1000 (concurrent calls) and optionally OMSTIL_RELAY_LOAD_SECONDS (default 10)")
	}
	seconds := 10
	if v := os.Getenv("OMSTIL_RELAY_LOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("OMSTIL_RELAY_LOAD_SECONDS=%q: want a number >= 2", v)
		}
		seconds = n
	}
	t.Logf("%6s %10s %8s %8s %8s %8s %8s %7s  %s", "calls", "direction", "packets", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "lost %", "CPU (whole process)")
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("OMSTIL_RELAY_LOAD: %q is not a number of calls", f)
		}
		runRelayLoad(t, n, time.Duration(seconds)*time.Second)
	}
}

const stampOffset = 0 // payload bytes 0-7: send time in ns since base

type delays struct {
	mu   sync.Mutex
	list []int64
}

func (d *delays) add(ns []int64) {
	d.mu.Lock()
	d.list = append(d.list, ns...)
	d.mu.Unlock()
}

// udpSink stands in for the browser track: one sendto per packet.
type udpSink struct {
	conn *net.UDPConn
	to   netip.AddrPort
	buf  []byte
}

func (u *udpSink) WriteRTP(p *rtp.Packet) error {
	n, err := p.MarshalTo(u.buf)
	if err != nil {
		return err
	}
	_, err = u.conn.WriteToUDPAddrPort(u.buf[:n], u.to)
	return err
}

func listenLoop(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	c.SetWriteBuffer(4 << 20)
	return c
}

// readStamps reads packets from c until it is closed, recording the delay of
// those sent after warm.
func readStamps(c *net.UDPConn, base time.Time, warm *atomic.Int64, out *delays, got *atomic.Int64, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	var local []int64
	for {
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		now := int64(time.Since(base))
		if n < 12+8 {
			continue
		}
		stamp := int64(binary.BigEndian.Uint64(buf[12+stampOffset:]))
		if stamp >= warm.Load() {
			local = append(local, now-stamp)
			got.Add(1)
		}
	}
	out.add(local)
}

func runRelayLoad(t *testing.T, n int, dur time.Duration) {
	const frame = 20 // ms, one packet per call per direction
	m, err := New(Config{PortMin: 50000, PortMax: 50000 + n + 99, LoopbackOnly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	base := time.Now()
	var warm atomic.Int64 // packets sent before this are not measured
	warm.Store(math.MaxInt64)
	var down, up delays
	var gotDown, gotUp, sentDown, sentUp, skipped atomic.Int64
	var readers sync.WaitGroup
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	const collectors = 4
	var coll []*net.UDPConn
	for range collectors {
		c := listenLoop(t)
		coll = append(coll, c)
		conns = append(conns, c)
		readers.Add(1)
		go readStamps(c, base, &warm, &down, &gotDown, &readers)
	}
	sinkConn := listenLoop(t)
	browserConn := listenLoop(t)
	conns = append(conns, sinkConn, browserConn)

	type call struct {
		ast   *net.UDPConn
		relay netip.AddrPort
		ice   netip.AddrPort
	}
	calls := make([]call, n)
	for i := range calls {
		s, err := m.openSession(AgentID(fmt.Sprint("agent-", i)))
		if err != nil {
			t.Fatal(err)
		}
		s.down.setSink(&udpSink{conn: sinkConn, to: coll[i%collectors].LocalAddr().(*net.UDPAddr).AddrPort(), buf: make([]byte, 1500)})
		addr, err := s.AttachCall(CallID(fmt.Sprint("call-", i)))
		if err != nil {
			t.Fatal(err)
		}
		ast := listenLoop(t)
		ice := listenLoop(t)
		conns = append(conns, ast, ice)
		readers.Add(2)
		go readStamps(ast, base, &warm, &up, &gotUp, &readers)
		go func() { // pion's track reader, in effect
			defer readers.Done()
			buf := make([]byte, 1500)
			var p rtp.Packet
			for {
				k, _, err := ice.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				if p.Unmarshal(buf[:k]) != nil {
					continue
				}
				if r := s.cur.Load(); r != nil {
					r.fromBrowser(&p)
				}
			}
		}()
		calls[i] = call{ast: ast, relay: netip.MustParseAddrPort(addr), ice: ice.LocalAddr().(*net.UDPAddr).AddrPort()}
	}

	var before, after syscall.Rusage
	stop := make(chan struct{}, 1)
	var senders sync.WaitGroup
	const senderCount = 2
	for g := range senderCount {
		senders.Add(1)
		go func() {
			defer senders.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			pkt := pcmu(0, 0, 0, 0xFF)
			buf := make([]byte, 1500)
			var seq uint16
			t0 := time.Now()
			next := 0 // the next millisecond to send for; late ticks catch up
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				nowMs := int(time.Since(t0) / time.Millisecond)
				if nowMs-next > frame {
					// Starved for more than a frame: skip, as a real
					// sender's clock would, rather than burst.
					skipped.Add(int64(nowMs - frame - next))
					next = nowMs - frame
				}
				for ; next <= nowMs && len(stop) == 0; next++ {
					slot := next % frame
					if slot == 0 {
						seq++
					}
					for i := g; i < n; i += senderCount {
						if i%frame != slot {
							continue
						}
						c := calls[i]
						pkt.SSRC, pkt.SequenceNumber, pkt.Timestamp = uint32(i+1), seq, uint32(seq)*160
						binary.BigEndian.PutUint64(pkt.Payload[stampOffset:], uint64(time.Since(base)))
						k, _ := pkt.MarshalTo(buf)
						if _, err := c.ast.WriteToUDPAddrPort(buf[:k], c.relay); err == nil {
							sentDown.Add(1)
						}
						binary.BigEndian.PutUint64(buf[12+stampOffset:], uint64(time.Since(base)))
						if _, err := browserConn.WriteToUDPAddrPort(buf[:k], c.ice); err == nil {
							sentUp.Add(1)
						}
					}
				}
			}
		}()
	}
	// The load runs for dur, the first second unmeasured; these waits are
	// the measurement, not waits for a goroutine.
	time.Sleep(time.Second)
	sentDown.Store(0)
	sentUp.Store(0)
	skipped.Store(0)
	warm.Store(int64(time.Since(base)))
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	time.Sleep(dur)
	stop <- struct{}{}
	close(stop)
	senders.Wait()
	elapsed := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	// Let the last packets land before the sockets close.
	time.Sleep(100 * time.Millisecond)
	for _, c := range conns {
		c.Close()
	}
	m.Close()
	readers.Wait()
	conns = nil

	if k := skipped.Load(); k > 0 {
		t.Logf("%6d calls: the load generator was starved and skipped %d ms of sending", n, k/senderCount)
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	cores := float64(cpu) / float64(elapsed)
	for _, d := range []struct {
		name       string
		list       []int64
		sent, recv int64
	}{{"to-browser", down.list, sentDown.Load(), gotDown.Load()}, {"to-ast", up.list, sentUp.Load(), gotUp.Load()}} {
		slices.Sort(d.list)
		q := func(f float64) float64 {
			if len(d.list) == 0 {
				return 0
			}
			return float64(d.list[min(len(d.list)-1, int(f*float64(len(d.list))))]) / 1e6
		}
		lost := 0.0
		if d.sent > 0 {
			lost = 100 * float64(max(0, d.sent-d.recv)) / float64(d.sent)
		}
		t.Logf("%6d %10s %8d %8.3f %8.3f %8.3f %8.3f %7.3f  %.2f cores incl. generator; loadavg %s",
			n, d.name, len(d.list), q(0.5), q(0.99), q(0.999), q(1), lost, cores, loadavg())
	}
}

// loadavg is the machine's 1-minute load average: other people's work on a
// shared machine shows in the delays.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
