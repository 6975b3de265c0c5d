package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(c *gin.Context) error

var (
	errNoRoute  = apierr.NotFound("no such endpoint")
	errNoMethod = &apierr.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed on this endpoint"}
)

func (s *Server) wrap(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.writeError(c, err)
		}
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError is the one place errors become HTTP answers.
func (s *Server) writeError(c *gin.Context, err error) {
	e, ok := apierr.As(err)
	if !ok {
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = apierr.NotFound("not found")
		case errors.Is(err, store.ErrDuplicate):
			e = apierr.Conflict("", "already exists")
		default:
			e = &apierr.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
		}
	}
	switch {
	case e.Status >= 500:
		s.Log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "status", e.Status, "error", e.Error())
	case e.Err != nil:
		s.Log.Info("request rejected", "method", c.Request.Method, "path", c.Request.URL.Path, "status", e.Status, "error", e.Error())
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="aichat-portal"`)
	}
	c.AbortWithStatusJSON(e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// decode reads exactly one JSON object into v. Unknown fields are refused so
// a typo is reported instead of silently ignored.
func decode(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.TooLarge(mbe.Limit)
		}
		return apierr.BadRequest("malformed_json", "the body must be a single JSON object")
	}
	return nil
}

// readBody reads the (size-limited) body for handlers that need raw JSON.
func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	if !json.Valid(b) {
		return nil, apierr.BadRequest("malformed_json", "the body is not valid JSON")
	}
	return b, nil
}

func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		te  *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return apierr.TooLarge(mbe.Limit)
	case errors.As(err, &te):
		if te.Field == "" {
			return apierr.BadRequest("malformed_json", "the body must be a JSON object")
		}
		return apierr.Invalid(te.Field, "%s must be a JSON %s", te.Field, jsonType(te.Type.Kind().String()))
	case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.BadRequest("malformed_json", "the body is not valid JSON")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return apierr.Invalid(f, "unknown field %q", f)
	}
	return apierr.BadRequest("malformed_json", "the body could not be read")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}
