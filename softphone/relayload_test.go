package softphone

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
)

// relayFrame is the packet interval of a call in each direction (ms).
const relayFrame = 20

// TestRelayLoad is the relay's load tool: N concurrent calls, each with 50
// packets a second in both directions, spread evenly over the 20 ms frame,
// with the wall-clock send time in the first 8 payload bytes.
//
// The relay runs in this process; "Asterisk" (the fake externalMedia
// sockets sending call audio and receiving the agent's) runs in a second
// process, TestRelayLoadGenerator, started under nice 19, so that the load
// it makes stands in for the network and a separate Asterisk and does not
// compete with the relay inside one Go scheduler. The agents' audio is fed
// in this process, as pion's track readers do, by two goroutines.
//
// With OMSTIL_RELAY_BASELINE set, the relay is replaced by the least a
// process can do: one plain UDP socket per call, read by its own goroutine
// (the "in the relay" row is then arrival → read), and the agents' audio
// sent from it as is: what this machine gives any Go program at that load.
// OMSTIL_RELAY_SHARED=1 runs the relay on one shared port
// (Config.SharedPort); each call's "Asterisk" then sends from a loopback
// address of its own. OMSTIL_RELAY_BASELINE=batch is the same with one
// socket for every call and the shared port's system calls (muxConn):
// Asterisk's packets read in batches (recvmmsg) and told apart by SSRC,
// the agents' audio queued and sent in batches (sendmmsg), but nothing of
// the relay behind them: the floor of the shared port.
//
// Reported per direction, both end to end and the relay's own part:
//
//   - to the browser: from the generator's sendmmsg to the end of the
//     track write (a recording stub in place of pion's SRTP write, measured
//     by BenchmarkTrackWriteSRTP); and "in the relay", from the kernel's
//     arrival stamp on the call's relay socket (SO_TIMESTAMPNS, so waiting
//     to be read counts) to the end of the track write;
//   - to Asterisk: from handing a browser packet to the relay to the
//     generator's read; and "relay call → kernel arrival", to the kernel's
//     arrival stamp on the fake Asterisk socket.
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
	t.Logf("%6s %-36s %8s %8s %8s %8s %8s %7s", "calls", "direction, measured", "packets", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "lost %")
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("OMSTIL_RELAY_LOAD: %q is not a number of calls", f)
		}
		runRelayLoad(t, n, time.Duration(seconds)*time.Second, os.Getenv("OMSTIL_RELAY_BASELINE"))
	}
}

// latencies summarises a list of delays (ns).
type latencies struct {
	N                   int
	P50, P99, P999, Max float64 // ms
}

func summarise(list []int64) latencies {
	slices.Sort(list)
	q := func(f float64) float64 {
		if len(list) == 0 {
			return 0
		}
		return float64(list[min(len(list)-1, int(f*float64(len(list))))]) / 1e6
	}
	return latencies{N: len(list), P50: q(0.5), P99: q(0.99), P999: q(0.999), Max: q(1)}
}

// genResult is what the generator process reports.
type genResult struct {
	SentDown   int64 // packets sent to the relay after the warm-up
	Skipped    int64 // ms of sending skipped because the generator was starved
	Up, UpKern latencies
	CPU        float64 // cores used by the generator
}

// wallStamp stamps packets: both processes read the same wall clock.
func wallStamp() int64 { return time.Now().UnixNano() }

// stampSink stands in for the browser track: it records each packet's
// delay from its send stamp. The relay calls it from one goroutine at a
// time (under the downlink lock).
type stampSink struct {
	warm *atomic.Int64
	list []int64
}

func (s *stampSink) WriteRTP(p *rtp.Packet) error {
	now := wallStamp()
	if stamp := int64(binary.BigEndian.Uint64(p.Payload)); stamp >= s.warm.Load() {
		s.list = append(s.list, now-stamp)
	}
	return nil
}

