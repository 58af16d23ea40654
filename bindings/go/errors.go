// SPDX-License-Identifier: MIT

package profile2metrics

import (
	"errors"
	"fmt"
)

// Status is the library's p2m_status: why a call failed.
type Status int

// The statuses, with the values of the C enum p2m_status.
const (
	StatusOK               Status = 0
	StatusMalformed        Status = 1 // the input is not a valid request (Offset)
	StatusInvalidReference Status = 2 // strict mode: an index outside its table (Offset)
	StatusConfig           Status = 3 // the configuration was rejected (Field, Message)
	StatusMemory           Status = 4 // memory too small (the binding grows it itself)
	StatusOutputTooSmall   Status = 5 // output too small (the binding grows it itself)
	StatusArgument         Status = 6 // an argument the library refuses (input over 4 GiB)
	StatusUnsupported      Status = 7 // a feature this build of the library lacks (Field)
)

var statusNames = [...]string{
	"ok", "malformed input", "invalid reference", "invalid configuration",
	"memory too small", "output buffer too small", "invalid argument",
	"not supported by this build",
}

// String is the library's p2m_status_string.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("unknown status %d", int(s))
}

// Error is a failed call of the library: its p2m_error record.
type Error struct {
	Status  Status
	Offset  int    // byte offset into the input (StatusMalformed, StatusInvalidReference)
	Needed  int    // bytes needed (StatusMemory, StatusOutputTooSmall)
	Field   string // configuration path, e.g. "attributes[2].from" (StatusConfig, StatusUnsupported)
	Message string // what was wrong, one line
}

func (e *Error) Error() string {
	msg := e.Message
	switch e.Status {
	case StatusMalformed, StatusInvalidReference:
		if msg == "" {
			return "profile2metrics: " + e.Status.String()
		}
		return fmt.Sprintf("profile2metrics: %s at byte %d: %s", e.Status, e.Offset, msg)
	case StatusConfig, StatusUnsupported:
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		if msg == "" {
			return "profile2metrics: " + e.Status.String()
		}
		return "profile2metrics: config: " + msg
	}
	if msg == "" {
		return "profile2metrics: " + e.Status.String()
	}
	return "profile2metrics: " + e.Status.String() + ": " + msg
}

// Is makes errors.Is(err, ErrMalformed) (and the other sentinels) true for
// every *Error of that status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// Sentinels, one per status, for errors.Is.
var (
	ErrMalformed        = &Error{Status: StatusMalformed}
	ErrInvalidReference = &Error{Status: StatusInvalidReference}
	ErrConfig           = &Error{Status: StatusConfig}
	ErrMemory           = &Error{Status: StatusMemory}
	ErrOutputTooSmall   = &Error{Status: StatusOutputTooSmall}
	ErrArgument         = &Error{Status: StatusArgument}
	ErrUnsupported      = &Error{Status: StatusUnsupported}
)

// ErrClosed is returned by a Converter used after Close.
var ErrClosed = errors.New("profile2metrics: converter used after Close")
