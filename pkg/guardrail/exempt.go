package guardrail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// The exempt strategy lifts a guardrail attached anywhere (the root, OUs, accounts, several) by
// rewriting its document: the root deny keeps applying to every account except those in an open
// window, and for each window's end a statement denies the root user of its accounts from that
// instant (DateGreaterThan aws:CurrentTime), so that AWS closes every window by its own clock
// whatever becomes of rootwindow. The document is rendered from the base document (the pinned
// one, as it is with no window open) and the open windows alone: the same windows give the same
// bytes. Root users carry no principal tags, so the exemption is by aws:PrincipalAccount.

// Exemption is one open window as the guardrail's document holds it: its accounts' root user is
// allowed from Start (zero: no bound) to End.
type Exemption struct {
	AccountIDs []string
	Start, End time.Time
}

// ExemptSidPrefix starts the Sid of every statement the exempt strategy adds.
const ExemptSidPrefix = "Rootwindow"

// Canonical is a policy document as rootwindow writes it: its JSON re-encoded with keys in order
// and Statement as a list, so that two documents that say the same compare equal.
func Canonical(doc string) (string, error) {
	m, stmts, err := parseDoc(doc)
	if err != nil {
		return "", err
	}
	m["Statement"] = stmts
	b, err := json.Marshal(m)
	return string(b), err
}

// sameDocument reports whether two documents say the same, whatever their spacing and key order
// (Organizations may return a document in another layout than it was written).
func sameDocument(a, b string) bool {
	if a == b {
		return true
	}
	ca, err1 := Canonical(a)
	cb, err2 := Canonical(b)
	return err1 == nil && err2 == nil && ca == cb
}

// DocumentSHA256 is the hex SHA-256 of a document's canonical form.
func DocumentSHA256(doc string) (string, error) {
	c, err := Canonical(doc)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:]), nil
}

func parseDoc(doc string) (map[string]any, []any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return nil, nil, fmt.Errorf("the guardrail's document is not JSON: %w", err)
	}
	switch st := m["Statement"].(type) {
	case []any:
		return m, st, nil
	case map[string]any:
		return m, []any{st}, nil
	}
	return nil, nil, errors.New("the guardrail's document has no statements")
}

// RenderExempt renders the guardrail's document from base with the exemptions: every root-deny
// statement of base (see ExtraStatements) gains `StringNotEquals aws:PrincipalAccount` listing
// every exempted account (with any it already listed), and for each distinct end one statement
// per root deny denies the root user of the accounts ending then, from that instant. With no
// exemptions it is base itself, byte for byte: the guardrail goes back exactly as it was.
func RenderExempt(base string, exemptions []Exemption) (string, error) {
	m, stmts, err := parseDoc(base)
	if err != nil {
		return "", err
	}
	var denies []map[string]any
	for i, s := range stmts {
		st, ok := s.(map[string]any)
		if !ok {
			return "", fmt.Errorf("the guardrail's statement %d is not an object", i)
		}
		if sid, _ := st["Sid"].(string); strings.HasPrefix(sid, ExemptSidPrefix) {
			return "", fmt.Errorf("the guardrail's base document already holds a statement rootwindow writes (%s)", sid)
		}
		if isRootDenyDoc(st) {
			denies = append(denies, st)
		}
	}
	if len(exemptions) == 0 {
		return base, nil
	}
	if len(denies) == 0 {
		return "", errors.New("the guardrail's document has no root deny to exempt accounts from")
	}
	// The end statements carry each root deny's conditions as base has them.
	original := make([]map[string]any, len(denies))
	for i, st := range denies {
		if _, err := conditionOf(st, i); err != nil {
			return "", err
		}
		b, _ := json.Marshal(st["Condition"])
		if err := json.Unmarshal(b, &original[i]); err != nil {
			return "", err
		}
	}
	var all []string
	byEnd, byStart := map[time.Time][]string{}, map[time.Time][]string{}
	for _, e := range exemptions {
		end := e.End.UTC().Truncate(time.Second)
		for _, a := range e.AccountIDs {
			all = append(all, a)
			byEnd[end] = append(byEnd[end], a)
			if !e.Start.IsZero() {
				start := e.Start.UTC().Truncate(time.Second)
				byStart[start] = append(byStart[start], a)
			}
		}
	}
	for i, st := range denies {
		cond, err := conditionOf(st, i)
		if err != nil {
			return "", err
		}
		ne, _ := cond["StringNotEquals"].(map[string]any)
		if ne == nil {
			ne = map[string]any{}
		}
		accounts := append(values(ne["aws:PrincipalAccount"]), all...)
		ne["aws:PrincipalAccount"] = sortedUnique(accounts)
		cond["StringNotEquals"] = ne
	}
	// One statement per root deny and distinct instant: outside [start, end] the accounts' root
	// user is denied as the base denies it.
	bound := func(kind, op string, by map[time.Time][]string) {
		instants := make([]time.Time, 0, len(by))
		for at := range by {
			instants = append(instants, at)
		}
		sort.Slice(instants, func(i, j int) bool { return instants[i].Before(instants[j]) })
		for _, at := range instants {
			for i, st := range denies {
				cond := map[string]any{}
				for o, keys := range original[i] {
					cond[o] = keys
				}
				eq := map[string]any{}
				if base, ok := cond["StringEquals"].(map[string]any); ok {
					for k, v := range base {
						eq[k] = v
					}
				}
				eq["aws:PrincipalAccount"] = sortedUnique(by[at])
				cond["StringEquals"] = eq
				cond[op] = map[string]any{"aws:CurrentTime": at.Format(time.RFC3339)}
				sid := ExemptSidPrefix + kind + at.Format("20060102T150405Z")
				if len(denies) > 1 {
					sid += fmt.Sprintf("S%d", i)
				}
				stmts = append(stmts, map[string]any{"Sid": sid, "Effect": "Deny", "Action": st["Action"], "Resource": st["Resource"], "Condition": cond})
			}
		}
	}
	bound("Start", "DateLessThan", byStart)
	bound("End", "DateGreaterThan", byEnd)
	m["Statement"] = stmts
	b, err := json.Marshal(m)
	return string(b), err
}