func runRelayLoad(t *testing.T, n int, dur time.Duration, mode string) {
	baseline, batched := mode != "", mode == "batch"
	sharedPort := os.Getenv("OMSTIL_RELAY_SHARED") != ""
	m, err := New(Config{PortMin: 50000, PortMax: 50000 + n + 99, LoopbackOnly: true, SharedPort: sharedPort}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Every call's delay is measured (omstil samples one in eight); the
	// stamps make the relay's CPU figure a little pessimistic.
	m.ports.stampEvery = 1

	// The generator process, under nice 19 where nice exists.
	args := []string{os.Args[0], "-test.run", "^TestRelayLoadGenerator$"}
	if os.Getenv("OMSTIL_RELAY_GEN_IDLE") != "" {
		// SCHED_IDLE: the generator runs only when the relay does not want
		// the CPU, as if "Asterisk" had cores of its own
		chrt, err := exec.LookPath("chrt")
		if err != nil {
			t.Fatalf("OMSTIL_RELAY_GEN_IDLE needs chrt: %v", err)
		}
		args = append([]string{chrt, "--idle", "0"}, args...)
	} else if nice, err := exec.LookPath("nice"); err == nil {
		args = append([]string{nice, "-n", "19"}, args...)
	} else {
		t.Logf("nice not found: the generator runs at normal priority")
	}
	gen := exec.Command(args[0], args[1:]...)
	gen.Env = append(os.Environ(), "OMSTIL_RELAY_GEN="+strconv.Itoa(n))
	if sharedPort {
		// every call's "Asterisk" has an address of its own, as every
		// externalMedia channel has
		gen.Env = append(gen.Env, "OMSTIL_RELAY_GEN_SPREAD=1")
	}
	gen.Stderr = os.Stderr
	in, err := gen.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := gen.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	defer gen.Process.Kill()
	out := bufio.NewScanner(outPipe)
	out.Buffer(make([]byte, 1<<20), 1<<20)
	line := func(prefix string) string {
		for out.Scan() {
			if v, ok := strings.CutPrefix(out.Text(), prefix); ok {
				return v
			}
		}
		t.Fatalf("generator: no %q line (%v)", prefix, out.Err())
		return ""
	}
	astAddr := line("ADDR ")

	var warm atomic.Int64 // packets stamped before this are not measured
	warm.Store(math.MaxInt64)
	var relayMu sync.Mutex
	// Room for every packet of the run, so that growing the lists never
	// copies megabytes under the lock the relay's reader takes to record a
	// delay (that stalled it for milliseconds in 30 s runs).
	perCall := 1000 / relayFrame * int(dur/time.Second+2)
	inRelay := make([]int64, 0, n*perCall)
	hist := &delayHist{hook: func(d time.Duration) {
		if warm.Load() < wallStamp() {
			relayMu.Lock()
			inRelay = append(inRelay, int64(d))
			relayMu.Unlock()
		}
	}}
	type call struct {
		up   func(*rtp.Packet) // the agent's audio, as pion's reader hands it on
		sink *stampSink
	}
	calls := make([]call, n)
	w := bufio.NewWriter(in)
	var bare sync.WaitGroup // the baseline's readers
	var bareConns []*net.UDPConn
	var shared *batchSocket
	if batched {
		shared = newBatchSocket(t, n, hist, astAddr, &bare)
		bareConns = append(bareConns, shared.conn)
	}
	for i := range calls {
		c := &calls[i]
		c.sink = &stampSink{warm: &warm, list: make([]int64, 0, perCall)}
		if batched {
			shared.sinks[i] = c.sink
			c.up = shared.send
			fmt.Fprintln(w, shared.conn.LocalAddr().String())
			continue
		}
		if baseline {
			conn := bareSocket(t, c.sink, hist, astAddr, &c.up, &bare)
			bareConns = append(bareConns, conn)
			addr := conn.LocalAddr().String()
			fmt.Fprintln(w, addr)
			continue
		}
		s, err := m.openSession(AgentID(fmt.Sprint("agent-", i)))
		if err != nil {
			t.Fatal(err)
		}
		s.down.setSink(c.sink)
		s.st.delay = hist
		id := CallID(fmt.Sprint("call-", i))
		addr, err := s.AttachCall(id)
		if err != nil {
			t.Fatal(err)
		}
		c.up = s.cur.Load().fromBrowser
		remote := astAddr
		if sharedPort {
			remote = spreadAddr(i, netip.MustParseAddrPort(astAddr).Port()).String()
		}
		if err := s.SetRemote(id, remote); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w, addr)
	}
	// The measurement: one unmeasured second, then dur.
	start := time.Now().Add(time.Second)
	stop := start.Add(dur)
	warm.Store(start.UnixNano())
	fmt.Fprintf(w, "GO %d %d\n", start.UnixNano(), stop.UnixNano())
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	in.Close()

	// The agents' audio, handed to the relays as pion's readers do.
	var sentUp atomic.Int64
	var feeders sync.WaitGroup
	const feederCount = 2
	for g := range feederCount {
		feeders.Add(1)
		go func() {
			defer feeders.Done()
			up := pcmu(0, 0, 0, 0xFF)
			paceSlots(n, g, feederCount, stop, nil, func(seq uint16, mine []int) {
				for _, i := range mine {
					up.SSRC, up.SequenceNumber, up.Timestamp = 7, seq, uint32(seq)*160
					stamp := wallStamp()
					binary.BigEndian.PutUint64(up.Payload, uint64(stamp))
					calls[i].up(up)
					if stamp >= start.UnixNano() {
						sentUp.Add(1)
					}
				}
			})
		}()
	}
	time.Sleep(time.Until(start))
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	feeders.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cores := float64(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / float64(dur)

	var res genResult
	if err := json.Unmarshal([]byte(line("RESULT ")), &res); err != nil {
		t.Fatalf("generator result: %v", err)
	}
	if err := gen.Wait(); err != nil {
		t.Fatalf("generator: %v", err)
	}
	m.Close() // waits for every relay's reader: the sinks are done
	if shared != nil {
		shared.stop()
	}
	for _, c := range bareConns {
		c.Close()
	}
	bare.Wait()
	relayMu.Lock()
	defer relayMu.Unlock()
	var down []int64
	for _, c := range calls {
		down = append(down, c.sink.list...)
	}
	if res.Skipped > 0 {
		t.Logf("%6d calls: the generator was starved and skipped %d ms of sending", n, res.Skipped)
	}
	lost := func(sent int64, got int) string {
		return fmt.Sprintf("%.3f", 100*float64(max(0, sent-int64(got)))/float64(max(sent, 1)))
	}
	for _, r := range []struct {
		name string
		l    latencies
		lost string
	}{
		{"to-browser, send → track write", summarise(down), lost(res.SentDown, len(down))},
		{"to-browser, in the relay", summarise(inRelay), "-"},
		{"to-ast, relay call → read", res.Up, lost(sentUp.Load(), res.Up.N)},
		{"to-ast, relay call → kernel arrival", res.UpKern, "-"},
	} {
		t.Logf("%6d %-36s %8d %8.3f %8.3f %8.3f %8.3f %7s", n, r.name, r.l.N, r.l.P50, r.l.P99, r.l.P999, r.l.Max, r.lost)
	}
	what := "relay"
	if sharedPort {
		what = "relay on one shared port"
		x := m.mux
		t.Logf("%6d calls: shared port: %.1f packets per read (%d reads), %.1f per write (%d writes)", n,
			float64(x.readPkts.Load())/float64(max(x.reads.Load(), 1)), x.reads.Load(),
			float64(x.w.writePkts.Load())/float64(max(x.w.writes.Load(), 1)), x.w.writes.Load())
	}
	switch {
	case batched:
		what = "batched baseline (one socket, recvmmsg/sendmmsg, no relay)"
	case baseline:
		what = "baseline (no relay)"
	}
	t.Logf("%6d calls: %s process %.2f cores, generator process %.2f cores (nice 19); loadavg %s", n, what, cores, res.CPU, loadavg())
}

// paceSlots calls send every millisecond until stop with the calls of this
// feeder (i ≡ g mod feeders) whose turn in the 20 ms frame it is, so each
// call gets one packet per frame. A feeder starved for more than a frame
// skips ahead (counted in skipped, if not nil) rather than bursting.
func paceSlots(n, g, feeders int, stop time.Time, skipped *atomic.Int64, send func(seq uint16, mine []int)) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	mine := make([]int, 0, n/relayFrame+1)
	var seq uint16
	t0 := time.Now()
	next := 0 // the next millisecond to send for; late ticks catch up
	for range tick.C {
		if !time.Now().Before(stop) {
			return
		}
		nowMs := int(time.Since(t0) / time.Millisecond)
		if nowMs-next > relayFrame {
			if skipped != nil {
				skipped.Add(int64(nowMs - relayFrame - next))
			}
			next = nowMs - relayFrame
		}
		for ; next <= nowMs; next++ {
			slot := next % relayFrame
			if slot == 0 {
				seq++
			}
			mine = mine[:0]
			for i := g; i < n; i += feeders {
				if i%relayFrame == slot {
					mine = append(mine, i)
				}
			}
			send(seq, mine)
		}
	}
}

