package softphone

import (
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxOOBSize is the control-message buffer for one receive timestamp
// (SCM_TIMESTAMPNS: a cmsghdr and a struct timespec).
var rxOOBSize = unix.CmsgSpace(16)

// enableRxTime asks the kernel to stamp every datagram received on c with
// its arrival time (SO_TIMESTAMPNS). It is best effort: without it the
// relay measures from the moment its read returns.
func enableRxTime(c *net.UDPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	})
}

// rxTime returns the arrival time in the control messages oob, or the
// zero time. It reads the one message it asked for without allocating.
// oob must start 8-byte aligned (a slice from make is).
func rxTime(oob []byte) time.Time {
	hdr := unix.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		n := int(h.Len)
		if n < hdr || n > len(oob) {
			return time.Time{}
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && n >= hdr+int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[hdr]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
		oob = oob[min(unix.CmsgSpace(n-hdr), len(oob)):]
	}
	return time.Time{}
}
