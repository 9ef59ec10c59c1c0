package queue

import "fmt"

// State of an agent.
type State uint8

// Agent states.
const (
	LoggedOut State = iota
	Ready
	Paused
	Ringing
	OnCall
	WrapUp
	numStates
)

var stateNames = [numStates]string{"loggedout", "ready", "paused", "ringing", "oncall", "wrapup"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText makes states readable in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("queue: unknown agent state %q", b)
}
