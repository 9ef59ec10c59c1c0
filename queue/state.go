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

// stateNames is omstil's one text form of an agent state: the engine's
// JSON, the live feed, the REST API, the agent page and the saved restart
// state all use it. Anything that reads a state name parses it with
// ParseState; nothing else spells them.
var stateNames = [numStates]string{"logged_out", "ready", "paused", "ringing", "on_call", "wrap_up"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText makes states readable in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseState reads a state name as String writes it; any other spelling
// is an error.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("queue: unknown agent state %q", name)
}

// UnmarshalText parses a state name (ParseState).
func (s *State) UnmarshalText(b []byte) error {
	st, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = st
	return nil
}
