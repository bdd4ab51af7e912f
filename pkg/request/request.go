// Package request holds the root access window request contract: strict decoding, normalisation
// and validation that reports every problem at once, by field, in words a requester understands.
// Every entry point (Step Functions, EventBridge, API Gateway) goes through Parse.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Contract limits that are not configuration.
const (
	MinHours        = 1
	MaxHours        = 4
	MaxReasonRunes  = 500
	MaxRequesterLen = 512
	// MaxBodyBytes bounds a request document; 50 account IDs and a full reason fit many times over.
	MaxBodyBytes = 16 * 1024
)

// Defaults for the configurable bounds.
const (
	DefaultMaxAccounts    = 50
	DefaultBookingHorizon = 7 * 24 * time.Hour
	DefaultClockSkewGrace = 5 * time.Minute
)

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Fields are what a requester asks for, in the one form every shape of a request carries them:
// the request document read by Parse, the execution input the API starts, the ledger's record
// and its DynamoDB item, the API's view and the notifications' detail each embed this struct,
// so that a field added here reaches them all (TestEveryShapeCarriesEveryField).
type Fields struct {
	Requester string `json:"requester" dynamodbav:"requester"`
	Reason    string `json:"reason" dynamodbav:"reason"`
	// Task names the root task the window is for ("" when not said); WhyNotAssumeRoot is the
	// requester's reason to lift the guardrail for a task centralized root access performs.
	Task             string    `json:"task,omitempty" dynamodbav:"task,omitempty"`
	WhyNotAssumeRoot string    `json:"whyNotAssumeRoot,omitempty" dynamodbav:"whyNotAssumeRoot,omitempty"`
	AccountIDs       []string  `json:"accountIds" dynamodbav:"accountIds,omitempty"`
	Hours            int       `json:"hours" dynamodbav:"hours"`
	StartAt          time.Time `json:"startAt" dynamodbav:"startAt"`
	// BreakGlass asks for an emergency window that needs no second administrator's approval: one
	// hour at most, from now, where the deployment allows it (breakGlass), announced as such to
	// every operator and followed by another administrator's review.
	BreakGlass bool `json:"breakGlass,omitempty" dynamodbav:"breakGlass,omitempty"`
}

// Request is a validated, normalised request: account IDs sorted and distinct, StartAt in UTC
// truncated to the second (never before the moment it was validated).
type Request struct {
	Fields

	// StartGiven says whether the document named startAt (else StartAt is the time it was read).
	StartGiven bool `json:"-"`

	// ReadAt is when it was read (Policy.Now): the request is as of then, however long its checks
	// take, and read again as of then (a start that was "now" is not "in the past" later).
	ReadAt time.Time `json:"-"`

	// submitted maps each account ID to its first index in the request as submitted, so that
	// later checks can name the field the requester wrote.
	submitted map[string]int
}

// Field names the request field that holds accountID as the requester submitted it,
// e.g. "accountIds[2]".
func (r Request) Field(accountID string) string {
	if i, ok := r.submitted[accountID]; ok {
		return fmt.Sprintf("accountIds[%d]", i)
	}
	for i, id := range r.AccountIDs {
		if id == accountID {
			return fmt.Sprintf("accountIds[%d]", i)
		}
	}
	return "accountIds"
}

// End is the planned end of the window if it opens at StartAt.
func (r Request) End() time.Time { return r.StartAt.Add(time.Duration(r.Hours) * time.Hour) }

// Policy holds the bounds and context that validation needs besides the document itself.
type Policy struct {
	Now            time.Time
	MaxAccounts    int           // 0 means DefaultMaxAccounts
	BookingHorizon time.Duration // 0 means DefaultBookingHorizon
	ClockSkewGrace time.Duration // 0 means DefaultClockSkewGrace
	// AuthenticatedCaller is the identity the channel authenticated (the SigV4 caller for the API),
	// or "" where the channel cannot authenticate the requester.
	AuthenticatedCaller string
	// BreakGlass says the deployment takes break-glass requests (configuration breakGlass).
	BreakGlass bool
}

