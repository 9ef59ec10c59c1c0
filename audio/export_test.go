package audio

// Waiting is how many conversions wait for a slot.
func Waiting(c *Converter) int32 { return c.waiting.Load() }

// OggCRC is an Ogg page's checksum.
func OggCRC(b []byte) uint32 { return oggCRC(b) }
