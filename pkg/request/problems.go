package request

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return e.Field + ": " + e.Message }

// Problems is every problem found with a request. Its messages are safe to show the requester.
type Problems []FieldError

// Add records a problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
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