func (p Policy) withDefaults() Policy {
	if p.MaxAccounts <= 0 {
		p.MaxAccounts = DefaultMaxAccounts
	}
	if p.BookingHorizon <= 0 {
		p.BookingHorizon = DefaultBookingHorizon
	}
	if p.ClockSkewGrace <= 0 {
		p.ClockSkewGrace = DefaultClockSkewGrace
	}
	return p
}

var knownFields = map[string]bool{
	"accountIds": true, "hours": true, "startAt": true, "reason": true, "requester": true,
	"task": true, "whyNotAssumeRoot": true, "breakGlass": true,
}

// Parse decodes, normalises and validates one request document. It returns *Problems listing
// every problem found, by field, or the normalised request.
func Parse(doc []byte, p Policy) (Request, error) {
	p = p.withDefaults()
	var probs Problems
	if len(doc) > MaxBodyBytes {
		probs.Add("request", "is %d bytes; at most %d are accepted", len(doc), MaxBodyBytes)
		return Request{}, &probs
	}
	fields, err := decodeObject(doc)
	if err != nil {
		probs.Add("request", "%s", err.Error())
		return Request{}, &probs
	}
	unknown := 0
	for _, f := range fields {
		switch {
		case !knownFields[f.name]:
			// Listed up to a few: a document of thousands of keys must not make an answer (or a
			// Step Functions cause, at most 32 KB) of thousands of problems.
			if unknown++; unknown <= maxUnknownListed {
				probs.Add(fieldName(f.name), "is not a field of the request (expected accountIds, hours, startAt, reason, requester, task, whyNotAssumeRoot, breakGlass)")
			}
		case f.dup:
			probs.Add(f.name, "appears more than once")
		}
	}
	if unknown > maxUnknownListed {
		probs.Add("request", "has %d more fields that are not fields of the request", unknown-maxUnknownListed)
	}
	raw := map[string]json.RawMessage{}
	for _, f := range fields {
		if _, seen := raw[f.name]; !seen {
			raw[f.name] = f.value
		}
	}

	r := Request{ReadAt: p.Now}
	r.AccountIDs, r.submitted = parseAccountIDs(raw["accountIds"], p.MaxAccounts, &probs)
	r.Hours = parseHours(raw["hours"], &probs)
	r.StartAt = parseStartAt(raw["startAt"], p, &probs)
	_, r.StartGiven = raw["startAt"]
	r.Reason = parseText(raw["reason"], "reason", MaxReasonRunes, true, &probs)
	r.Requester = parseRequester(raw["requester"], p.AuthenticatedCaller, &probs)
	r.Task, r.WhyNotAssumeRoot = parseTask(raw["task"], raw["whyNotAssumeRoot"], &probs)
	r.BreakGlass = parseBreakGlass(raw["breakGlass"], r, p, &probs)

	if len(probs) > 0 {
		probs = probs.capped(MaxProblems)
		return Request{}, &probs
	}
	return r, nil
}

// MaxBreakGlassHours is the longest break-glass window.
const MaxBreakGlassHours = 1

// parseBreakGlass reads the optional breakGlass and checks what an emergency window may be: the
// deployment takes them, one hour at most, starting now.
func parseBreakGlass(v json.RawMessage, r Request, p Policy, probs *Problems) bool {
	if v == nil {
		return false
	}
	if kind := jsonKind(v); kind != "a boolean" {
		probs.Add("breakGlass", "must be true or false, got %s", kind)
		return false
	}
	if string(bytes.TrimSpace(v)) != "true" {
		return false
	}
	if !p.BreakGlass {
		probs.AddKind(Forbidden, "breakGlass", "this deployment takes no break-glass request (its configuration's breakGlass is off): ask for a window as usual")
		return false
	}
	if r.Hours > MaxBreakGlassHours {
		probs.Add("hours", "a break-glass window is %d hour at most, got %d", MaxBreakGlassHours, r.Hours)
	}
	if r.StartAt.After(p.Now.Add(p.ClockSkewGrace)) {
		probs.Add("startAt", "a break-glass window starts now: leave startAt out")
	}
	return true
}

