package softphone

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestRewriter(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	type in struct {
		ssrc   uint32
		seq    uint16
		ts     uint32
		at     time.Duration // since t0
		newSrc bool          // newSource() before this packet
	}
	type out struct {
		seq    uint16
		ts     uint32
		marker bool
	}
	tests := []struct {
		name string
		in   []in
		want []out
	}{
		{
			name: "one source keeps its deltas, starts at the chosen origin with a marker",
			in:   []in{{1, 500, 9000, 0, false}, {1, 501, 9160, 20 * time.Millisecond, false}, {1, 503, 9480, 60 * time.Millisecond, false}},
			want: []out{{1000, 50000, true}, {1001, 50160, false}, {1003, 50480, false}},
		},
		{
			name: "second call after 2 s continues seq and advances ts by the pause",
			in: []in{{1, 500, 9000, 0, false}, {1, 501, 9160, 20 * time.Millisecond, false},
				{2, 7, 123, 2020 * time.Millisecond, true}, {2, 8, 283, 2040 * time.Millisecond, false}},
			want: []out{{1000, 50000, true}, {1001, 50160, false}, {1002, 50160 + 16000, true}, {1003, 50160 + 16160, false}},
		},
		{
			name: "same SSRC on the next call still counts as a new source",
			in:   []in{{1, 500, 9000, 0, false}, {1, 100, 100, time.Second, true}},
			want: []out{{1000, 50000, true}, {1001, 50000 + 8000, true}},
		},
		{
			name: "SSRC change inside a call, sooner than a packet's length: ts moves one packet on",
			in:   []in{{1, 500, 9000, 0, false}, {9, 40000, 1, 5 * time.Millisecond, false}},
			want: []out{{1000, 50000, true}, {1001, 50160, true}},
		},
		{
			name: "reordered packet passes through without moving the stream back",
			in:   []in{{1, 500, 9000, 0, false}, {1, 502, 9320, 40 * time.Millisecond, false}, {1, 501, 9160, 41 * time.Millisecond, false}, {3, 0, 0, 60 * time.Millisecond, false}},
			want: []out{{1000, 50000, true}, {1002, 50320, false}, {1001, 50160, false}, {1003, 50480, true}},
		},
		{
			name: "sequence wraps",
			in:   []in{{1, 65535, 4294967200, 0, false}, {1, 0, 64, 20 * time.Millisecond, false}},
			want: []out{{1000, 50000, true}, {1001, 50160, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newRewriter(1000, 50000)
			for i, p := range tt.in {
				if p.newSrc {
					w.newSource()
				}
				h := rtp.Header{SSRC: p.ssrc, SequenceNumber: p.seq, Timestamp: p.ts}
				w.rewrite(&h, 160, t0.Add(p.at))
				got := out{h.SequenceNumber, h.Timestamp, h.Marker}
				if got != tt.want[i] {
					t.Errorf("packet %d: got %+v, want %+v", i, got, tt.want[i])
				}
			}
		})
	}
}
