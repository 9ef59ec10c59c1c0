package softphone

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// muxConn is the shared relay port's system calls on Linux: recvmmsg and
// sendmmsg on headers built once, so a packet costs no allocation and no
// re-packing.
//
// The agents' audio is written from a second socket bound to the same
// address (SO_REUSEPORT), which never receives: a program attached to the
// port's reuseport group (SO_ATTACH_REUSEPORT_CBPF) hands every arriving
// packet to the reading socket. The reason is the cost of a send on a
// socket Go's poller watches: every packet the kernel frees after sending
// it wakes the socket's epoll waiters for "writable" (sock_wfree), which
// woke omstil's poller thread for nothing, up to once a packet; on a
// socket nobody polls that wake-up is skipped. Asterisk still sees every
// packet come from the one relay address. If the second socket cannot be
// set up, the agents' audio is written from the reading socket.
type muxConn struct {
	out *sender // the writing side: the second socket, the family

	// read side: the last batch
	rhdr  []unix.Mmsghdr
	rname []unix.RawSockaddrInet6
	rbuf  [][]byte
	roob  [][]byte

	// write side (only the writer goroutine)
	whdr  []unix.Mmsghdr
	wiov  []unix.Iovec
	wname []unix.RawSockaddrInet6
}

func newMuxConn(conn *net.UDPConn) (*muxConn, error) {
	out, err := newSender(conn)
	if err != nil {
		return nil, fmt.Errorf("softphone: shared relay port: %w", err)
	}
	c := &muxConn{out: out,
		rhdr: make([]unix.Mmsghdr, muxBatch), rname: make([]unix.RawSockaddrInet6, muxBatch),
		rbuf: make([][]byte, muxBatch), roob: make([][]byte, muxBatch),
		whdr: make([]unix.Mmsghdr, muxBatch), wiov: make([]unix.Iovec, muxBatch), wname: make([]unix.RawSockaddrInet6, muxBatch),
	}
	riov := make([]unix.Iovec, muxBatch)
	for i := range c.rhdr {
		c.rbuf[i] = make([]byte, 1500)
		riov[i].Base = &c.rbuf[i][0]
		riov[i].SetLen(len(c.rbuf[i]))
		h := &c.rhdr[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&c.rname[i]))
		h.Iov = &riov[i]
		h.SetIovlen(1)
		if rxOOBSize > 0 {
			c.roob[i] = make([]byte, rxOOBSize)
			h.Control = &c.roob[i][0]
		}
		w := &c.whdr[i].Hdr
		w.Name = (*byte)(unsafe.Pointer(&c.wname[i]))
		w.Iov = &c.wiov[i]
		w.SetIovlen(1)
	}
	return c, nil
}

// boundAddr is the address raw's socket is bound to, and its family
// (AF_INET or AF_INET6).
func boundAddr(raw syscall.RawConn) (unix.Sockaddr, int, error) {
	var sa unix.Sockaddr
	var err error
	if cerr := raw.Control(func(fd uintptr) { sa, err = unix.Getsockname(int(fd)) }); cerr != nil {
		return nil, 0, cerr
	}
	if err != nil {
		return nil, 0, err
	}
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return sa, unix.AF_INET, nil
	case *unix.SockaddrInet6:
		return sa, unix.AF_INET6, nil
	}
	return nil, 0, fmt.Errorf("not an IP socket (%T)", sa)
}

// sender is the writing side of a relay socket (a call's own, or the
// shared port): a second socket bound to the same address, which Go's
// poller does not watch (openSendSocket; see muxConn for why), or, if
// that cannot be set up, the relay socket itself. newSender also sets DF
// on the relay socket. A call's own socket sends one packet at a time
// with send, a raw non-blocking sendto; the shared port sends batches
// (muxConn.writeBatch).
type sender struct {
	conn   *net.UDPConn
	raw    syscall.RawConn
	fd     int // the second socket, or -1: write from conn
	family int // conn's: AF_INET or AF_INET6
	// send's last destination, in the kernel's form
	sa    unix.RawSockaddrInet6
	to    netip.AddrPort
	salen uint32
}