// MaxProblems is how many problems a rejection lists one by one; the rest are counted. Enough
// for every field and a full request's accounts, few enough that no document makes an answer (or
// a Step Functions cause, at most 32 KB) large.
const MaxProblems = 60

// capped keeps the first max problems and counts the rest in one more.
func (p Problems) capped(max int) Problems {
	if len(p) <= max {
		return p
	}
	out := append(Problems(nil), p[:max]...)
	out.Add("request", "has %d more problems, not listed", len(p)-max)
	return out
}

// Asked is what a request document asked for, read leniently for the record of its rejection:
// the account IDs that are account IDs (at most DefaultMaxAccounts), hours if a whole number from
// 1 to 4, and reason and requester cut to their limits with every character a reader must not be
// shown (see deceptive) replaced by U+FFFD. Nothing of it is acted on.
func Asked(doc []byte) Request {
	var r Request
	fields, err := decodeObject(doc)
	if err != nil {
		return r
	}
	raw := map[string]json.RawMessage{}
	for _, f := range fields {
		if _, seen := raw[f.name]; !seen && knownFields[f.name] {
			raw[f.name] = f.value
		}
	}
	var ids []string
	if json.Unmarshal(raw["accountIds"], &ids) == nil {
		seen := map[string]bool{}
		for _, id := range ids {
			if accountIDPattern.MatchString(id) && !seen[id] && len(r.AccountIDs) < DefaultMaxAccounts {
				seen[id] = true
				r.AccountIDs = append(r.AccountIDs, id)
			}
		}
		sort.Strings(r.AccountIDs)
	}
	var h int
	if json.Unmarshal(raw["hours"], &h) == nil && h >= MinHours && h <= MaxHours {
		r.Hours = h
	}
	r.Reason = shown(raw["reason"], MaxReasonRunes)
	r.Requester = shown(raw["requester"], MaxRequesterLen)
	if t, ok := TaskNamed(shown(raw["task"], 64)); ok {
		r.Task = t.Name
	}
	r.WhyNotAssumeRoot = shown(raw["whyNotAssumeRoot"], MaxReasonRunes)
	return r
}

// shown is a JSON string as it may be shown: cut to max characters, anything deceptive replaced.
func shown(v json.RawMessage, max int) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if deceptive(r) {
			return utf8.RuneError
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > max {
		s = string(r[:max])
	}
	return s
}

// maxUnknownListed is how many unknown fields a rejection names one by one.
const maxUnknownListed = 5

// StrictObject decodes doc as one JSON object whose keys must be among allowed, exactly (letter
// case included), each at most once: encoding/json matches keys without regard to case and keeps
// the last of repeated keys, so a document could say one thing to a reader and another to the
// code. It returns the values by key, or every problem, each naming the key.
func StrictObject(doc []byte, allowed ...string) (map[string]json.RawMessage, []string) {
	fields, err := decodeObject(doc)
	if err != nil {
		return nil, []string{err.Error()}
	}
	var probs []string
	out := map[string]json.RawMessage{}
	unknown := 0
	for _, f := range fields {
		switch {
		case !slices.Contains(allowed, f.name):
			if unknown++; unknown <= maxUnknownListed {
				probs = append(probs, fmt.Sprintf("%s is not a key here (expected %s, exactly)", fieldName(f.name), strings.Join(allowed, ", ")))
			}
		case f.dup:
			probs = append(probs, fmt.Sprintf("%s appears more than once", f.name))
		default:
			out[f.name] = f.value
		}
	}
	if unknown > maxUnknownListed {
		probs = append(probs, fmt.Sprintf("and %d more keys that are not keys here", unknown-maxUnknownListed))
	}
	return out, probs
}

