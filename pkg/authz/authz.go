// Package authz decides who may ask for a root access window, as the old support process did: the
// requester must be an administrator (a configured principal pattern) and an owner of every
// account in the request (by default, listed in the account's "owner" tag).
package authz

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// DefaultOwnerTagKey is the account tag whose value lists the account's owners.
const DefaultOwnerTagKey = "owner"

// Policy holds the administrator patterns and the ownership model.
type Policy struct {
	// AdminPatterns are glob patterns ('*' any run of characters, '?' one character) matched
	// case-insensitively against the requester: IAM/STS ARNs or names such as email addresses.
	AdminPatterns []string
	// ApproverPatterns are who may approve or deny a request awaiting a second administrator;
	// none: the administrators.
	ApproverPatterns []string
	// OwnerTagKey is the account tag listing owners, separated by spaces.
	OwnerTagKey string
	// AnyRoleSessionName lets the session name of any assumed role stand for its owner. By default
	// only IAM Identity Center's roles (AWSReservedSSO_*) count: Identity Center sets the session
	// name to the signed-in user, while a caller of sts:AssumeRole chooses its own session name.
	AnyRoleSessionName bool
}

// IdentityCenterRolePrefix starts the name of every role IAM Identity Center creates for a
// permission set.
const IdentityCenterRolePrefix = "AWSReservedSSO_"

// ValidatePatterns reports a malformed administrator pattern, or one that would make
// authorization meaningless (PatternProblem), naming it as adminPrincipals[i].
func ValidatePatterns(patterns []string) error {
	for i, p := range patterns {
		if problem := PatternProblem(p); problem != "" {
			if strings.TrimSpace(p) == "" {
				return fmt.Errorf("adminPrincipals[%d] %s", i, problem)
			}
			return fmt.Errorf("adminPrincipals[%d] %q %s", i, p, problem)
		}
	}
	return nil
}

// PatternProblem says what is wrong with a principal pattern (an administrator's or an
// approver's), or "": blank, white space, wildcards alone, an ARN pattern whose account is not one
// named account (a wildcard account admits principals of any AWS account, anyone's), or a pattern
// whose wildcard comes before any account.
func PatternProblem(p string) string {
	switch {
	case strings.TrimSpace(p) == "":
		return "is blank"
	case strings.ContainsAny(p, " \t\n"):
		return "contains white space"
	case strings.Trim(p, "*?") == "":
		return "matches everyone: name the principals (e.g. an IAM Identity Center permission set's role in the management account)"
	case strings.HasPrefix(strings.ToLower(p), "arn:"):
		parts := strings.SplitN(p, ":", 6)
		if len(parts) < 6 || !isAccountID(parts[4]) {
			return "must name one 12-digit account in its ARN, not a wildcard: a wildcard account matches principals of any AWS account"
		}
	case couldMatchARN(p):
		// "*@example.com", "*:*", "*/*", "a*": a wildcard before the account lets the pattern
		// match the ARN of a principal of any AWS account whose name the caller chose.
		return "could match the ARN of a principal of any AWS account (a wildcard comes before any account): write an ARN pattern as arn:<partition>:<service>::<12-digit account>:..., and a name without a leading wildcard"
	}
	return ""
}

// couldMatchARN reports whether pattern could match some string that begins "arn:": its literal
// start agrees with "arn:" up to its first '*' (a '?' agrees with any character).
func couldMatchARN(pattern string) bool {
	const prefix = "arn:"
	p := strings.ToLower(pattern)
	for i := 0; i < len(prefix); i++ {
		switch {
		case i == len(p):
			return false
		case p[i] == '*':
			return true
		case p[i] != '?' && p[i] != prefix[i]:
			return false
		}
	}
	return true
}