// TestRelayLoadGenerator is the "Asterisk" process of TestRelayLoad, not a
// test of its own: it runs only when TestRelayLoad starts it.
func TestRelayLoadGenerator(t *testing.T) {
	v := os.Getenv("OMSTIL_RELAY_GEN")
	if v == "" {
		t.Skip("the generator process of TestRelayLoad; it runs only when that test starts it")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("OMSTIL_RELAY_GEN=%q", v)
	}
	// Bound to every address, so that with OMSTIL_RELAY_GEN_SPREAD each
	// call's packets can come from (and its agent's audio go to) an
	// address of its own on 127/8 (spreadAddr), from this one socket.
	spread := os.Getenv("OMSTIL_RELAY_GEN_SPREAD") != ""
	ast, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	defer ast.Close()
	ast.SetReadBuffer(8 << 20)
	ast.SetWriteBuffer(8 << 20)
	astPort := uint16(ast.LocalAddr().(*net.UDPAddr).Port)
	fmt.Printf("ADDR 127.0.0.1:%d\n", astPort)

	in := bufio.NewScanner(os.Stdin)
	relays := make([]*net.UDPAddr, 0, n)
	var start, stop int64
	for in.Scan() {
		if rest, ok := strings.CutPrefix(in.Text(), "GO "); ok {
			if _, err := fmt.Sscan(rest, &start, &stop); err != nil {
				t.Fatalf("GO line %q: %v", rest, err)
			}
			break
		}
		relays = append(relays, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(in.Text())))
	}
	if len(relays) != n || stop == 0 {
		t.Fatalf("got %d relay addresses of %d and stop %d", len(relays), n, stop)
	}

	perCall := 1000 / relayFrame * int(time.Duration(stop-start)/time.Second+2)
	up, upKern := make([]int64, 0, n*perCall), make([]int64, 0, n*perCall)
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		enableRxTime(ast)
		pc := ipv4.NewPacketConn(ast)
		msgs := make([]ipv4.Message, 64)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 1500)}
			msgs[i].OOB = make([]byte, rxOOBSize)
		}
		for {
			k, err := pc.ReadBatch(msgs, 0)
			if err != nil {
				return
			}
			now := wallStamp()
			for _, m := range msgs[:k] {
				if m.N < 12+8 {
					continue
				}
				if stamp := int64(binary.BigEndian.Uint64(m.Buffers[0][12:])); stamp >= start {
					up = append(up, now-stamp)
					if at := rxTime(m.OOB[:m.NN]); !at.IsZero() {
						upKern = append(upKern, at.UnixNano()-stamp)
					}
				}
			}
		}
	}()

	var srcOOB [][]byte // per call: IP_PKTINFO with the call's source address
	if spread {
		for i := range n {
			cm := ipv4.ControlMessage{Src: spreadAddr(i, astPort).Addr().AsSlice()}
			srcOOB = append(srcOOB, cm.Marshal())
		}
	}
	var sentDown, skipped atomic.Int64
	var senders sync.WaitGroup
	const senderCount = 2
	stopAt := time.Unix(0, stop)
	for g := range senderCount {
		out := newGenSender(t, ast, n/relayFrame+1)
		senders.Add(1)
		go func() {
			defer senders.Done()
			batch := make([]ipv4.Message, 0, n/relayFrame+1)
			bufs := make([][]byte, n/relayFrame+1)
			for i := range bufs {
				bufs[i] = make([]byte, 1500)
			}
			down := pcmu(0, 0, 0, 0xFF)
			paceSlots(n, g, senderCount, stopAt, &skipped, func(seq uint16, mine []int) {
				batch = batch[:0]
				for _, i := range mine {
					down.SSRC, down.SequenceNumber, down.Timestamp = uint32(i+1), seq, uint32(seq)*160
					k, _ := down.MarshalTo(bufs[len(batch)])
					msg := ipv4.Message{Buffers: [][]byte{bufs[len(batch)][:k]}, Addr: relays[i]}
					if spread {
						msg.OOB = srcOOB[i]
					}
					batch = append(batch, msg)
				}
				// The send time goes in just before the system call.
				stamp := wallStamp()
				for _, m := range batch {
					binary.BigEndian.PutUint64(m.Buffers[0][12:], uint64(stamp))
				}
				if err := out.send(batch); err != nil {
					return
				}
				if stamp >= start {
					sentDown.Add(int64(len(batch)))
				}
			})
		}()
	}
	time.Sleep(time.Until(time.Unix(0, start)))
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	senders.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	// Let the last packets land before the socket closes.
	time.Sleep(100 * time.Millisecond)
	ast.Close()
	readers.Wait()
	cpu := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
	res := genResult{
		SentDown: sentDown.Load(), Skipped: skipped.Load() / senderCount,
		Up: summarise(up), UpKern: summarise(upKern),
		CPU: float64(cpu) / float64(stop-start),
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

// bareSocket is the baseline's stand-in for a call's relay: a UDP socket
// (every one with receive stamps), read by one goroutine that records the
// delays as the relay's reader would, and *up set to send the agent's
// audio from it to astAddr.
func bareSocket(t *testing.T, sink *stampSink, hist *delayHist, astAddr string, up *func(*rtp.Packet), wg *sync.WaitGroup) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	enableRxTime(c)
	to := netip.MustParseAddrPort(astAddr)
	out := make([]byte, 1500)
	*up = func(p *rtp.Packet) {
		if k, err := p.MarshalTo(out); err == nil {
			c.WriteToUDPAddrPort(out[:k], to)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		oob := make([]byte, rxOOBSize)
		var p rtp.Packet
		for {
			n, oobn, _, _, err := c.ReadMsgUDPAddrPort(buf, oob)
			if err != nil {
				return
			}
			if p.Unmarshal(buf[:n]) != nil {
				continue
			}
			arrived := rxTime(oob[:oobn])
			sink.WriteRTP(&p)
			if !arrived.IsZero() {
				hist.observe(time.Since(arrived))
			}
		}
	}()
	return c
}

// batchSocket is the batched baseline: one UDP socket for every call,
// with the shared port's system calls (muxConn) and writer (batchWriter)
// and nothing of the relay behind them. One goroutine reads Asterisk's
// packets in batches and hands each to its call's sink (the generator
// numbers the calls in the SSRC); the agents' audio goes to the writer.
type batchSocket struct {
	conn  *net.UDPConn
	mc    *muxConn
	w     *batchWriter
	sinks []*stampSink
	to    netip.AddrPort
}

func newBatchSocket(t *testing.T, n int, hist *delayHist, astAddr string, wg *sync.WaitGroup) *batchSocket {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(8 << 20)
	c.SetWriteBuffer(8 << 20)
	enableRxTime(c)
	mc, err := newMuxConn(c)
	if err != nil {
		t.Fatal(err)
	}
	b := &batchSocket{
		conn: c, mc: mc, w: newBatchWriter(mc, slog.New(slog.DiscardHandler)),
		sinks: make([]*stampSink, n), to: netip.MustParseAddrPort(astAddr),
	}
	wg.Add(1)
	go func() { // Asterisk's packets
		defer wg.Done()
		var p rtp.Packet
		for {
			k, err := mc.readBatch()
			if err != nil {
				return
			}
			for i := range k {
				buf, _, at := mc.packet(i)
				if p.Unmarshal(buf) != nil || p.SSRC < 1 || int(p.SSRC) > len(b.sinks) {
					continue
				}
				b.sinks[p.SSRC-1].WriteRTP(&p)
				if !at.IsZero() {
					hist.observe(time.Since(at))
				}
			}
		}
	}()
	return b
}

// send hands one packet of an agent's audio to the writer (as the relay
// does with what pion's track reader gives it).
func (b *batchSocket) send(p *rtp.Packet) {
	var buf [1500]byte
	if n, err := p.MarshalTo(buf[:]); err == nil {
		b.w.send(buf[:n], b.to)
	}
}

// stop ends the writer, once the reader has stopped (its socket closed).
func (b *batchSocket) stop() {
	b.w.stop()
	b.mc.closeWrite()
}

// spreadAddr is call i's "Asterisk" address with OMSTIL_RELAY_SHARED: a
// loopback address of its own (127.1.x.y, all routed to lo), port port.
func spreadAddr(i int, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(i%250 + 1)}), port)
}