// ObjectMembers reads a JSON object's members as StrictObject does, whatever their keys: each
// key's raw value (its first), and the keys that appear more than once, in order. The error says
// what is wrong with the document as a whole ("is not valid JSON", "must be a JSON object").
func ObjectMembers(doc []byte) (map[string]json.RawMessage, []string, error) {
	fields, err := decodeObject(doc)
	if err != nil {
		return nil, nil, err
	}
	members := map[string]json.RawMessage{}
	var repeated []string
	for _, f := range fields {
		switch {
		case !f.dup:
			members[f.name] = f.value
		case !slices.Contains(repeated, f.name):
			repeated = append(repeated, f.name)
		}
	}
	return members, repeated, nil
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// fieldName shows an unknown key as the requester can recognise it: plain names as they are,
// anything else (empty, long, spaces, control characters) quoted and cut short.
func fieldName(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	if r := []rune(name); len(r) > 64 {
		name = string(r[:64]) + "…"
	}
	return strconv.Quote(name)
}

type field struct {
	name  string
	value json.RawMessage
	dup   bool
}

// decodeObject reads one JSON object keeping its keys in order and flagging repeated keys, which
// encoding/json would otherwise resolve silently in favour of the last one.
func decodeObject(doc []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("must be a JSON object")
	}
	var fields []field
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("is not valid JSON")
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("is not valid JSON")
		}
		fields = append(fields, field{name: name, value: v, dup: seen[name]})
		seen[name] = true
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("must hold exactly one JSON object")
	}
	return fields, nil
}