// Accounts are the accounts the administrator patterns name, in order, each once; none when a
// pattern is a name rather than an ARN (it could stand for a principal of any account of the
// organization that an integration asserts).
func Accounts(patterns []string) []string {
	var accounts []string
	for _, p := range patterns {
		parts := strings.SplitN(p, ":", 6)
		if !strings.HasPrefix(strings.ToLower(p), "arn:") || len(parts) < 6 || !isAccountID(parts[4]) {
			return nil
		}
		if !slices.Contains(accounts, parts[4]) {
			accounts = append(accounts, parts[4])
		}
	}
	return accounts
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// IsAdmin reports whether requester matches one of the administrator patterns.
func (p Policy) IsAdmin(requester string) bool { return matches(p.AdminPatterns, requester) }

// IsApprover reports whether who may approve or deny: the approver patterns, or the
// administrators' when none are configured.
func (p Policy) IsApprover(who string) bool {
	if len(p.ApproverPatterns) == 0 {
		return p.IsAdmin(who)
	}
	return matches(p.ApproverPatterns, who)
}

func matches(patterns []string, requester string) bool {
	who := strings.ToLower(requester)
	for _, pattern := range patterns {
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

// GroupPrefix marks an owner that is an IAM Identity Center group, by its group ID
// ("group:a1b2c3d4-5678-90ab-cdef-EXAMPLE22222"): its members own the account. An ID, not a
// display name: a group deleted and made again under the same name is not the group the account's
// owners meant.
const GroupPrefix = "group:"

// owners splits an owner tag value: owners are separated by spaces (Organizations' tag values hold
// no comma); commas are read as separators too.
func owners(tagValue string) []string {
	return strings.FieldsFunc(tagValue, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// groupIDPattern is an identity store group ID (Identity Store API Reference, IsMemberInGroups:
// GroupIds).
var groupIDPattern = regexp.MustCompile(`^([0-9a-f]{10}-)?[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)

// OwnerGroups are the Identity Center groups an owner tag value names (GroupPrefix), by ID, each
// once; a group token that is not a group ID names no group (the identity store would refuse
// it, and one bad tag must not stop every request for the account).
func OwnerGroups(tagValue string) []string {
	var groups []string
	for _, o := range owners(tagValue) {
		if len(o) <= len(GroupPrefix) || !strings.EqualFold(o[:len(GroupPrefix)], GroupPrefix) {
			continue
		}
		if id := o[len(GroupPrefix):]; groupIDPattern.MatchString(id) && !slices.Contains(groups, id) {
			groups = append(groups, id)
		}
	}
	return groups
}

// IdentityCenterUser is the user name of the IAM Identity Center user whose session requester is
// (an AWSReservedSSO_* role's session name, which Identity Center sets to the signed-in user's
// user name), or "" for any other principal: only such a user can be a member of a group.
func IdentityCenterUser(requester string) string {
	parts := strings.SplitN(requester, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[5], "assumed-role/"+IdentityCenterRolePrefix) {
		return ""
	}
	session := strings.SplitN(parts[5], "/", 3)
	if len(session) != 3 || session[2] == "" {
		return ""
	}
	return session[2]
}

// Owns reports whether requester is listed in an owner tag value. An IAM user ARN is compared by
// its user name too, and an IAM Identity Center role's session ARN by its session name (Identity
// Center puts the signed-in user's name there); any other role's session name only with
// AnyRoleSessionName.
func (p Policy) Owns(requester, tagValue string) bool {
	names := p.Names(requester)
	for _, owner := range owners(tagValue) {
		if strings.HasPrefix(strings.ToLower(owner), GroupPrefix) {
			continue // a group's members, not a name: see OwnerGroups
		}
		for _, n := range names {
			if strings.EqualFold(owner, n) {
				return true
			}
		}
	}
	return false
}

// Names lists the identities a requester can be known by: the whole value and, for an IAM user
// ARN or a session of a role whose session name stands for a person (see Owns), its last path
// element. A session of any other role is known by its role too
// (arn:<partition>:iam::<account>:role/<name>, without the role's path): whoever may assume the
// role may take any session name, so every session of it is one principal, the role.
func (p Policy) Names(requester string) []string {
	names := []string{requester}
	parts := strings.SplitN(requester, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return names
	}
	resource := parts[5]
	i := strings.LastIndex(resource, "/")
	if i < 0 || i == len(resource)-1 {
		return names
	}
	switch {
	case strings.HasPrefix(resource, "user/"):
		names = append(names, resource[i+1:])
	case strings.HasPrefix(resource, "assumed-role/"):
		role := strings.SplitN(strings.TrimPrefix(resource, "assumed-role/"), "/", 2)[0]
		if p.AnyRoleSessionName || strings.HasPrefix(role, IdentityCenterRolePrefix) {
			names = append(names, resource[i+1:])
		} else {
			names = append(names, "arn:"+parts[1]+":iam::"+parts[4]+":role/"+role)
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

// SamePerson reports whether two principals share a name (an ARN, a user name, an Identity Center
// session name, the role of a session whose name the caller chose; see Names), ignoring case: one
// person signed in twice is still one person. It decides who may see what only the requester
// sees.
func (p Policy) SamePerson(a, b string) bool { return shareAny(p.Names(a), p.Names(b)) }

// MayBeSamePerson reports whether two principals could be one person, for the four-eyes rule,
// where a wrong "no" lets one person approve their own window and a wrong "yes" only asks for
// another approver: SamePerson, or a user name that is the local part of the other's email name
// (the IAM user alice and the Identity Center user alice@example.com; alice@example.com and
// alice@example.org). AWS gives rootwindow no identifier that one human keeps across an IAM
// user, an Identity Center user and a role session, so it errs towards refusing.
func (p Policy) MayBeSamePerson(a, b string) bool {
	return shareAny(aliases(p.Names(a)), aliases(p.Names(b)))
}

// aliases adds to names the local part of each one that is an email address.
func aliases(names []string) []string {
	out := slices.Clone(names)
	for _, n := range names {
		if at := strings.LastIndex(n, "@"); at > 0 && !strings.Contains(n[:at], "/") {
			out = append(out, n[:at])
		}
	}
	return out
}

func shareAny(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}
