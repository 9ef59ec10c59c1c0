package audio

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The Vorbis decoder (github.com/jfreymuth/vorbis) sizes its codebook
// tables from the counts in the setup header before reading them: a
// 3 kB file claiming a codebook of 2^24 entries made it allocate 68 MB
// (found by FuzzDecodeOgg), a claimed 2^24 entries of 65535 dimensions
// would ask for terabytes (a fatal out-of-memory, not a panic), and an
// empty one underflows to 2^32. checkVorbisSetup reads the codebooks
// first and refuses counts no encoder writes, as libvorbis does with its
// own limits. The comment header's counts are checked against its size
// (a count of 2^30 comments made it allocate 16 GB, found next), and the
// identification header's channels and block sizes against the spec.
const (
	maxBookEntries  = 1 << 16 // in one codebook
	maxTotalEntries = 1 << 18 // in all (the tables: about 8 bytes an entry)
	maxLookupValues = 1 << 20 // multiplicands in all (4 bytes each)
	// maxBookDims bounds a codebook's dimensions (libvorbis writes 1 to
	// 8): the residue decoder makes a table of that many entries per
	// channel for every packet, 1 GB of garbage for a 4 kB file with
	// 65535 (found by FuzzDecodeOgg).
	maxBookDims = 32
)

var (
	errVorbisID      = fmt.Errorf("%w: the Ogg Vorbis identification header is damaged", ErrFormat)
	errVorbisComment = fmt.Errorf("%w: the Ogg Vorbis comment header is damaged", ErrFormat)
	errVorbisSetup   = fmt.Errorf("%w: the Ogg Vorbis setup header is damaged or too large", ErrFormat)
)

