//go:build !linux

package softphone

import (
	"net"
	"testing"

	"golang.org/x/net/ipv4"
)

// genSender sends the load tool's generator's packets; off Linux through
// golang.org/x/net's batches.
type genSender struct{ pc *ipv4.PacketConn }

func newGenSender(_ *testing.T, c *net.UDPConn, _ int) *genSender {
	return &genSender{pc: ipv4.NewPacketConn(c)}
}

func (g *genSender) send(msgs []ipv4.Message) error {
	for b := msgs; len(b) > 0; {
		k, err := g.pc.WriteBatch(b, 0)
		if err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}
