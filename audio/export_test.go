package audio

// Waiting is how many conversions wait for a slot.
func Waiting(c *Converter) int32 { return c.waiting.Load() }
