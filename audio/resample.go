package audio

import "math"

// resampler converts a stream of samples from one rate to another with a
// windowed-sinc low-pass filter (Blackman window, 16 zero crossings each
// side), cut off a little below the lower Nyquist frequency so nothing
// aliases. It keeps only the input the next outputs need.
//
// Output k sits at input position k·M/L (M/L = from/to in lowest terms);
// its kernel depends on the fractional part, one of L phases. Kernels are
// computed on first use and kept. Odd rates make L large (44.1 kHz → 80,
// 11.025 kHz → 320, a rate prime to 8000 → 8000): above maxPhases the
// position is rounded to the nearest of maxPhases phases (at most
// 1/1024 of an input sample off), which bounds the kernels' memory to
// about 3.5 MB at 192 kHz.
type resampler struct {
	L, M    int64 // output step = M/L input samples
	phases  int64 // kernels: L, or maxPhases when L is larger
	fc, hw  float64
	kernels []*kernel
	loMin   int64 // the lowest kernel offset of any phase

	buf     []float64 // input samples from index base on
	base, n int64     // n: input samples pushed so far
	k       int64     // the next output
	out     []float64 // scratch for the outputs of one push
}

type kernel struct {
	lo int64 // offset of w[0] from the output's whole input position
	w  []float64
}

const maxPhases = 512

func newResampler(from, to int) *resampler {
	ratio := float64(from) / float64(to)
	fc := 0.5 * math.Min(1, 1/ratio) * 0.9 // cycles per input sample
	const zeros = 16
	g := gcd(from, to)
	r := &resampler{L: int64(to / g), M: int64(from / g), fc: fc, hw: zeros / (2 * fc)}
	r.phases = min(r.L, maxPhases)
	r.kernels = make([]*kernel, r.phases)
	r.loMin = int64(math.Ceil(-r.hw))
	return r
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// at gives output k's whole input position and its kernel.
func (r *resampler) at(k int64) (int64, *kernel) {
	pos := k * r.M
	m, ph := pos/r.L, pos%r.L
	if r.phases != r.L {
		ph = (ph*r.phases + r.L/2) / r.L
		if ph == r.phases {
			m, ph = m+1, 0
		}
	}
	if kn := r.kernels[ph]; kn != nil {
		return m, kn
	}
	frac := float64(ph) / float64(r.phases)
	kn := &kernel{lo: int64(math.Ceil(frac - r.hw))}
	for j := kn.lo; float64(j) <= frac+r.hw; j++ {
		x := frac - float64(j)
		u := x / r.hw
		w := 0.42 + 0.5*math.Cos(math.Pi*u) + 0.08*math.Cos(2*math.Pi*u)
		arg := 2 * r.fc * x
		s := 1.0
		if arg != 0 {
			s = math.Sin(math.Pi*arg) / (math.Pi * arg)
		}
		kn.w = append(kn.w, 2*r.fc*s*w)
	}
	r.kernels[ph] = kn
	return m, kn
}

// dot is output at m with kn; input outside [0, n) counts as silence.
func (r *resampler) dot(m int64, kn *kernel) float64 {
	var sum float64
	i := m + kn.lo
	for _, w := range kn.w {
		if i >= 0 && i < r.n {
			sum += r.buf[i-r.base] * w
		}
		i++
	}
	return sum
}

// push takes the next input samples and emits every output they
// complete.
func (r *resampler) push(in []float64, emit func([]float64)) {
	r.buf = append(r.buf, in...)
	r.n += int64(len(in))
	r.out = r.out[:0]
	for {
		m, kn := r.at(r.k)
		if m+kn.lo+int64(len(kn.w)) > r.n {
			break
		}
		r.out = append(r.out, r.dot(m, kn))
		r.k++
	}
	emit(r.out)
	// drop the input no later output reaches back to.
	m, _ := r.at(r.k)
	if drop := min(m+r.loMin-r.base, int64(len(r.buf))); drop > 0 {
		r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
		r.base += drop
	}
}

// flush emits the outputs left, the input after the end taken as silence:
// n·L/M outputs in all.
func (r *resampler) flush(emit func([]float64)) {
	total := r.n * r.L / r.M
	r.out = r.out[:0]
	for ; r.k < total; r.k++ {
		m, kn := r.at(r.k)
		r.out = append(r.out, r.dot(m, kn))
		if len(r.out) == 4096 {
			emit(r.out)
			r.out = r.out[:0]
		}
	}
	emit(r.out)
}