// checkVorbisHeaders checks the three header packets at the start of the
// Ogg stream in data; the decoder takes them by their type byte in any
// order, so each is checked by its type. A header that cannot be found is
// left to the decoder to refuse.
func checkVorbisHeaders(data []byte) error {
	for i := 0; i < 3; i++ {
		pkt, ok := oggPacket(data, i)
		if !ok {
			return nil
		}
		if len(pkt) < 7 || string(pkt[1:7]) != "vorbis" {
			continue
		}
		var err error
		switch pkt[0] {
		case 1:
			err = checkVorbisID(pkt)
		case 3:
			err = checkVorbisComment(pkt)
		case 5:
			err = checkVorbisSetup(pkt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkVorbisID checks the identification header's channels and block
// sizes.
func checkVorbisID(id []byte) error {
	if len(id) < 30 {
		return errVorbisID
	}
	b0, b1 := id[28]&0x0F, id[28]>>4
	if id[11] < 1 || id[11] > 16 || b0 < 6 || b1 > 13 || b0 > b1 {
		return errVorbisID
	}
	return nil
}

// checkVorbisComment checks the comment header's count and lengths
// against its size.
func checkVorbisComment(c []byte) error {
	h := c[7:]
	next := func() (int, bool) { // a length, and whether it fits in what is left
		if len(h) < 4 {
			return 0, false
		}
		n := int(binary.LittleEndian.Uint32(h))
		h = h[4:]
		return n, n <= len(h)
	}
	vendor, ok := next()
	if !ok {
		return errVorbisComment
	}
	h = h[vendor:]
	n, _ := next()
	if n > len(h)/4 { // each comment takes 4 bytes at least
		return errVorbisComment
	}
	for i := 0; i < n; i++ {
		l, ok := next()
		if !ok {
			return errVorbisComment
		}
		h = h[l:]
	}
	return nil
}

// checkVorbisSetup checks the setup header's codebooks.
func checkVorbisSetup(setup []byte) error {
	r := &bits{data: setup[7:]}
	books := int(r.read(8)) + 1
	var entriesTotal, lookupTotal int
	for b := 0; b < books; b++ {
		if r.read(24) != 0x564342 {
			return errVorbisSetup
		}
		dims := int(r.read(16))
		entries := int(r.read(24))
		entriesTotal += entries
		if dims == 0 || dims > maxBookDims || entries == 0 || entries > maxBookEntries || entriesTotal > maxTotalEntries ||
			ilog(dims)+ilog(entries) > 24 { // libvorbis's own rule
			return errVorbisSetup
		}
		if r.read(1) == 0 { // unordered: a length (5 bits) per entry, sparse: a flag before each
			sparse := r.read(1) == 1
			for i := 0; i < entries && !r.eof; i++ {
				if !sparse || r.read(1) == 1 {
					r.read(5)
				}
			}
		} else { // ordered: how many entries have each length, from the first up
			length := r.read(5) + 1
			for cur := 0; cur < entries; length++ {
				if length > 32 || r.eof {
					return errVorbisSetup
				}
				cur += int(r.read(uint(ilog(entries - cur))))
				if cur > entries {
					return errVorbisSetup
				}
			}
		}
		switch lookup := r.read(4); lookup {
		case 0:
		case 1, 2:
			r.read(32) // minimum
			r.read(32) // delta
			valueBits := int(r.read(4)) + 1
			r.read(1) // sequence_p
			n := entries * dims
			if lookup == 1 {
				n = lookup1Values(entries, dims)
			}
			lookupTotal += n
			if lookupTotal > maxLookupValues {
				return errVorbisSetup
			}
			r.skip(n * valueBits)
		default:
			return errVorbisSetup
		}
		if r.eof {
			return errVorbisSetup
		}
	}
	return checkVorbisResidues(r)
}

// checkVorbisResidues reads on past the time domain transforms and the
// floors to the residues and refuses one that begins after it ends: the
// decoder subtracts the two unsigned and makes a table of the difference
// (a 4 kB file made it allocate 1 GB, found by FuzzDecodeOgg).
func checkVorbisResidues(r *bits) error {
	for n := r.read(6) + 1; n > 0; n-- {
		r.read(16)
	}
	for n := r.read(6) + 1; n > 0 && !r.eof; n-- {
		switch r.read(16) {
		case 0:
			r.skip(8 + 16 + 16 + 6 + 8)
			r.skip(8 * (int(r.read(4)) + 1))
		case 1:
			partitions := int(r.read(5))
			classOf := make([]int, partitions)
			maxClass := -1
			for i := range classOf {
				classOf[i] = int(r.read(4))
				maxClass = max(maxClass, classOf[i])
			}
			dims := make([]int, maxClass+1)
			for c := range dims {
				dims[c] = int(r.read(3)) + 1
				sub := r.read(2)
				if sub > 0 {
					r.read(8)
				}
				r.skip(8 * (1 << sub))
			}
			r.read(2)
			rangeBits := int(r.read(4))
			for _, c := range classOf {
				r.skip(dims[c] * rangeBits)
			}
		default:
			return errVorbisSetup
		}
	}
	for n := r.read(6) + 1; n > 0 && !r.eof; n-- {
		r.read(16) // type; the decoder checks it
		begin, end := r.read(24), r.read(24)
		if begin > end {
			return errVorbisSetup
		}
		r.read(24) // partition size - 1
		classes := int(r.read(6)) + 1
		r.read(8) // classbook
		books := 0
		for i := 0; i < classes; i++ {
			low, high := r.read(3), uint32(0)
			if r.read(1) == 1 {
				high = r.read(5)
			}
			books += bitCount(high<<3 | low)
		}
		r.skip(8 * books)
	}
	if r.eof {
		return errVorbisSetup
	}
	return nil
}

func bitCount(x uint32) int {
	n := 0
	for ; x > 0; x &= x - 1 {
		n++
	}
	return n
}

// lookup1Values is the decoder's count of type-1 multiplicands.
func lookup1Values(entries, dims int) int {
	return int(math.Floor(math.Pow(float64(entries), 1/float64(dims))))
}

func ilog(x int) int {
	n := 0
	for ; x > 0; x >>= 1 {
		n++
	}
	return n
}

// bits reads Vorbis's bit packing: least significant bit first. Reading
// past the end gives 0 and sets eof.
type bits struct {
	data []byte
	pos  int // in bits
	eof  bool
}

func (r *bits) read(n uint) uint32 {
	var v uint32
	for i := uint(0); i < n; i++ {
		if r.pos >= 8*len(r.data) {
			r.eof = true
			return 0
		}
		v |= uint32(r.data[r.pos/8]>>(r.pos%8)&1) << i
		r.pos++
	}
	return v
}

func (r *bits) skip(n int) {
	if r.pos+n > 8*len(r.data) {
		r.eof = true
		return
	}
	r.pos += n
}

// oggPacket returns packet i (from 0) of the Ogg stream at the start of
// data, joined from its pages' segments; false when data ends first or is
// not a run of Ogg pages.
func oggPacket(data []byte, i int) ([]byte, bool) {
	var pkt []byte
	for p := 0; p+27 <= len(data) && string(data[p:p+4]) == "OggS"; {
		nseg := int(data[p+26])
		body := p + 27 + nseg
		if body > len(data) {
			return nil, false
		}
		for _, s := range data[p+27 : body] {
			if body+int(s) > len(data) {
				return nil, false
			}
			if i == 0 {
				pkt = append(pkt, data[body:body+int(s)]...)
			}
			body += int(s)
			if s < 255 { // the packet ends here
				if i == 0 {
					return pkt, true
				}
				i--
			}
		}
		p = body
	}
	return nil, false
}