// newSender prepares conn's writing side. On an error (conn is not a
// bound IP socket) the sender still writes from conn.
func newSender(conn *net.UDPConn) (*sender, error) {
	s := &sender{conn: conn, fd: -1}
	raw, err := conn.SyscallConn()
	if err != nil {
		return s, err
	}
	s.raw = raw
	sa, family, err := boundAddr(raw)
	if err != nil {
		return s, err
	}
	s.family = family
	raw.Control(func(fd uintptr) { setDontFragment(int(fd), sa) })
	s.fd, _ = openSendSocket(raw, sa, family)
	return s, nil
}

// send writes b to to. Only the relay's writer (under relay.mu) calls it.
func (s *sender) send(b []byte, to netip.AddrPort) error {
	if s.fd < 0 {
		_, err := s.conn.WriteToUDPAddrPort(b, to)
		return err
	}
	if to != s.to || s.salen == 0 {
		n, ok := putSockaddr(&s.sa, s.family, to)
		if !ok {
			return fmt.Errorf("softphone: relay socket cannot send to %s", to)
		}
		s.to, s.salen = to, n
	}
	_, err := unpolledSend(unix.SYS_SENDTO, s.fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		uintptr(unsafe.Pointer(&s.sa)), uintptr(s.salen))
	return err
}

