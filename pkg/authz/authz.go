// Package authz decides who may ask for a root access window, as the old support process did: the
// requester must be an administrator (a configured principal pattern) and an owner of every
// account in the request (by default, listed in the account's "owner" tag).
package authz

import (
	"fmt"
	"path"
	"strings"
)

// DefaultOwnerTagKey is the account tag whose value lists the account's owners.
const DefaultOwnerTagKey = "owner"

// Policy holds the administrator patterns and the ownership model.
type Policy struct {
	// AdminPatterns are glob patterns ('*' any run of characters, '?' one character) matched
	// case-insensitively against the requester: IAM/STS ARNs or names such as email addresses.
	AdminPatterns []string
	// OwnerTagKey is the account tag listing owners, comma-separated.
	OwnerTagKey string
}

// ValidatePatterns reports a malformed administrator pattern.
func ValidatePatterns(patterns []string) error {
	for i, p := range patterns {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("adminPrincipals[%d] is blank", i)
		}
		if strings.ContainsAny(p, " \t\n") {
			return fmt.Errorf("adminPrincipals[%d] %q contains white space", i, p)
		}
	}
	return nil
}

// IsAdmin reports whether requester matches one of the administrator patterns.
func (p Policy) IsAdmin(requester string) bool {
	who := strings.ToLower(requester)
	for _, pattern := range p.AdminPatterns {
		if ok, _ := path.Match(globToPath(strings.ToLower(pattern)), escapeSlashes(who)); ok {
			return true
		}
	}
	return false
}

// OwnerTag is the tag key that lists owners.
func (p Policy) OwnerTag() string {
	if p.OwnerTagKey == "" {
		return DefaultOwnerTagKey
	}
	return p.OwnerTagKey
}

// Owns reports whether requester is listed in an owner tag value. An assumed-role ARN is
// compared by its session name too (IAM Identity Center puts the user's name there), and an IAM
// user ARN by its user name.
func Owns(requester, tagValue string) bool {
	names := Names(requester)
	for _, owner := range strings.Split(tagValue, ",") {
		owner = strings.TrimSpace(owner)
		if owner == "" {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(owner, n) {
				return true
			}
		}
	}
	return false
}

// Names lists the identities a requester can be known by: the whole value and, for an
// assumed-role or IAM user ARN, its last path element.
func Names(requester string) []string {
	names := []string{requester}
	parts := strings.SplitN(requester, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		resource := parts[5]
		if strings.HasPrefix(resource, "assumed-role/") || strings.HasPrefix(resource, "user/") {
			if i := strings.LastIndex(resource, "/"); i >= 0 && i < len(resource)-1 {
				names = append(names, resource[i+1:])
			}
		}
	}
	return names
}

// path.Match treats '/' as a separator that '*' cannot cross, but principal ARNs contain slashes
// that a pattern's '*' must match; so slashes are swapped for a character that cannot appear in
// an ARN or email on both sides.
const slash = "\x00"

func escapeSlashes(s string) string { return strings.ReplaceAll(s, "/", slash) }

func globToPath(pattern string) string {
	// Only '*' and '?' are wildcards; escape what path.Match would otherwise interpret, so that
	// no pattern is malformed.
	r := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "/", slash)
	return r.Replace(pattern)
}
