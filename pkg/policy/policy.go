// Package policy evaluates IAM policy documents, the way AWS documents their evaluation, for the
// policies rootwindow writes or depends on: the request bus's resource policy, the guardrail SCP
// and the statements a window adds to it. It answers one question, "does this document allow,
// deny, or say nothing about this request?", and refuses at parse what it cannot evaluate (an
// unknown condition operator, a policy variable), so that a policy it does not understand is
// never mistaken for one that does not apply.
//
// Condition logic, from the IAM User Guide ("Conditions with multiple context keys or values",
// "IAM JSON policy elements: Condition operators"): condition operators, and keys under one
// operator, are ANDed; the values of one key are ORed, and NORed for a negated operator
// (StringNotEquals, ArnNotLike, ...). A key absent from the request makes a condition false,
// except for negated operators (true), ...IfExists (true) and Null (which tests presence).
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Effect is what a document decides for a request.
type Effect int

// Effects: a document says nothing about the request, allows it, or denies it explicitly.
const (
	NotApplicable Effect = iota
	Allow
	Deny
)

func (e Effect) String() string {
	return [...]string{"NotApplicable", "Allow", "Deny"}[e]
}

// Request is one call as a policy sees it.
type Request struct {
	// Principal is the caller as aws:PrincipalArn names it (a role's ARN for its sessions, an IAM
	// user's ARN, or arn:aws:iam::<account>:root for the root user), or a service principal's
	// name (events.amazonaws.com) for a service assuming a role.
	Principal string
	Action    string // service:Action
	Resource  string // an ARN, or "*"
	// Context holds the condition keys present in the request, each with its values (one for a
	// single-valued key). Keys are matched without regard to case, as IAM does.
	Context map[string][]string
}

// Document is a parsed policy document.
type Document struct {
	Version   string
	Statement []Statement
}

// Statement is one statement.
type Statement struct {
	Sid          string
	Effect       string
	Principal    *Principals // nil when absent (identity policies and SCPs)
	NotPrincipal *Principals
	Action       Values
	NotAction    Values
	Resource     Values
	NotResource  Values
	Condition    []Condition
}

// Principals is a Principal element: "*" or principals by type ("AWS", "Service", ...).
type Principals struct {
	Any    bool
	ByType map[string]Values
}

// Values is a string or a list of strings in a policy.
type Values []string

// Condition is one operator applied to one key.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string
	Values   Values

	set       string // "", "ForAnyValue" or "ForAllValues"
	variables bool   // some values are ${<key>}, taken from the request's context
	base      string // the operator without set qualifier or IfExists
	ifExists  bool
	negated   bool
	matchFunc func(have, want string) (bool, error)
}

// Parse reads a policy document strictly: unknown elements, effects and condition operators are
// errors, as are policy variables (${...}), which rootwindow never writes, except a whole
// ${<key>} in the values of StringEquals and StringEqualsIgnoreCase conditions (the documented
// trust condition that pins a role's session name: "sts:RoleSessionName": "${aws:username}").
func Parse(doc []byte) (Document, error) {
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Document{}, fmt.Errorf("policy: %w", err)
	}
	var stmts []json.RawMessage
	trimmed := bytes.TrimSpace(raw.Statement)
	switch {
	case len(trimmed) == 0:
		return Document{}, errors.New("policy: no Statement")
	case trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &stmts); err != nil {
			return Document{}, fmt.Errorf("policy: Statement: %w", err)
		}
	default:
		stmts = []json.RawMessage{trimmed}
	}
	d := Document{Version: raw.Version}
	for i, s := range stmts {
		st, err := parseStatement(s)
		if err != nil {
			return Document{}, fmt.Errorf("policy: Statement[%d]: %w", i, err)
		}
		d.Statement = append(d.Statement, st)
	}
	return d, nil
}

