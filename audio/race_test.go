//go:build race

package audio_test

// raceEnabled: the race detector makes decoding some ten times slower;
// the longest inputs are shortened under it (see TestConvertMemory).
const raceEnabled = true
