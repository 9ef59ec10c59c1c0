package callflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// stepFields is Step without its methods, so that encoding/json handles
// the named fields and the methods below only add Settings.
type stepFields Step

// MarshalJSON writes the step with Settings, if any, under its kind's name.
func (s Step) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(stepFields(s))
	if err != nil || s.Settings == nil {
		return b, err
	}
	spec := settingsKind(s.Settings)
	if spec == nil {
		return nil, fmt.Errorf("callflow: step %q: settings of type %T belong to no step kind", s.ID, s.Settings)
	}
	v, err := json.Marshal(s.Settings)
	if err != nil {
		return nil, err
	}
	key, _ := json.Marshal(string(spec.kind))
	out := append(b[:len(b)-1:len(b)-1], ',')
	out = append(append(append(out, key...), ':'), v...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads a step strictly: a key that is neither a named field
// nor the name of a kind with its own settings type is an error, as is a
// step with the settings of two such kinds.
func (s *Step) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var settings any
	for key, val := range raw {
		spec, ok := kinds[Kind(key)]
		if !ok || spec.settings == nil {
			continue
		}
		if settings != nil {
			return fmt.Errorf("callflow: step has the settings of two kinds (%s and %s)", settingsKind(settings).kind, key)
		}
		settings = spec.settings()
		if err := strictJSON(val, settings); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				te.Field = key + "." + te.Field // as for the named fields: "priority.priority"
			}
			return fmt.Errorf("%s: %w", key, err)
		}
		delete(raw, key)
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	var f stepFields
	if err := strictJSON(rest, &f); err != nil {
		return err
	}
	f.Settings = settings
	*s = Step(f)
	return nil
}

func strictJSON(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

// settingsKind is the kind whose settings type v is, or nil.
func settingsKind(v any) *kindSpec {
	t := reflect.TypeOf(v)
	for _, k := range kinds {
		if k.settingsType == t {
			return k
		}
	}
	return nil
}
