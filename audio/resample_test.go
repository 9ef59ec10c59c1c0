package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

// wholeResample is the resampler as it was before streaming: the whole
// signal in, the whole signal out (every phase its own kernel).
func wholeResample(in []float64, from, to int) []float64 {
	ratio := float64(from) / float64(to)
	fc := 0.5 * math.Min(1, 1/ratio) * 0.9
	const zeros = 16
	hw := zeros / (2 * fc)
	g := gcd(from, to)
	L, M := to/g, from/g
	n := int(int64(len(in)) * int64(L) / int64(M))
	out := make([]float64, n)
	for k := range out {
		pos := int64(k) * int64(M)
		m, phase := int(pos/int64(L)), int(pos%int64(L))
		frac := float64(phase) / float64(L)
		var sum float64
		for j := int(math.Ceil(frac - hw)); float64(j) <= frac+hw; j++ {
			x := frac - float64(j)
			u := x / hw
			w := 0.42 + 0.5*math.Cos(math.Pi*u) + 0.08*math.Cos(2*math.Pi*u)
			arg := 2 * fc * x
			s := 1.0
			if arg != 0 {
				s = math.Sin(math.Pi*arg) / (math.Pi * arg)
			}
			if i := m + j; i >= 0 && i < len(in) {
				sum += in[i] * 2 * fc * s * w
			}
		}
		out[k] = sum
	}
	return out
}

// TestResamplerStreams: fed in chunks of any size, the streaming
// resampler gives what the whole-signal one gives; exactly where it keeps
// every phase, within the phase rounding where it does not.
func TestResamplerStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		from int
		tol  float64
	}{
		{48000, 1e-12}, {44100, 1e-12}, {22050, 1e-12}, {16000, 1e-12}, {11025, 2e-3}, {47999, 2e-3}, {4000, 1e-12}, {192000, 1e-12},
	} {
		in := make([]float64, c.from/3+17)
		for i := range in {
			in[i] = rng.Float64()*2 - 1
		}
		want := wholeResample(in, c.from, Rate)
		for _, chunk := range []int{1, 7, 4096, len(in)} {
			r := newResampler(c.from, Rate)
			var got []float64
			emit := func(s []float64) { got = append(got, s...) }
			for i := 0; i < len(in); i += chunk {
				r.push(in[i:min(i+chunk, len(in))], emit)
			}
			r.flush(emit)
			if len(got) != len(want) {
				t.Fatalf("%d Hz in chunks of %d: %d samples, want %d", c.from, chunk, len(got), len(want))
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > c.tol {
					t.Fatalf("%d Hz in chunks of %d: sample %d is %v, want %v", c.from, chunk, i, got[i], want[i])
				}
			}
		}
	}
}
