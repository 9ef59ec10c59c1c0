package g711

import "testing"

func TestUlaw(t *testing.T) {
	// Values of G.711 Table 2a on the 16-bit scale (the 14-bit values
	// times four): silence, a small step, full scale and beyond.
	for _, c := range []struct {
		in   int16
		code byte
		out  int16
	}{
		{0, 0xFF, 0},
		{-1, 0x7F, 0},
		{120, 0xF0, 120},
		{-120, 0x70, -120},
		{32124, 0x80, 32124},
		{32767, 0x80, 32124},
		{-32768, 0x00, -32124},
	} {
		if got := EncodeUlaw(c.in); got != c.code {
			t.Errorf("EncodeUlaw(%d) = %#x, want %#x", c.in, got, c.code)
		}
		if got := DecodeUlaw(c.code); got != c.out {
			t.Errorf("DecodeUlaw(%#x) = %d, want %d", c.code, got, c.out)
		}
	}
	// Every code decodes to a value that encodes back to the same code
	// (0x7F, negative zero, encodes as 0xFF).
	for i := range 256 {
		u := byte(i)
		if u == 0x7F {
			continue
		}
		if got := EncodeUlaw(DecodeUlaw(u)); got != u {
			t.Errorf("code %#x → %d → %#x", u, DecodeUlaw(u), got)
		}
	}
	// The quantisation error stays within half a step of the segment.
	for s := -32000; s <= 32000; s += 7 {
		got := int(DecodeUlaw(EncodeUlaw(int16(s))))
		tol := abs(s)/16 + 8
		if d := got - s; d < -tol || d > tol {
			t.Fatalf("%d → %d", s, got)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