func parseStatement(b json.RawMessage) (Statement, error) {
	var raw struct {
		Sid          string                       `json:"Sid"`
		Effect       string                       `json:"Effect"`
		Principal    json.RawMessage              `json:"Principal"`
		NotPrincipal json.RawMessage              `json:"NotPrincipal"`
		Action       Values                       `json:"Action"`
		NotAction    Values                       `json:"NotAction"`
		Resource     Values                       `json:"Resource"`
		NotResource  Values                       `json:"NotResource"`
		Condition    map[string]map[string]Values `json:"Condition"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Statement{}, err
	}
	st := Statement{Sid: raw.Sid, Effect: raw.Effect, Action: raw.Action, NotAction: raw.NotAction, Resource: raw.Resource, NotResource: raw.NotResource}
	switch {
	case st.Effect != "Allow" && st.Effect != "Deny":
		return st, fmt.Errorf("the Effect must be Allow or Deny, got %q", st.Effect)
	case (st.Action == nil) == (st.NotAction == nil):
		return st, errors.New("needs exactly one of Action and NotAction")
	}
	var err error
	if st.Principal, err = parsePrincipals(raw.Principal); err != nil {
		return st, fmt.Errorf("the Principal: %w", err)
	}
	if st.NotPrincipal, err = parsePrincipals(raw.NotPrincipal); err != nil {
		return st, fmt.Errorf("the NotPrincipal: %w", err)
	}
	for _, v := range [][]string{st.Action, st.NotAction, st.Resource, st.NotResource} {
		if err := noVariables(v); err != nil {
			return st, err
		}
	}
	ops := make([]string, 0, len(raw.Condition))
	for op := range raw.Condition {
		ops = append(ops, op)
	}
	sort.Strings(ops) // a deterministic order, for messages
	for _, op := range ops {
		keys := make([]string, 0, len(raw.Condition[op]))
		for k := range raw.Condition[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := newCondition(op, k, raw.Condition[op][k])
			if err != nil {
				return st, fmt.Errorf("the Condition: %w", err)
			}
			st.Condition = append(st.Condition, c)
		}
	}
	return st, nil
}

func noVariables(vs []string) error {
	for _, v := range vs {
		if strings.Contains(v, "${") {
			return fmt.Errorf("%q: policy variables are not evaluated here", v)
		}
	}
	return nil
}

func parsePrincipals(b json.RawMessage) (*Principals, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var star string
	if json.Unmarshal(b, &star) == nil {
		if star != "*" {
			return nil, fmt.Errorf("a string principal must be \"*\", got %q", star)
		}
		return &Principals{Any: true}, nil
	}
	p := &Principals{}
	if err := json.Unmarshal(b, &p.ByType); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalJSON reads a string or a list of strings.
func (v *Values) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*v = Values{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		// Bool and numeric condition values may be written bare.
		var scalar any
		if json.Unmarshal(b, &scalar) == nil {
			switch s := scalar.(type) {
			case bool, float64:
				*v = Values{fmt.Sprint(s)}
				return nil
			}
		}
		return fmt.Errorf("must be a string or a list of strings, got %s", b)
	}
	*v = many
	return nil
}

// Evaluate decides the request under the document: Deny when a Deny statement applies, else
// Allow when an Allow statement does, else NotApplicable.
func (d Document) Evaluate(r Request) Effect {
	effect := NotApplicable
	for _, st := range d.Statement {
		if !st.Applies(r) {
			continue
		}
		if st.Effect == "Deny" {
			return Deny
		}
		effect = Allow
	}
	return effect
}

// Applies reports whether the statement covers the request: principal, action, resource and
// every condition.
func (st Statement) Applies(r Request) bool {
	if st.Principal != nil && !st.Principal.matches(r.Principal) {
		return false
	}
	if st.NotPrincipal != nil && st.NotPrincipal.matches(r.Principal) {
		return false
	}
	if st.Action != nil && !anyMatch(st.Action, r.Action, true) {
		return false
	}
	if st.NotAction != nil && anyMatch(st.NotAction, r.Action, true) {
		return false
	}
	if st.Resource != nil && !anyMatch(st.Resource, r.Resource, false) {
		return false
	}
	if st.NotResource != nil && anyMatch(st.NotResource, r.Resource, false) {
		return false
	}
	for _, c := range st.Condition {
		if !c.holds(r.Context) {
			return false
		}
	}
	return true
}

// matches reports whether a principal element names the caller: "*", the caller's ARN, or
// its account (the 12-digit ID or arn:...:iam::<account>:root), which stands for every principal
// of the account; or, for a service principal (the caller named by its service name, such as
// events.amazonaws.com, as a role's trust policy names it), that name under "Service".
func (p *Principals) matches(arn string) bool {
	if p.Any {
		return true
	}
	if slices.Contains(p.ByType["Service"], arn) {
		return true
	}
	account := AccountOf(arn)
	for _, want := range p.ByType["AWS"] {
		switch {
		case want == "*", want == arn:
			return true
		case account != "" && (want == account || want == rootOf(arn)):
			return true
		}
	}
	return false
}

// AccountOf is the account ID in an ARN, or "".
func AccountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func rootOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	return strings.Join(parts[:2], ":") + ":iam::" + parts[4] + ":root"
}

func anyMatch(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		if like(p, s, foldCase) {
			return true
		}
	}
	return false
}

// like matches s against an IAM pattern, where * is any run of characters and ? one character.
func like(pattern, s string, foldCase bool) bool {
	if foldCase {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	// path.Match's '*' stops at '/', IAM's does not: match against a separator-free rendering.
	const sep = "\x00"
	ok, err := path.Match(strings.ReplaceAll(escapeBrackets(pattern), "/", sep), strings.ReplaceAll(s, "/", sep))
	return err == nil && ok
}

// escapeBrackets keeps path.Match from reading '[' and '\' as its own syntax.
func escapeBrackets(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`)
	return r.Replace(p)
}

