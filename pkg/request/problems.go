package request

import (
	"fmt"
	"strings"
)

// Kind says what sort of problem a FieldError is, so that a channel can answer in its own terms
// (the API's 400, 403 and 409).
type Kind int

// Kinds of problem.
const (
	Invalid   Kind = iota // the request or an account in it is not valid
	Forbidden             // the requester may not ask for this
	Conflict              // an account already has a window
	Limited               // a limit on windows (cooldown, caps) is reached
)

// FieldError is one problem with one field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Kind    Kind   `json:"-"`
}

func (e FieldError) String() string { return e.Field + ": " + e.Message }

// Problems is every problem found with a request. Its messages are safe to show the requester.
type Problems []FieldError

// Add records an Invalid problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	p.AddKind(Invalid, field, format, args...)
}

// AddKind records a problem of kind with field.
func (p *Problems) AddKind(kind Kind, field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Kind: kind})
}

// Has reports whether any problem is of kind.
func (p Problems) Has(kind Kind) bool {
	for _, fe := range p {
		if fe.Kind == kind {
			return true
		}
	}
	return false
}

// Error lists every problem on its own line after a one-line summary.
func (p *Problems) Error() string {
	lines := make([]string, 0, len(*p)+1)
	if len(*p) == 1 {
		lines = append(lines, "the request has 1 problem:")
	} else {
		lines = append(lines, fmt.Sprintf("the request has %d problems:", len(*p)))
	}
	for _, fe := range *p {
		lines = append(lines, fe.String())
	}
	return strings.Join(lines, "\n")
}

// Strings returns one "field: message" line per problem.
func (p Problems) Strings() []string {
	out := make([]string, len(p))
	for i, fe := range p {
		out[i] = fe.String()
	}
	return out
}
