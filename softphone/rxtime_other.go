//go:build !linux

package softphone

import (
	"net"
	"time"
)

// rxOOBSize is zero: receive timestamps are only read on Linux.
var rxOOBSize = 0

func enableRxTime(*net.UDPConn) {}

func rxTime([]byte) time.Time { return time.Time{} }