// conditionOf is a root-deny statement's Condition, refusing one whose aws:PrincipalAccount
// conditions the exemption could not merge with.
func conditionOf(st map[string]any, i int) (map[string]any, error) {
	cond, _ := st["Condition"].(map[string]any)
	if cond == nil {
		cond = map[string]any{}
		st["Condition"] = cond
	}
	for op, keys := range cond {
		km, _ := keys.(map[string]any)
		for k := range km {
			if strings.EqualFold(k, "aws:PrincipalAccount") && op != "StringNotEquals" {
				return nil, fmt.Errorf("the guardrail's root deny %d already conditions aws:PrincipalAccount with %s: rootwindow cannot add an exemption to it", i, op)
			}
			if strings.EqualFold(k, "aws:CurrentTime") {
				return nil, fmt.Errorf("the guardrail's root deny %d already conditions on aws:CurrentTime: a window cannot be bounded by time", i)
			}
		}
	}
	return cond, nil
}

func isRootDenyDoc(st map[string]any) bool {
	b, err := json.Marshal(st)
	if err != nil {
		return false
	}
	var s statement
	return json.Unmarshal(b, &s) == nil && isRootDeny(s)
}

func sortedUnique(in []string) []any {
	s := slices.Clone(in)
	sort.Strings(s)
	s = slices.Compact(s)
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// WriteDocument writes the guardrail's document (UpdatePolicy) and checks that Organizations holds
// exactly what was written, from UpdatePolicy's own answer, which shows the policy "showing the
// requested changes" (Organizations API reference, UpdatePolicy): no second read on a bucket of
// two a second. Only an answer without the content (which AWS documents it gives) is read back.
// UpdatePolicy has no compare-and-swap: callers serialize writes (a lock in the ledger) and check
// what they replace.
func (g *Guardrail) WriteDocument(ctx context.Context, doc string) error {
	if n := len(doc); n > g.opts.Quotas.Size {
		return fmt.Errorf("the guardrail's document would be %d characters, over the SCP size quota of %d", n, g.opts.Quotas.Size)
	}
	var out *organizations.UpdatePolicyOutput
	err := g.call(ctx, "UpdatePolicy", g.policyID, func() (err error) {
		out, err = g.api.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(g.policyID), Content: aws.String(doc)})
		return err
	})
	if err != nil {
		return fmt.Errorf("update policy %s: %w", g.policyID, err)
	}
	var held string
	if out.Policy != nil && out.Policy.Content != nil {
		held = *out.Policy.Content
	} else {
		c, err := g.Content(ctx)
		if err != nil {
			return err
		}
		held = c.Text
	}
	if !sameDocument(held, doc) {
		return fmt.Errorf("the guardrail %s does not hold what was just written to it: someone else is changing it", g.policyID)
	}
	g.opts.Logger.Info("guardrail document written", "policy", g.policyID, "characters", len(doc))
	return nil
}

// WithoutAccounts takes one window's exemption out of a live document that someone else changed
// since rootwindow last wrote it, and leaves everything else as it is: the accounts leave every
// root deny's exemption list and every statement rootwindow added (one left with no account goes),
// and any other statement (an operator's emergency Deny, say) stays. So a restore takes back its
// own and nothing else (rendering from the base would silently drop what the operator added).
func WithoutAccounts(live string, accounts []string) (string, error) {
	m, stmts, err := parseDoc(live)
	if err != nil {
		return "", err
	}
	drop := func(list any) []any {
		var out []any
		for _, a := range values(list) {
			if !slices.Contains(accounts, a) {
				out = append(out, a)
			}
		}
		return out
	}
	kept := make([]any, 0, len(stmts))
	for _, s := range stmts {
		st, ok := s.(map[string]any)
		if !ok {
			kept = append(kept, s)
			continue
		}
		cond, _ := st["Condition"].(map[string]any)
		sid, _ := st["Sid"].(string)
		switch {
		case strings.HasPrefix(sid, ExemptSidPrefix):
			eq, _ := cond["StringEquals"].(map[string]any)
			if eq == nil {
				kept = append(kept, st)
				continue
			}
			rest := drop(eq["aws:PrincipalAccount"])
			if len(rest) == 0 {
				continue // its accounts were all this window's
			}
			eq["aws:PrincipalAccount"] = rest
		case isRootDenyDoc(st) && cond != nil:
			if ne, _ := cond["StringNotEquals"].(map[string]any); ne != nil {
				if rest := drop(ne["aws:PrincipalAccount"]); len(rest) > 0 {
					ne["aws:PrincipalAccount"] = rest
				} else {
					delete(ne, "aws:PrincipalAccount")
					if len(ne) == 0 {
						delete(cond, "StringNotEquals")
					}
				}
			}
		}
		kept = append(kept, st)
	}
	m["Statement"] = kept
	b, err := json.Marshal(m)
	return string(b), err
}
