// Package apierr holds the one error type the portal answers with. Every
// layer (store adapters, workspace service, handlers) returns an *Error for
// anything the caller did wrong or could act on; the HTTP layer turns it into
// `{"error": {"code", "message", "field"}}` in one place, and anything that is
// not an *Error becomes a logged 500 without leaking its text.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with the HTTP status and the public message the caller
// sees. Err is the internal cause, logged but never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	// RetryAfter, in seconds, is sent as a Retry-After header when set.
	RetryAfter int
	Err        error
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Invalid is a 400 naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 that is not about one field (e.g. malformed JSON).
func BadRequest(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable is a 422: the request was well formed but the cluster's
// validation rejected it.
func Unprocessable(field, message string, cause error) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "rejected", Field: field, Message: message, Err: cause}
}

// Unauthorized is a 401. The message is deliberately generic where telling
// more would help an attacker (unknown e-mail vs wrong password).
func Unauthorized(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: fmt.Sprintf(format, args...)}
}

// Forbidden is a 403.
func Forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// NotFound is a 404.
func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Conflict is a 409.
func Conflict(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Field: field, Message: fmt.Sprintf(format, args...)}
}

// TooLarge is a 413.
func TooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("request body exceeds %d bytes", limit)}
}

// TooManyRequests is a 429.
func TooManyRequests(retryAfter int, format string, args ...any) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: retryAfter, Message: fmt.Sprintf(format, args...)}
}

// Unavailable is a 503: a dependency (database, cluster, pattern source) is
// not reachable right now.
func Unavailable(cause error, format string, args ...any) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: fmt.Sprintf(format, args...), Err: cause}
}
