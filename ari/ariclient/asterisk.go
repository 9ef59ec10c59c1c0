package ariclient

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Info returns Asterisk's build, system, config and status information
// (GET /asterisk/info).
func (c *Client) Info(ctx context.Context) (*AsteriskInfo, error) {
	var out AsteriskInfo
	if err := c.do(ctx, http.MethodGet, "/asterisk/info", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ping checks that ARI answers (GET /asterisk/ping); good for readiness.
func (c *Client) Ping(ctx context.Context) (*AsteriskPing, error) {
	var out AsteriskPing
	if err := c.do(ctx, http.MethodGet, "/asterisk/ping", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Applications lists the Stasis applications registered in Asterisk.
func (c *Client) Applications(ctx context.Context) ([]Application, error) {
	var out []Application
	err := c.do(ctx, http.MethodGet, "/applications", nil, nil, &out)
	return out, err
}

// GetApplication returns one application; IsNotFound(err) if no socket has
// registered it.
func (c *Client) GetApplication(ctx context.Context, name string) (*Application, error) {
	var out Application
	if err := c.do(ctx, http.MethodGet, "/applications/"+url.PathEscape(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Subscribe subscribes app to event sources such as "endpoint:PJSIP/1001",
// "channel:<id>", "bridge:<id>" or "deviceState:<name>".
func (c *Client) Subscribe(ctx context.Context, app string, sources ...string) (*Application, error) {
	q := url.Values{}
	q.Set("eventSource", strings.Join(sources, ","))
	var out Application
	if err := c.do(ctx, http.MethodPost, "/applications/"+url.PathEscape(app)+"/subscription", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Unsubscribe undoes Subscribe.
func (c *Client) Unsubscribe(ctx context.Context, app string, sources ...string) (*Application, error) {
	q := url.Values{}
	q.Set("eventSource", strings.Join(sources, ","))
	var out Application
	if err := c.do(ctx, http.MethodDelete, "/applications/"+url.PathEscape(app)+"/subscription", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEndpoints returns all endpoints (GET /endpoints).
func (c *Client) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	err := c.do(ctx, http.MethodGet, "/endpoints", nil, nil, &out)
	return out, err
}

// GetEndpoint returns one endpoint, e.g. ("PJSIP", "agent-1001").
func (c *Client) GetEndpoint(ctx context.Context, tech, resource string) (*Endpoint, error) {
	var out Endpoint
	if err := c.do(ctx, http.MethodGet, "/endpoints/"+url.PathEscape(tech)+"/"+url.PathEscape(resource), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDeviceState returns a device state, e.g. "Stasis:agent-7" or "PJSIP/1001".
func (c *Client) GetDeviceState(ctx context.Context, name string) (*DeviceState, error) {
	var out DeviceState
	if err := c.do(ctx, http.MethodGet, "/deviceStates/"+url.PathEscape(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateDeviceState sets a Stasis-controlled device state ("Stasis:name"),
// e.g. to "NOT_INUSE", "INUSE", "BUSY", "UNAVAILABLE".
func (c *Client) UpdateDeviceState(ctx context.Context, name, state string) error {
	q := url.Values{}
	q.Set("deviceState", state)
	return c.do(ctx, http.MethodPut, "/deviceStates/"+url.PathEscape(name), q, nil, nil)
}

// Module is one loaded Asterisk module (GET /asterisk/modules).
type Module struct {
	Name         string `json:"name"` // e.g. "res_ari.so"
	Description  string `json:"description"`
	UseCount     int    `json:"use_count"`
	Status       string `json:"status"` // "Running" when loaded and working
	SupportLevel string `json:"support_level"`
}

// Modules lists the loaded modules (GET /asterisk/modules).
func (c *Client) Modules(ctx context.Context) ([]Module, error) {
	var out []Module
	if err := c.do(ctx, http.MethodGet, "/asterisk/modules", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Sound is a sound Asterisk can play, with the languages and formats it has
// it in (GET /sounds/{id}).
type Sound struct {
	ID      string        `json:"id"`
	Text    string        `json:"text,omitempty"`
	Formats []SoundFormat `json:"formats"`
}

// SoundFormat is one language and file format of a sound.
type SoundFormat struct {
	Language string `json:"language"`
	Format   string `json:"format"`
}

// Has reports whether the sound exists in the language.
func (s Sound) Has(language string) bool {
	for _, f := range s.Formats {
		if f.Language == language {
			return true
		}
	}
	return false
}

// GetSound describes one sound; an *Error with status 404 when Asterisk
// has no such sound. id may contain a slash ("digits/1").
func (c *Client) GetSound(ctx context.Context, id string) (*Sound, error) {
	var out Sound
	if err := c.do(ctx, http.MethodGet, "/sounds/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
