// Package g711 is ITU-T G.711 µ-law, the one codec omstil's media paths
// speak (Asterisk's ulaw, WebRTC's PCMU), written from the recommendation:
// 14-bit linear samples with a bias of 0x84, eight segments, the code
// inverted on the wire.
package g711

const (
	bias = 0x84
	clip = 32635
)

var (
	decode [256]int16
	encode [65536]byte
)

func init() {
	for i := range 256 {
		u := ^byte(i)
		exp := (u >> 4) & 7
		v := (int32(u&0x0f)<<3 + bias) << exp
		v -= bias
		if u&0x80 != 0 {
			v = -v
		}
		decode[i] = int16(v)
	}
	for i := range 65536 {
		encode[i] = encodeSlow(int16(uint16(i)))
	}
}

func encodeSlow(sample int16) byte {
	v := int32(sample)
	sign := byte(0)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := byte(7)
	for mask := int32(0x4000); exp > 0 && v&mask == 0; mask >>= 1 {
		exp--
	}
	mant := byte(v>>(exp+3)) & 0x0f
	return ^(sign | exp<<4 | mant)
}

// EncodeUlaw is the µ-law code of a 16-bit linear sample (0xFF for
// silence).
func EncodeUlaw(sample int16) byte { return encode[uint16(sample)] }

// DecodeUlaw is the 16-bit linear sample of a µ-law code.
func DecodeUlaw(u byte) int16 { return decode[u] }
