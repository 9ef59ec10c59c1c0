//go:build !linux

package softphone

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
)

// muxConn is the shared relay port's system calls where there is no
// Linux: golang.org/x/net's batches (one packet a call on most systems).
type muxConn struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	rmsg []ipv4.Message

	wmsg  []ipv4.Message
	waddr []net.UDPAddr
}

func newMuxConn(conn *net.UDPConn) (*muxConn, error) {
	c := &muxConn{conn: conn, pc: ipv4.NewPacketConn(conn), rmsg: make([]ipv4.Message, muxBatch)}
	for i := range c.rmsg {
		c.rmsg[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	return c, nil
}

func (c *muxConn) readBatch() (int, error) { return c.pc.ReadBatch(c.rmsg, 0) }

func (c *muxConn) packet(i int) ([]byte, netip.AddrPort, time.Time) {
	m := &c.rmsg[i]
	ua, _ := m.Addr.(*net.UDPAddr)
	if ua == nil {
		return nil, netip.AddrPort{}, time.Time{}
	}
	src := ua.AddrPort()
	return m.Buffers[0][:m.N], netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), time.Time{}
}

func (c *muxConn) writeBatch(out []outPacket) (calls, failed int, err error) {
	c.wmsg, c.waddr = c.wmsg[:0], c.waddr[:0]
	for _, o := range out {
		c.waddr = append(c.waddr, net.UDPAddr{IP: o.to.Addr().AsSlice(), Port: int(o.to.Port())})
	}
	for i, o := range out {
		c.wmsg = append(c.wmsg, ipv4.Message{Buffers: [][]byte{(*o.buf)[:o.n]}, Addr: &c.waddr[i]})
	}
	for b := c.wmsg; len(b) > 0; {
		k, e := c.pc.WriteBatch(b, 0)
		calls++
		if e != nil {
			if errors.Is(e, net.ErrClosed) {
				return calls, failed + len(b), e
			}
			failed++
			if err == nil {
				err = e
			}
			k++ // skip the refused packet
		}
		b = b[min(k, len(b)):]
	}
	clear(c.wmsg)
	return calls, failed, err
}

func (c *muxConn) closeRead() { c.conn.Close() }

func (c *muxConn) closeWrite() {}

// sender writes a call's own relay socket's packets.
type sender struct{ conn *net.UDPConn }

func newSender(conn *net.UDPConn) (*sender, error) { return &sender{conn: conn}, nil }

func (s *sender) send(b []byte, to netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (s *sender) close() {}
