package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/prompts"
	"github.com/omstil/omstil/queue"
)

// The simulator's generated citizens send no audio of their own, so a
// newcomer who answers a demo call in the browser would hear silence and
// could not tell a working call from a broken one. demoVoice gives them a
// voice: once a call is bridged with a browser agent, the citizen counts
// "en, to, tre, fire, fem" in Danish (omstil's own number prompts,
// prompts/da/number-1…5.wav) and pauses, again and again until the call
// ends, through the simulator's far-end audio (arisim InjectAudio), which
// reaches the agent's page over the externalMedia RTP like any caller's
// voice.

// demoSpeechWords are the prompts the demo citizen says, in order.
var demoSpeechWords = []string{"number-1", "number-2", "number-3", "number-4", "number-5"}

const (
	demoWordGap     = 250 * time.Millisecond  // silence between the words
	demoSpeechPause = 1500 * time.Millisecond // silence before the next round
	demoSampleRate  = 8000
)

// audioInjector is the simulator as the voice uses it.
type audioInjector interface {
	InjectAudio(channelID string, pcm []int16) error
}

// demoVoice makes the citizens of calls bridged with a browser agent
// speak. callEvent is called on the adapter's loop goroutine and never
// blocks; each talking citizen has a goroutine of its own that ends with
// the call or ctx.
type demoVoice struct {
	ctx       context.Context
	sim       audioInjector
	speech    []int16                  // one round, 8 kHz linear
	isBrowser func(queue.AgentID) bool // a webrtc agent
	after     func(time.Duration) <-chan time.Time

	mu      sync.Mutex
	talking map[queue.CallID]bool
	wg      sync.WaitGroup
}

func newDemoVoice(ctx context.Context, sim audioInjector, speech []int16, isBrowser func(queue.AgentID) bool) *demoVoice {
	return &demoVoice{ctx: ctx, sim: sim, speech: speech, isBrowser: isBrowser, after: time.After, talking: map[queue.CallID]bool{}}
}

// callEvent starts the citizen talking when its call is bridged with a
// browser agent (once per call: a transfer bridges it again).
func (v *demoVoice) callEvent(ev ari.CallEvent) {
	if ev.Kind != ari.CallBridged || !v.isBrowser(ev.Agent) {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.talking[ev.Call] || v.ctx.Err() != nil {
		return
	}
	v.talking[ev.Call] = true
	v.wg.Add(1)
	go v.talk(ev.Call)
}

// talk says the round, waits for it and the pause, and says it again,
// until the simulator no longer has the citizen's channel.
func (v *demoVoice) talk(call queue.CallID) {
	defer v.wg.Done()
	defer func() {
		v.mu.Lock()
		delete(v.talking, call)
		v.mu.Unlock()
	}()
	round := time.Duration(len(v.speech))*time.Second/demoSampleRate + demoSpeechPause
	for {
		// The call id is the citizen's channel id (ari.CallEvent.Call).
		if err := v.sim.InjectAudio(string(call), v.speech); err != nil {
			return // hung up
		}
		select {
		case <-v.ctx.Done():
			return
		case <-v.after(round):
		}
	}
}

// wait returns once every citizen has stopped talking (after ctx ends).
func (v *demoVoice) wait() { v.wg.Wait() }

// demoSpeech is one round of what the demo citizen says.
func demoSpeech() ([]int16, error) {
	da, err := prompts.FS(prompts.Danish)
	if err != nil {
		return nil, err
	}
	var out []int16
	for i, w := range demoSpeechWords {
		b, err := fs.ReadFile(da, w+".wav")
		if err != nil {
			return nil, fmt.Errorf("demo voice: %w", err)
		}
		pcm, err := wavPCM(b)
		if err != nil {
			return nil, fmt.Errorf("demo voice: %s: %w", w, err)
		}
		if i > 0 {
			out = append(out, make([]int16, demoWordGap*demoSampleRate/time.Second)...)
		}
		out = append(out, pcm...)
	}
	return out, nil
}

// wavPCM returns the samples of a WAV file in the prompts' format: PCM,
// mono, 8 kHz, 16 bit (prompts.TestPromptsAre8kHzMonoPCM holds them to it).
func wavPCM(b []byte) ([]int16, error) {
	le := binary.LittleEndian
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errors.New("not a WAV file")
	}
	var fmtOK bool
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > len(body) {
			return nil, errors.New("the WAV file is cut short")
		}
		body = body[:size]
		switch id {
		case "fmt ":
			fmtOK = size >= 16 && le.Uint16(body[0:2]) == 1 && le.Uint16(body[2:4]) == 1 &&
				le.Uint32(body[4:8]) == demoSampleRate && le.Uint16(body[14:16]) == 16
			if !fmtOK {
				return nil, errors.New("not 8 kHz mono 16-bit PCM")
			}
		case "data":
			if !fmtOK {
				return nil, errors.New("no format before the data")
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(le.Uint16(body[2*i:]))
			}
			return pcm, nil
		}
		p += 8 + size + size%2
	}
	return nil, errors.New("no audio data")
}