// Date forms accepted in Date conditions (ISO 8601, as IAM takes them).
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"}

func parseDate(s string) (time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date", s)
}

func compareDates(cmp func(a, b time.Time) bool) func(have, want string) (bool, error) {
	return func(have, want string) (bool, error) {
		h, err := parseDate(have)
		if err != nil {
			return false, err
		}
		w, err := parseDate(want)
		if err != nil {
			return false, err
		}
		return cmp(h, w), nil
	}
}

// operators are the base operators evaluated, each with whether it is negated and how one request
// value matches one policy value.
var operators = map[string]struct {
	negated bool
	match   func(have, want string) (bool, error)
}{
	"StringEquals":              {false, func(h, w string) (bool, error) { return h == w, nil }},
	"StringNotEquals":           {true, func(h, w string) (bool, error) { return h == w, nil }},
	"StringEqualsIgnoreCase":    {false, func(h, w string) (bool, error) { return strings.EqualFold(h, w), nil }},
	"StringNotEqualsIgnoreCase": {true, func(h, w string) (bool, error) { return strings.EqualFold(h, w), nil }},
	"StringLike":                {false, func(h, w string) (bool, error) { return like(w, h, false), nil }},
	"StringNotLike":             {true, func(h, w string) (bool, error) { return like(w, h, false), nil }},
	"ArnEquals":                 {false, func(h, w string) (bool, error) { return like(w, h, false), nil }},
	"ArnLike":                   {false, func(h, w string) (bool, error) { return like(w, h, false), nil }},
	"ArnNotEquals":              {true, func(h, w string) (bool, error) { return like(w, h, false), nil }},
	"ArnNotLike":                {true, func(h, w string) (bool, error) { return like(w, h, false), nil }},
	"DateEquals":                {false, compareDates(time.Time.Equal)},
	"DateNotEquals":             {true, compareDates(time.Time.Equal)},
	"DateLessThan":              {false, compareDates(time.Time.Before)},
	"DateLessThanEquals":        {false, compareDates(func(a, b time.Time) bool { return !a.After(b) })},
	"DateGreaterThan":           {false, compareDates(time.Time.After)},
	"DateGreaterThanEquals":     {false, compareDates(func(a, b time.Time) bool { return !a.Before(b) })},
	"Bool":                      {false, func(h, w string) (bool, error) { return strings.EqualFold(h, w), nil }},
}

