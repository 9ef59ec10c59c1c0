package softphone

import (
	"net"
	"testing"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// genSender is how the load tool's generator ("Asterisk") sends: from a
// socket of c's reuseport group that Go's poller does not watch, as the
// shared relay port does (see muxConn), so that the generator does not
// wake its own poller for every packet sent and stands in for Asterisk at
// less CPU: on two cores the relay shares with it, a generator starved
// of CPU sends less and flatters the relay.
type genSender struct {
	fd   int
	hdr  []unix.Mmsghdr
	iov  []unix.Iovec
	name []unix.RawSockaddrInet6
}

func newGenSender(t *testing.T, c *net.UDPConn, size int) *genSender {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	sa, family, err := boundAddr(raw)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := openSendSocket(raw, sa, family)
	if err != nil {
		t.Fatalf("generator's send socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &genSender{fd: fd, hdr: make([]unix.Mmsghdr, size), iov: make([]unix.Iovec, size), name: make([]unix.RawSockaddrInet6, size)}
}

// send sends msgs (IPv4 addresses; OOB as for ipv4.PacketConn), all of
// them unless the kernel refuses one.
func (g *genSender) send(msgs []ipv4.Message) error {
	for i, m := range msgs {
		ua := m.Addr.(*net.UDPAddr)
		n, _ := putSockaddr(&g.name[i], unix.AF_INET, ua.AddrPort())
		h := &g.hdr[i].Hdr
		h.Name, h.Namelen = (*byte)(unsafe.Pointer(&g.name[i])), n
		g.iov[i].Base = &m.Buffers[0][0]
		g.iov[i].SetLen(len(m.Buffers[0]))
		h.Iov = &g.iov[i]
		h.SetIovlen(1)
		h.Control = nil
		h.SetControllen(0)
		if len(m.OOB) > 0 {
			h.Control = &m.OOB[0]
			h.SetControllen(len(m.OOB))
		}
	}
	for sent := 0; sent < len(msgs); {
		r, err := unpolledSend(unix.SYS_SENDMMSG, g.fd, uintptr(unsafe.Pointer(&g.hdr[sent])), uintptr(len(msgs)-sent), 0, 0)
		if err != nil {
			return err
		}
		sent += r
	}
	return nil
}