// unpolledSend makes the send call trap (sendto or sendmmsg, whose flags
// are the fourth argument) on fd, a blocking socket nobody polls: first
// as a raw non-blocking call, which keeps its P (see muxConn.sendmmsg);
// only if the send buffer is full does it wait for room, through the
// runtime's Syscall. It returns the call's result.
func unpolledSend(trap uintptr, fd int, a1, a2, a4, a5 uintptr) (int, error) {
	for {
		r, _, e := unix.RawSyscall6(trap, uintptr(fd), a1, a2, unix.MSG_DONTWAIT, a4, a5)
		if e == unix.EAGAIN {
			r, _, e = unix.Syscall6(trap, uintptr(fd), a1, a2, 0, a4, a5)
		}
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}

// close closes the second socket; the caller closes conn.
func (s *sender) close() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// setDontFragment sets DF on the audio (IP_PMTUDISC_PROBE: DF set, the
// path MTU ignored; RTP packets are ~200 bytes). Without DF the kernel
// picks every IPv4 packet's ID from a shared table, which showed in the
// relay's profile; with DF an unconnected socket sends ID 0.
func setDontFragment(fd int, sa unix.Sockaddr) {
	if _, ok := sa.(*unix.SockaddrInet4); ok {
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
	// a dual-stack socket also sends IPv4
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
}

// openSendSocket binds a blocking socket, which Go's poller never
// watches, to the reading socket's address sa, and steers every packet
// for the address to the reading socket: the reuseport group's program
// always answers 0, the first socket of the group, which is the reading
// one (it was bound first). On any error nothing is left behind.
func openSendSocket(reader syscall.RawConn, sa unix.Sockaddr, family int) (fd int, err error) {
	var optErr error
	reader.Control(func(rfd uintptr) {
		optErr = unix.SetsockoptInt(int(rfd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if optErr != nil {
		return -1, optErr
	}
	fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, err
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if family == unix.AF_INET6 {
		var v6only int
		reader.Control(func(rfd uintptr) { v6only, _ = unix.GetsockoptInt(int(rfd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY) })
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return -1, err
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		return -1, err
	}
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
		&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		return -1, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	setDontFragment(fd, sa)
	return fd, nil
}

// readBatch waits for packets and reads up to muxBatch of them; packet(i)
// gives each until the next readBatch.
func (c *muxConn) readBatch() (int, error) {
	for i := range c.rhdr { // recvmmsg wrote the lengths of the last batch
		h := &c.rhdr[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(len(c.roob[i]))
	}
	return polledMmsg(c.out.raw.Read, unix.SYS_RECVMMSG, c.rhdr)
}

// polledMmsg makes the batch call trap (recvmmsg or sendmmsg) on hdrs
// through Go's poller: wait is the socket's RawConn.Read or Write, which
// waits until the socket is ready whenever the call would block.
func polledMmsg(wait func(func(uintptr) bool) error, trap uintptr, hdrs []unix.Mmsghdr) (int, error) {
	var n int
	var errno syscall.Errno
	err := wait(func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			n, errno = int(r), e
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return n, nil
}

// packet is the i-th packet of the last batch: its bytes, where it came
// from, and when the kernel received it (zero: not stamped).
func (c *muxConn) packet(i int) ([]byte, netip.AddrPort, time.Time) {
	m := &c.rhdr[i]
	return c.rbuf[i][:m.Len], sockaddrPort(&c.rname[i]), rxTime(c.roob[i][:m.Hdr.Controllen])
}

// sockaddrPort reads an IPv4 or IPv6 socket address; IPv4-mapped IPv6 is
// given as IPv4.
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p := uint16(port[0])<<8 | uint16(port[1])
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), p)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), p)
	}
	return netip.AddrPort{}
}

// putSockaddr writes ap into sa for a socket of family; false if the
// socket cannot send there (IPv6 from an IPv4 socket).
func putSockaddr(sa *unix.RawSockaddrInet6, family int, ap netip.AddrPort) (uint32, bool) {
	a := ap.Addr()
	if family == unix.AF_INET {
		if !a.Unmap().Is4() {
			return 0, false
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Unmap().As4()}
		port := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		port[0], port[1] = byte(ap.Port()>>8), byte(ap.Port())
		return unix.SizeofSockaddrInet4, true
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
	port := (*[2]byte)(unsafe.Pointer(&sa.Port))
	port[0], port[1] = byte(ap.Port()>>8), byte(ap.Port())
	return unix.SizeofSockaddrInet6, true
}

// writeBatch sends out (at most muxBatch packets) and returns the
// system calls it took and the packets that could not be sent. A packet
// the kernel refuses is skipped; the rest are still sent. The error is
// the first refusal's, or net.ErrClosed.
func (c *muxConn) writeBatch(out []outPacket) (calls, failed int, err error) {
	k := 0
	for _, o := range out {
		w := &c.whdr[k]
		n, ok := putSockaddr(&c.wname[k], c.out.family, o.to)
		if !ok {
			failed++
			if err == nil {
				err = fmt.Errorf("softphone: shared relay port cannot send to %s", o.to)
			}
			continue
		}
		w.Hdr.Namelen = n
		c.wiov[k].Base = &(*o.buf)[0]
		c.wiov[k].SetLen(o.n)
		k++
	}
	for sent := 0; sent < k; {
		r, e := c.sendmmsg(c.whdr[sent:k])
		calls++
		switch {
		case e == unix.EBADF || errors.Is(e, net.ErrClosed):
			return calls, failed + k - sent, net.ErrClosed
		case e != nil:
			// the packet at sent was refused: skip it
			failed++
			if err == nil {
				err = e
			}
			sent++
		default:
			sent += r
		}
	}
	clear(c.wiov[:k]) // drop the pointers into the pooled buffers
	return calls, failed, err
}

// sendmmsg sends hdrs from the writing socket, or from the reading one
// (through Go's poller) if there is no writing socket.
//
// Both batch calls are made as raw system calls with MSG_DONTWAIT: they
// never block, and a raw call keeps its P. Through the runtime's
// Syscall, a send of ~40 packets (~300 µs of kernel work on loopback)
// outlasted sysmon's 20 µs check, which then handed the P to another
// thread; sysmon, finding such calls all the time, kept polling every
// 20 µs. Raw calls took the relay from 0.71-0.74 to 0.62-0.68 cores at
// 1,000 calls. Only a send that would block (a full send buffer) goes
// through Syscall.
func (c *muxConn) sendmmsg(hdrs []unix.Mmsghdr) (int, error) {
	if c.out.fd >= 0 {
		return unpolledSend(unix.SYS_SENDMMSG, c.out.fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0)
	}
	return polledMmsg(c.out.raw.Write, unix.SYS_SENDMMSG, hdrs)
}

// closeRead closes the reading socket; a readBatch waiting returns
// net.ErrClosed.
func (c *muxConn) closeRead() { c.out.conn.Close() }

// closeWrite closes the writing socket, once the writer has stopped.
func (c *muxConn) closeWrite() { c.out.close() }