func newCondition(op, key string, values Values) (Condition, error) {
	c := Condition{Operator: op, Key: key, Values: values}
	base := op
	if set, rest, ok := strings.Cut(base, ":"); ok {
		if set != "ForAnyValue" && set != "ForAllValues" {
			return c, fmt.Errorf("%q is not a condition operator", op)
		}
		c.set, base = set, rest
	}
	if b, ok := strings.CutSuffix(base, "IfExists"); ok {
		c.ifExists, base = true, b
	}
	c.base = base
	if err := noVariables(values); err != nil {
		if base != "StringEquals" && base != "StringEqualsIgnoreCase" {
			return c, err
		}
		for _, v := range values {
			if strings.Contains(v, "${") && !variable.MatchString(v) {
				return c, fmt.Errorf("%q: only a whole ${<key>} is evaluated here", v)
			}
		}
		c.variables = true
	}
	if base == "Null" {
		if c.set != "" || c.ifExists {
			return c, fmt.Errorf("%q is not a condition operator", op)
		}
		for _, v := range values {
			if v != "true" && v != "false" {
				return c, fmt.Errorf("the Null condition on %s must be \"true\" or \"false\", got %q", key, v)
			}
		}
		return c, nil
	}
	o, ok := operators[base]
	if !ok {
		return c, fmt.Errorf("%q is not a condition operator this evaluator knows", op)
	}
	c.negated, c.matchFunc = o.negated, o.match
	if strings.HasPrefix(base, "Date") {
		for _, v := range values {
			if _, err := parseDate(v); err != nil {
				return c, fmt.Errorf("%s %s: %w", op, key, err)
			}
		}
	}
	return c, nil
}

func lookup(ctx map[string][]string, key string) ([]string, bool) {
	if v, ok := ctx[key]; ok {
		return v, true
	}
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// variable is a value that is one policy variable, ${<condition key>}.
var variable = regexp.MustCompile(`^\$\{([A-Za-z0-9]+:[A-Za-z0-9/_.:-]+)\}$`)

// resolve puts the request's value of each ${<key>} in c's values; a variable the request does
// not carry (or carries more than one value of) matches nothing (IAM User Guide, "Policy
// variables": a key not in the request context cannot be substituted, and the condition does not
// match on it).
func (c Condition) resolve(ctx map[string][]string) Condition {
	if !c.variables {
		return c
	}
	var out Values
	for _, w := range c.Values {
		if m := variable.FindStringSubmatch(w); m != nil {
			v, ok := lookup(ctx, m[1])
			if !ok || len(v) != 1 {
				continue
			}
			w = v[0]
		}
		out = append(out, w)
	}
	c.Values = out
	return c
}

// holds evaluates the condition against the request's context.
func (c Condition) holds(ctx map[string][]string) bool {
	c = c.resolve(ctx)
	have, present := lookup(ctx, c.Key)
	if c.base == "Null" {
		want := false
		for _, v := range c.Values {
			want = want || (v == "true") == !present
		}
		return want
	}
	if !present {
		switch {
		case c.ifExists, c.set == "ForAllValues":
			return true
		case c.set == "ForAnyValue":
			return false
		}
		return c.negated
	}
	one := func(h string) bool {
		matched := false
		for _, w := range c.Values {
			ok, err := c.matchFunc(h, w)
			if err != nil {
				return c.negated // a value that cannot be compared matches nothing
			}
			matched = matched || ok
		}
		return matched != c.negated // OR over values; NOR when negated
	}
	switch c.set {
	case "ForAllValues":
		for _, h := range have {
			if !one(h) {
				return false
			}
		}
		return true
	default: // ForAnyValue, and single-valued keys
		for _, h := range have {
			if one(h) {
				return true
			}
		}
		return false
	}
}
