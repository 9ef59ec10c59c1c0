package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/audio"
	"github.com/omstil/omstil/config"
)

// apiError is an error with the status and code the client sees.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string { return e.Message }

// Errors the handlers return.
func errBadRequest(msg string) error { return &apiError{http.StatusBadRequest, "bad_request", msg, ""} }
func errUnauthorized() error {
	return &apiError{http.StatusUnauthorized, "unauthorized", "log in or give a bearer token", ""}
}
func errForbidden() error {
	return &apiError{http.StatusForbidden, "forbidden", "your role may not do this", ""}
}
func errNotFound(what string) error {
	return &apiError{http.StatusNotFound, "not_found", what + " not found", ""}
}

// errorBody is the one shape of every error the API returns.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{errorDetail{Code: code, Message: msg}})
}

// fail ends a request with err rendered as the API's error shape. An error
// that is not one of the known kinds is logged and shown as "internal
// error" only: its text never reaches the client.
func (s *Server) fail(c *gin.Context, err error) {
	var (
		ae *apiError
		ve *config.ValidationError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = &apiError{http.StatusBadRequest, "invalid", ve.Message, ve.Field}
		if ve.Field != "" {
			ae.Message = ve.Field + ": " + ve.Message
		}
	case errors.Is(err, config.ErrNotFound):
		ae = &apiError{http.StatusNotFound, "not_found", "not found", ""}
	case errors.Is(err, config.ErrUsernameTaken):
		ae = &apiError{http.StatusConflict, "conflict", "username: that username is taken", "username"}
	case errors.Is(err, config.ErrConflict):
		ae = &apiError{http.StatusConflict, "conflict", "already exists", ""}
	case errors.Is(err, config.ErrInUse):
		ae = &apiError{http.StatusConflict, "in_use", "it is in use", ""}
	case errors.Is(err, audio.ErrBusy):
		// every conversion slot stayed taken while the upload waited.
		c.Header("Retry-After", "10")
		ae = &apiError{http.StatusServiceUnavailable, "busy", "the server is converting other recordings; try again in a moment", ""}
	default:
		s.log.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error", ""}
	}
	c.AbortWithStatusJSON(ae.Status, errorBody{errorDetail{Code: ae.Code, Message: ae.Message, Field: ae.Field}})
}

// bind decodes a JSON body strictly: unknown fields, a key given twice
// in one object and trailing data are errors, and the message names what
// is wrong.
func bind(c *gin.Context, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20))
	if err != nil {
		return errBadRequest(err.Error())
	}
	if key, ok := duplicateKey(body); ok {
		return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf("duplicate key %q in the JSON body", key), key}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return errBadRequest("malformed JSON body")
		case errors.As(err, &te):
			return &apiError{http.StatusBadRequest, "invalid", te.Field + ": wrong type, want " + te.Type.String(), te.Field}
		case errors.Is(err, io.EOF):
			return errBadRequest("empty body; send a JSON object")
		}
		return errBadRequest(err.Error())
	}
	if dec.More() {
		return errBadRequest("trailing data after the JSON object")
	}
	return nil
}

// duplicateKey finds a key given twice in one JSON object, at any depth.
// Keys that differ only in case count as the same, as encoding/json
// matches them to the same field: {"role":"agent","Role":"admin"} would
// otherwise mean admin to omstil and agent to anything reading the
// first key. Malformed JSON is left to the decoder to report.
func duplicateKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func() (string, bool, error)
	walk = func() (string, bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", false, err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false, err
				}
				key, _ := k.(string)
				fold := strings.ToLower(key)
				if seen[fold] {
					return key, true, nil
				}
				seen[fold] = true
				if key, dup, err := walk(); dup || err != nil {
					return key, dup, err
				}
			}
			_, err = dec.Token()
			return "", false, err
		case json.Delim('['):
			for dec.More() {
				if key, dup, err := walk(); dup || err != nil {
					return key, dup, err
				}
			}
			_, err = dec.Token()
			return "", false, err
		}
		return "", false, nil
	}
	key, dup, _ := walk()
	return key, dup
}

// decode binds the JSON body into a Req or fails the request with bind's
// error (the queue settings' fields named as the client sent them, see
// unembed).
func decode[Req any](s *Server, c *gin.Context) (Req, bool) {
	var req Req
	if err := bind(c, &req); err != nil {
		s.fail(c, unembed(err))
		return req, false
	}
	return req, true
}