func jsonKind(v json.RawMessage) string {
	switch t := bytes.TrimSpace(v); {
	case len(t) == 0:
		return "nothing"
	case t[0] == '"':
		return "a string"
	case t[0] == '{':
		return "an object"
	case t[0] == '[':
		return "a list"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	case t[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

func parseAccountIDs(v json.RawMessage, maxAccounts int, probs *Problems) ([]string, map[string]int) {
	const want = "a list of 12-digit account ID strings"
	if v == nil {
		probs.Add("accountIds", "is required: %s", want)
		return nil, nil
	}
	var items []json.RawMessage
	if jsonKind(v) != "a list" || json.Unmarshal(v, &items) != nil {
		probs.Add("accountIds", "must be %s, got %s", want, jsonKind(v))
		return nil, nil
	}
	if len(items) == 0 {
		probs.Add("accountIds", "must list at least one account")
		return nil, nil
	}
	submitted := map[string]int{}
	for i, item := range items {
		name := fmt.Sprintf("accountIds[%d]", i)
		var id string
		if jsonKind(item) != "a string" || json.Unmarshal(item, &id) != nil {
			probs.Add(name, "must be a 12-digit account ID string, got %s", jsonKind(item))
			continue
		}
		if !accountIDPattern.MatchString(id) {
			probs.Add(name, "%s is not a 12-digit account ID", quote(id))
			continue
		}
		if _, dup := submitted[id]; !dup {
			submitted[id] = i
		}
	}
	if len(submitted) > maxAccounts {
		probs.Add("accountIds", "lists %d accounts; at most %d are allowed in one request", len(submitted), maxAccounts)
	}
	ids := make([]string, 0, len(submitted))
	for id := range submitted {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, submitted
}

func parseHours(v json.RawMessage, probs *Problems) int {
	const want = "a whole number of hours from 1 to 4"
	if v == nil {
		probs.Add("hours", "is required: %s", want)
		return 0
	}
	if jsonKind(v) != "a number" {
		probs.Add("hours", "must be %s, got %s", want, jsonKind(v))
		return 0
	}
	text := string(bytes.TrimSpace(v))
	var n int
	if strings.ContainsAny(text, ".eE") || json.Unmarshal(v, &n) != nil {
		if len(text) > 24 { // a number of 15,000 digits is not echoed whole
			text = text[:24] + fmt.Sprintf("… (%d characters)", len(text))
		}
		probs.Add("hours", "must be %s, got %s", want, text)
		return 0
	}
	if n < MinHours || n > MaxHours {
		probs.Add("hours", "must be from %d to %d, got %d", MinHours, MaxHours, n)
		return 0
	}
	return n
}

func parseStartAt(v json.RawMessage, p Policy, probs *Problems) time.Time {
	now := p.Now.UTC().Truncate(time.Second)
	if v == nil {
		return now
	}
	const want = "an RFC 3339 timestamp with an explicit offset, like 2026-11-23T10:00:00Z"
	var s string
	if jsonKind(v) != "a string" || json.Unmarshal(v, &s) != nil {
		probs.Add("startAt", "must be %s (leave it out to start now), got %s", want, jsonKind(v))
		return time.Time{}
	}
	t, msg := ParseTimestamp(s)
	switch msg {
	case "":
	case notTimestamp:
		probs.Add("startAt", "%s is not %s", quote(s), want)
		return time.Time{}
	default:
		probs.Add("startAt", "%s %s; want %s", quote(s), msg, want)
		return time.Time{}
	}
	t = t.UTC().Truncate(time.Second)
	switch {
	case t.Before(now.Add(-p.ClockSkewGrace)):
		ago := now.Sub(t).Round(time.Second).String()
		if t.Before(now.AddDate(-1, 0, 0)) {
			ago = "more than a year" // a duration this long would not read (or fit) as one
		}
		probs.Add("startAt", "%s is %s in the past; leave startAt out to start now", t.Format(time.RFC3339), ago)
		return time.Time{}
	case t.After(now.Add(p.BookingHorizon)):
		probs.Add("startAt", "%s is more than %s ahead; windows can be booked at most that far in advance",
			t.Format(time.RFC3339), humanDuration(p.BookingHorizon))
		return time.Time{}
	case t.Before(now):
		return now // within the clock-skew grace: counts as now
	}
	return t
}

// rfc3339 is RFC 3339's date-time, letter case included (section 5.6 allows "t" and "z").
var rfc3339 = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|([+-])([0-9]{2}):([0-9]{2}))$`)

// ParseTimestamp reads an RFC 3339 date-time exactly as the RFC writes it: "T" and "Z" in either
// case, an offset from -23:59 to +23:59, any fraction of a second. It returns the time, or why
// the text is not one ("" when it is). Leap seconds (:60) are refused: AWS's clock has none.
func ParseTimestamp(s string) (time.Time, string) {
	m := rfc3339.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, notTimestamp
	}
	if m[9] != "" {
		if h, _ := strconv.Atoi(m[10]); h > 23 {
			return time.Time{}, fmt.Sprintf("has the offset %s%s:%s, out of range (hours 00 to 23)", m[9], m[10], m[11])
		}
		if mm, _ := strconv.Atoi(m[11]); mm > 59 {
			return time.Time{}, fmt.Sprintf("has the offset %s%s:%s, out of range (minutes 00 to 59)", m[9], m[10], m[11])
		}
	}
	if m[6] == "60" {
		return time.Time{}, "is a leap second (:60), which is not accepted"
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return time.Time{}, "is not a date that exists (" + strings.TrimPrefix(pe.Message, ": ") + ")"
		}
		return time.Time{}, notTimestamp
	}
	return t, ""
}

const notTimestamp = "is not an RFC 3339 timestamp"

func parseRequester(v json.RawMessage, caller string, probs *Problems) string {
	claimed := ""
	if v != nil {
		claimed = parseText(v, "requester", MaxRequesterLen, true, probs)
		if claimed == "" {
			return ""
		}
	}
	switch {
	case caller != "" && claimed != "" && !strings.EqualFold(claimed, caller):
		// The caller is established by AWS (SigV4, CloudTrail), not typed: shown whole, so that a
		// claim cut short cannot look the same as it.
		probs.Add("requester", "%s does not match the authenticated caller %q; leave requester out or send your own identity",
			quote(claimed), caller)
		return ""
	case caller != "":
		return caller
	case claimed == "":
		probs.Add("requester", "is required: who is asking (an email address or IAM principal ARN)")
	}
	return claimed
}

// parseText decodes a required, bounded, single-line string field.
func parseText(v json.RawMessage, name string, maxRunes int, required bool, probs *Problems) string {
	if v == nil {
		if required {
			probs.Add(name, "is required")
		}
		return ""
	}
	var s string
	if jsonKind(v) != "a string" || json.Unmarshal(v, &s) != nil {
		probs.Add(name, "must be a string, got %s", jsonKind(v))
		return ""
	}
	// encoding/json turns invalid UTF-8 and lone surrogates (\ud800) into U+FFFD: look at the
	// document's own bytes, and refuse the replacement character it would otherwise hide behind.
	if !utf8.Valid(v) || strings.ContainsRune(s, utf8.RuneError) {
		probs.Add(name, "must be valid UTF-8 text (it holds invalid bytes, a lone surrogate or U+FFFD)")
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		probs.Add(name, "must not be blank")
		return ""
	case utf8.RuneCountInString(s) > maxRunes:
		probs.Add(name, "is %d characters long; at most %d are allowed", utf8.RuneCountInString(s), maxRunes)
		return ""
	}
	if i := strings.IndexFunc(s, deceptive); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		probs.Add(name, "must be one line of visible text: it holds %U (%s) at character %d", r, runeKind(r), utf8.RuneCountInString(s[:i])+1)
		return ""
	}
	return s
}

// deceptive reports a character that text shown to people must not hold: anything but letters,
// marks, digits, punctuation, symbols and the ASCII space. That refuses control characters, line
// and paragraph separators, bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F),
// zero-width and other invisible format characters (U+200B, U+200D, U+2060, U+FEFF, …), spaces
// other than U+0020, private-use and unassigned code points.
func deceptive(r rune) bool {
	return !(r == ' ' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r))
}

func runeKind(r rune) string {
	switch {
	case unicode.In(r, unicode.Bidi_Control):
		return "a bidirectional control, which can reorder what a reader sees"
	case r == '\u2028' || r == '\u2029' || unicode.IsControl(r):
		return "a line break or control character"
	case unicode.Is(unicode.Cf, r):
		return "an invisible format character"
	case unicode.IsSpace(r):
		return "a space other than U+0020"
	}
	return "a character that is not visible text"
}

// ParseDecision reads the optional body of an approval or denial: empty, or one JSON object
// {"reason": "..."} decoded as strictly as a request, its reason one line of visible text of at
// most maxRunes characters. A bad body is a *Problems naming the field.
func ParseDecision(doc []byte, maxRunes int) (string, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return "", nil
	}
	return parseOneText(doc, "reason", false, maxRunes)
}

// ParseReview reads the body of a break-glass request's review: one JSON object {"note": "..."},
// decoded as strictly as a request, its note required, one line of visible text of at most
// maxRunes characters. A bad body is a *Problems naming the field.
func ParseReview(doc []byte, maxRunes int) (string, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		var probs Problems
		probs.Add("note", "is required: say what was done with the window and that it was right (one line)")
		return "", &probs
	}
	return parseOneText(doc, "note", true, maxRunes)
}

// parseOneText reads a body that is one JSON object with one text field, key.
func parseOneText(doc []byte, key string, required bool, maxRunes int) (string, error) {
	var probs Problems
	if len(doc) > MaxBodyBytes {
		probs.Add("body", "is %d bytes; at most %d are accepted", len(doc), MaxBodyBytes)
		return "", &probs
	}
	raw, bad := StrictObject(doc, key)
	for _, b := range bad {
		probs.Add("body", "%s", b)
	}
	if len(probs) > 0 {
		return "", &probs
	}
	text := parseText(raw[key], key, maxRunes, required, &probs)
	if len(probs) > 0 {
		return "", &probs
	}
	return text, nil
}

// Quote shows a submitted value in a message, quoted and cut short so that no input makes a long
// answer.
func Quote(s string) string { return quote(s) }

// Name shows a submitted key or parameter name in a message (plain names as they are, anything
// else quoted and cut short).
func Name(s string) string { return fieldName(s) }

// quote shows a submitted value in a message, shortened so that a message stays readable.
func quote(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		days := int(d / (24 * time.Hour))
		if days == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", days)
	}
	return d.String()
}
