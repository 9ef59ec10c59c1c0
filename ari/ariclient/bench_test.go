package ariclient

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// REST round trip through the client against a loopback httptest server
// (what the client adds over plain net/http: auth header, timeout context,
// status and body handling).
func BenchmarkRESTAnswer(b *testing.B) {
	f := newFakeARI(b)
	c, err := New(f.config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Answer(ctx, "c1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRESTOriginate(b *testing.B) {
	f := newFakeARI(b)
	f.setAnswer(jsonAnswer(http.StatusOK, sampleChannel))
	c, err := New(f.config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	req := OriginateRequest{Endpoint: "Local/1001@omstil-test-agents", App: "omstil", CallerID: "70101010", ChannelID: "a1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Originate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

var stasisStartMsg = []byte(`{"type":"StasisStart","application":"omstil","timestamp":"2026-11-28T03:24:41.123+0100","asterisk_id":"02:42:ac:11:00:02","args":["1000"],"channel":` + sampleChannel + `}`)

func BenchmarkDecodeStasisStart(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(stasisStartMsg)))
	for b.Loop() {
		if _, ok := DecodeEvent(stasisStartMsg).(*StasisStart); !ok {
			b.Fatal("not decoded")
		}
	}
}

// End to end: events written by a WebSocket server, read, decoded, queued
// and handed to the handler.
func BenchmarkStreamDelivery(b *testing.B) {
	f := newFakeARI(b)
	c, err := New(f.config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var n atomic.Int64
	done := make(chan struct{}, 1)
	target := int64(b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx, func(_ context.Context, ev Event) {
		if _, ok := ev.(*StasisStart); ok && n.Add(1) == target {
			done <- struct{}{}
		}
	})
	fc := f.nextConn(b)
	msgs := make([]string, 64)
	for i := range msgs {
		msgs[i] = string(stasisStartMsg)
	}
	b.SetBytes(int64(len(stasisStartMsg)))
	b.ResetTimer()
	for i := range b.N {
		fc.send(b, msgs[i%len(msgs)])
	}
	<-done
	b.StopTimer()
	if st := c.Stats(); st.Received != uint64(b.N) {
		b.Fatal(fmt.Sprint("received ", st.Received))
	}
}

// Typical messages as Asterisk 22 writes them (one line, type first).
var benchEvents = []struct {
	name string
	msg  []byte
}{
	{"StasisStart", stasisStartMsg},
	{"ChannelStateChange", []byte(`{"type":"ChannelStateChange","timestamp":"2026-11-28T03:24:41.456+0100","channel":` + sampleChannel + `,"asterisk_id":"02:42:ac:11:00:02","application":"omstil"}`)},
	{"ChannelDestroyed", []byte(`{"type":"ChannelDestroyed","timestamp":"2026-11-28T03:24:59.001+0100","cause":16,"cause_txt":"Normal Clearing","tech_cause":0,"channel":` + sampleChannel + `,"asterisk_id":"02:42:ac:11:00:02","application":"omstil"}`)},
	{"Unknown", []byte(`{"type":"ChannelSomethingNew2030","timestamp":"2026-11-28T03:24:59.001+0100","channel":` + sampleChannel + `,"asterisk_id":"02:42:ac:11:00:02","application":"omstil"}`)},
}

// BenchmarkDecodeEvent measures the one-pass decoder as readLoop uses it
// (one eventDecoder per connection) and, as "reference", the two-pass
// decoder it replaced, so both are measured under the same machine load.
func BenchmarkDecodeEvent(b *testing.B) {
	for _, be := range benchEvents {
		b.Run(be.name, func(b *testing.B) {
			var d eventDecoder
			b.ReportAllocs()
			b.SetBytes(int64(len(be.msg)))
			for b.Loop() {
				if ev := d.decode(be.msg); ev.EventType() == "" {
					b.Fatal("no type")
				}
			}
		})
		b.Run(be.name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(be.msg)))
			for b.Loop() {
				if ev := decodeSlow(be.msg); ev.EventType() == "" {
					b.Fatal("no type")
				}
			}
		})
	}
}

// 16 REST calls in flight at once, as the adapter makes under load; "Go's
// default pool" (no cap, 2 kept idle) re-dials most calls.
func BenchmarkRESTAnswerParallel(b *testing.B) {
	for _, bb := range []struct {
		name     string
		maxConns int
	}{{"default pool", 0}, {"Go's default pool", -1}} {
		b.Run(bb.name, func(b *testing.B) {
			f := newFakeARI(b)
			cfg := f.config()
			cfg.MaxConnsPerHost = bb.maxConns
			c, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			b.SetParallelism(8) // x GOMAXPROCS goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Answer(context.Background(), "c1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
