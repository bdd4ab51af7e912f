package request

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 9, 30, 15, 0, time.UTC)

func policy() Policy { return Policy{Now: now} }

// doc builds a request document from a valid base with some fields replaced ("-" removes one).
func doc(overrides map[string]string) []byte {
	fields := []struct{ k, v string }{
		{"accountIds", `["123456789012","123456789013"]`},
		{"hours", `2`},
		{"startAt", `"2026-11-23T10:00:00Z"`},
		{"reason", `"Enable MFA delete on the audit bucket (SEC-1234)"`},
		{"requester", `"alice@example.com"`},
	}
	var parts []string
	done := map[string]bool{}
	for _, f := range fields {
		v, ok := overrides[f.k]
		done[f.k] = true
		switch {
		case ok && v == "-":
			continue
		case ok:
			parts = append(parts, fmt.Sprintf("%q:%s", f.k, v))
		default:
			parts = append(parts, fmt.Sprintf("%q:%s", f.k, f.v))
		}
	}
	for k, v := range overrides {
		if !done[k] {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func accounts(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"%012d"`, 100000000000+i)
	}
	return "[" + strings.Join(ids, ",") + "]"
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name   string
		doc    []byte
		policy func(*Policy)
		want   []string // every "field: message", in order
	}{
		{"not JSON", []byte(`{"hours":`), nil, []string{`request: is not valid JSON`}},
		{"empty body", []byte(``), nil, []string{`request: is not valid JSON`}},
		{"a list, not an object", []byte(`[1,2]`), nil, []string{`request: must be a JSON object`}},
		{"a string, not an object", []byte(`"hello"`), nil, []string{`request: must be a JSON object`}},
		{"two objects", []byte(`{"hours":1} {"hours":2}`), nil, []string{`request: must hold exactly one JSON object`}},
		{"too large", []byte(`{"reason":"` + strings.Repeat("x", MaxBodyBytes) + `"}`), nil,
			[]string{fmt.Sprintf(`request: is %d bytes; at most %d are accepted`, MaxBodyBytes+13, MaxBodyBytes)}},
		{"unknown field (typo)", doc(map[string]string{"hour": `2`}), nil,
			[]string{`hour: is not a field of the request (expected accountIds, hours, startAt, reason, requester, task, whyNotAssumeRoot, breakGlass)`}},
		{"repeated field", []byte(`{"accountIds":["123456789012"],"hours":1,"hours":4,"reason":"r","requester":"a"}`), nil,
			[]string{`hours: appears more than once`}},
		{"accountIds missing", doc(map[string]string{"accountIds": "-"}), nil,
			[]string{`accountIds: is required: a list of 12-digit account ID strings`}},
		{"accountIds a string", doc(map[string]string{"accountIds": `"123456789012"`}), nil,
			[]string{`accountIds: must be a list of 12-digit account ID strings, got a string`}},
		{"accountIds null", doc(map[string]string{"accountIds": `null`}), nil,
			[]string{`accountIds: must be a list of 12-digit account ID strings, got null`}},
		{"accountIds empty", doc(map[string]string{"accountIds": `[]`}), nil,
			[]string{`accountIds: must list at least one account`}},
		{"account too short", doc(map[string]string{"accountIds": `["123456789012","12345"]`}), nil,
			[]string{`accountIds[1]: "12345" is not a 12-digit account ID`}},
		{"account with letters", doc(map[string]string{"accountIds": `["12345678901a"]`}), nil,
			[]string{`accountIds[0]: "12345678901a" is not a 12-digit account ID`}},
		{"account with spaces", doc(map[string]string{"accountIds": `[" 123456789012"]`}), nil,
			[]string{`accountIds[0]: " 123456789012" is not a 12-digit account ID`}},
		{"account as number", doc(map[string]string{"accountIds": `[123456789012]`}), nil,
			[]string{`accountIds[0]: must be a 12-digit account ID string, got a number`}},
		{"account 13 digits", doc(map[string]string{"accountIds": `["1234567890123"]`}), nil,
			[]string{`accountIds[0]: "1234567890123" is not a 12-digit account ID`}},
		{"account with non-ASCII digits", doc(map[string]string{"accountIds": `["١٢٣٤٥٦٧٨٩٠١٢"]`}), nil,
			[]string{`accountIds[0]: "١٢٣٤٥٦٧٨٩٠١٢" is not a 12-digit account ID`}},
		{"51 accounts", doc(map[string]string{"accountIds": accounts(51)}), nil,
			[]string{`accountIds: lists 51 accounts; at most 50 are allowed in one request`}},
		{"above configured maximum", doc(map[string]string{"accountIds": accounts(3)}), func(p *Policy) { p.MaxAccounts = 2 },
			[]string{`accountIds: lists 3 accounts; at most 2 are allowed in one request`}},
		{"hours missing", doc(map[string]string{"hours": "-"}), nil,
			[]string{`hours: is required: a whole number of hours from 1 to 4`}},
		{"hours zero", doc(map[string]string{"hours": `0`}), nil, []string{`hours: must be from 1 to 4, got 0`}},
		{"hours five", doc(map[string]string{"hours": `5`}), nil, []string{`hours: must be from 1 to 4, got 5`}},
		{"hours negative", doc(map[string]string{"hours": `-1`}), nil, []string{`hours: must be from 1 to 4, got -1`}},
		{"hours fraction", doc(map[string]string{"hours": `1.5`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got 1.5`}},
		{"hours 2.0", doc(map[string]string{"hours": `2.0`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got 2.0`}},
		{"hours exponent", doc(map[string]string{"hours": `2e0`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got 2e0`}},
		{"hours huge", doc(map[string]string{"hours": `99999999999999999999`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got 99999999999999999999`}},
		{"hours string", doc(map[string]string{"hours": `"2"`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got a string`}},
		{"hours null", doc(map[string]string{"hours": `null`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got null`}},
		{"hours boolean", doc(map[string]string{"hours": `true`}), nil,
			[]string{`hours: must be a whole number of hours from 1 to 4, got a boolean`}},
		{"startAt without offset", doc(map[string]string{"startAt": `"2026-11-23T10:00:00"`}), nil,
			[]string{`startAt: "2026-11-23T10:00:00" is not an RFC 3339 timestamp with an explicit offset, like 2026-11-23T10:00:00Z`}},
		{"startAt date only", doc(map[string]string{"startAt": `"2026-11-23"`}), nil,
			[]string{`startAt: "2026-11-23" is not an RFC 3339 timestamp with an explicit offset, like 2026-11-23T10:00:00Z`}},
		{"startAt epoch number", doc(map[string]string{"startAt": `1795000000`}), nil,
			[]string{`startAt: must be an RFC 3339 timestamp with an explicit offset, like 2026-11-23T10:00:00Z (leave it out to start now), got a number`}},
		{"startAt null", doc(map[string]string{"startAt": `null`}), nil,
			[]string{`startAt: must be an RFC 3339 timestamp with an explicit offset, like 2026-11-23T10:00:00Z (leave it out to start now), got null`}},
		{"startAt well in the past", doc(map[string]string{"startAt": `"2026-11-23T07:30:15Z"`}), nil,
			[]string{`startAt: 2026-11-23T07:30:15Z is 2h0m0s in the past; leave startAt out to start now`}},
		{"startAt beyond horizon", doc(map[string]string{"startAt": `"2026-11-30T09:30:16Z"`}), nil,
			[]string{`startAt: 2026-11-30T09:30:16Z is more than 7 days ahead; windows can be booked at most that far in advance`}},
		{"startAt beyond configured horizon", doc(map[string]string{"startAt": `"2026-11-25T09:30:16Z"`}),
			func(p *Policy) { p.BookingHorizon = 24 * time.Hour },
			[]string{`startAt: 2026-11-25T09:30:16Z is more than 1 day ahead; windows can be booked at most that far in advance`}},
		{"reason missing", doc(map[string]string{"reason": "-"}), nil, []string{`reason: is required`}},
		{"reason blank", doc(map[string]string{"reason": `"   "`}), nil, []string{`reason: must not be blank`}},
		{"reason not a string", doc(map[string]string{"reason": `["a"]`}), nil, []string{`reason: must be a string, got a list`}},
		{"reason too long", doc(map[string]string{"reason": `"` + strings.Repeat("é", 501) + `"`}), nil,
			[]string{`reason: is 501 characters long; at most 500 are allowed`}},
		{"reason with newline", doc(map[string]string{"reason": `"line one\nline two"`}), nil,
			[]string{`reason: must be one line of visible text: it holds U+000A (a line break or control character) at character 9`}},
		{"requester missing", doc(map[string]string{"requester": "-"}), nil,
			[]string{`requester: is required: who is asking (an email address or IAM principal ARN)`}},
		{"requester blank", doc(map[string]string{"requester": `""`}), nil, []string{`requester: must not be blank`}},
		{"requester differs from authenticated caller", doc(nil),
			func(p *Policy) { p.AuthenticatedCaller = "arn:aws:sts::111111111111:assumed-role/Admin/bob" },
			[]string{`requester: "alice@example.com" does not match the authenticated caller "arn:aws:sts::111111111111:assumed-role/Admin/bob"; leave requester out or send your own identity`}},
		{"every problem at once", []byte(`{"accountIds":["1","123456789012",7],"hours":5,"startAt":"soon","reason":"","hour":1}`), nil,
			[]string{
				`hour: is not a field of the request (expected accountIds, hours, startAt, reason, requester, task, whyNotAssumeRoot, breakGlass)`,
				`accountIds[0]: "1" is not a 12-digit account ID`,
				`accountIds[2]: must be a 12-digit account ID string, got a number`,
				`hours: must be from 1 to 4, got 5`,
				`startAt: "soon" is not an RFC 3339 timestamp with an explicit offset, like 2026-11-23T10:00:00Z`,
				`reason: must not be blank`,
				`requester: is required: who is asking (an email address or IAM principal ARN)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			r, err := Parse(tt.doc, p)
			var probs *Problems
			if !errors.As(err, &probs) {
				t.Fatalf("Parse accepted the request: %+v (err %v)", r, err)
			}
			if got := probs.Strings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
			if !reflect.DeepEqual(r, Request{}) {
				t.Errorf("a rejected request returned a value: %+v", r)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name      string
		doc       []byte
		policy    func(*Policy)
		accounts  []string
		hours     int
		startAt   string
		requester string
	}{
		{"one hour, one account, start now", doc(map[string]string{"accountIds": `["123456789012"]`, "hours": `1`, "startAt": "-"}), nil,
			[]string{"123456789012"}, 1, "2026-11-23T09:30:15Z", "alice@example.com"},
		{"four hours", doc(map[string]string{"hours": `4`}), nil,
			[]string{"123456789012", "123456789013"}, 4, "2026-11-23T10:00:00Z", "alice@example.com"},
		{"accounts sorted and distinct", doc(map[string]string{"accountIds": `["222222222222","111111111111","222222222222"]`}), nil,
			[]string{"111111111111", "222222222222"}, 2, "2026-11-23T10:00:00Z", "alice@example.com"},
		{"offset normalised to UTC", doc(map[string]string{"startAt": `"2026-11-23T11:00:00+01:00"`}), nil,
			[]string{"123456789012", "123456789013"}, 2, "2026-11-23T10:00:00Z", "alice@example.com"},
		{"negative offset and fraction", doc(map[string]string{"startAt": `"2026-11-23T05:00:00.75-05:00"`}), nil,
			[]string{"123456789012", "123456789013"}, 2, "2026-11-23T10:00:00Z", "alice@example.com"},
		{"a few minutes in the past counts as now", doc(map[string]string{"startAt": `"2026-11-23T09:27:00Z"`}), nil,
			[]string{"123456789012", "123456789013"}, 2, "2026-11-23T09:30:15Z", "alice@example.com"},
		{"at the booking horizon", doc(map[string]string{"startAt": `"2026-11-30T09:30:15Z"`}), nil,
			[]string{"123456789012", "123456789013"}, 2, "2026-11-30T09:30:15Z", "alice@example.com"},
		{"authenticated caller fills requester", doc(map[string]string{"requester": "-"}),
			func(p *Policy) { p.AuthenticatedCaller = "arn:aws:sts::111111111111:assumed-role/Admin/alice" },
			[]string{"123456789012", "123456789013"}, 2, "2026-11-23T10:00:00Z", "arn:aws:sts::111111111111:assumed-role/Admin/alice"},
		{"claimed requester equal to caller (any case)", doc(map[string]string{"requester": `"ARN:aws:sts::111111111111:assumed-role/Admin/alice"`}),
			func(p *Policy) { p.AuthenticatedCaller = "arn:aws:sts::111111111111:assumed-role/Admin/alice" },
			[]string{"123456789012", "123456789013"}, 2, "2026-11-23T10:00:00Z", "arn:aws:sts::111111111111:assumed-role/Admin/alice"},
		{"reason trimmed, 500 characters", doc(map[string]string{"reason": `"  ` + strings.Repeat("é", 500) + `  "`}), nil,
			[]string{"123456789012", "123456789013"}, 2, "2026-11-23T10:00:00Z", "alice@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			r, err := Parse(tt.doc, p)
			if err != nil {
				t.Fatalf("Parse rejected a valid request: %v", err)
			}
			if !reflect.DeepEqual(r.AccountIDs, tt.accounts) || r.Hours != tt.hours ||
				r.StartAt.Format(time.RFC3339) != tt.startAt || r.Requester != tt.requester {
				t.Errorf("got %v %d %s %s, want %v %d %s %s", r.AccountIDs, r.Hours, r.StartAt.Format(time.RFC3339), r.Requester,
					tt.accounts, tt.hours, tt.startAt, tt.requester)
			}
			if r.StartAt.Location() != time.UTC || strings.TrimSpace(r.Reason) != r.Reason {
				t.Errorf("not normalised: startAt %v, reason %q", r.StartAt, r.Reason)
			}
		})
	}
}

func TestParseFiftyAccounts(t *testing.T) {
	r, err := Parse(doc(map[string]string{"accountIds": accounts(50)}), policy())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.AccountIDs) != 50 {
		t.Fatalf("got %d accounts", len(r.AccountIDs))
	}
}

func TestFieldNamesSubmittedIndex(t *testing.T) {
	r, err := Parse(doc(map[string]string{"accountIds": `["333333333333","111111111111"]`}), policy())
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Field("111111111111"); got != "accountIds[1]" {
		t.Errorf("Field = %q, want accountIds[1]", got)
	}
	if got := r.End().Format(time.RFC3339); got != "2026-11-23T12:00:00Z" {
		t.Errorf("End = %s", got)
	}
}

func TestProblemsError(t *testing.T) {
	_, err := Parse([]byte(`{"hours":9}`), policy())
	want := "the request has 4 problems:\n" +
		"accountIds: is required: a list of 12-digit account ID strings\n" +
		"hours: must be from 1 to 4, got 9\n" +
		"reason: is required\n" +
		"requester: is required: who is asking (an email address or IAM principal ARN)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// Text shown to people cannot hide or reorder what they read: every character outside the
// accepted set (letters, marks, digits, punctuation, symbols, the ASCII space) is refused, named.
func TestTextThatCannotDeceive(t *testing.T) {
	for _, tt := range []struct {
		name, reason, want string
	}{
		{"right-to-left override", "Reset\u202Efdp.exe", "U+202E (a bidirectional control"},
		{"first strong isolate", "Reset\u2068x\u2069", "U+2068 (a bidirectional control"},
		{"left-to-right mark", "Reset\u200E root", "U+200E (a bidirectional control"},
		{"zero-width space", "Re\u200Bset", "U+200B (an invisible format character)"},
		{"zero-width joiner", "Re\u200Dset", "U+200D (an invisible format character)"},
		{"byte order mark", "Re\uFEFFset", "U+FEFF (an invisible format character)"},
		{"word joiner", "Re\u2060set", "U+2060 (an invisible format character)"},
		{"line separator", "line\u2028two", "U+2028 (a line break or control character)"},
		{"paragraph separator", "line\u2029two", "U+2029 (a line break or control character)"},
		{"no-break space", "Reset\u00A0root", "U+00A0 (a space other than U+0020)"},
		{"ideographic space", "Reset\u3000root", "U+3000 (a space other than U+0020)"},
		{"private use", "Reset \uE000", "U+E000"},
		{"escape", "Reset \u001b[31m", "U+001B (a line break or control character)"},
		{"replacement character", "Reset \uFFFD", "must be valid UTF-8 text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]any{"accountIds": []string{"111111111111"}, "hours": 1, "reason": tt.reason, "requester": "alice@example.com"})
			_, err := Parse(b, Policy{Now: now})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "reason: ") {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	// Bytes that are not UTF-8, and a lone surrogate escape, which encoding/json would turn into
	// U+FFFD without a word.
	for name, doc := range map[string]string{
		"invalid bytes":  "{\"accountIds\":[\"111111111111\"],\"hours\":1,\"reason\":\"Reset \xff\xfe root\",\"requester\":\"alice@example.com\"}",
		"lone surrogate": `{"accountIds":["111111111111"],"hours":1,"reason":"Reset \ud800 root","requester":"alice@example.com"}`,
	} {
		if _, err := Parse([]byte(doc), Policy{Now: now}); err == nil || !strings.Contains(err.Error(), "reason: must be valid UTF-8 text") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// What is accepted: any script, accents, punctuation and symbols.
	for _, ok := range []string{"Réinitialiser le mot de passe root (SEC-12)", "ルートのメールを変更 — チケット #42", "Enable MFA delete → audit bucket ✓", "Ünïcödé: ǅ ŉ ﬁ"} {
		b, _ := json.Marshal(map[string]any{"accountIds": []string{"111111111111"}, "hours": 1, "reason": ok, "requester": "alice@example.com"})
		if _, err := Parse(b, Policy{Now: now}); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestTimestampsExactlyAsRFC3339(t *testing.T) {
	start := func(s string) error {
		b, _ := json.Marshal(map[string]any{"accountIds": []string{"111111111111"}, "hours": 1, "reason": "x", "requester": "alice@example.com", "startAt": s})
		_, err := Parse(b, Policy{Now: now})
		return err
	}
	in := now.Add(time.Hour)
	for _, s := range []string{
		in.Format("2006-01-02T15:04:05Z"), in.Format("2006-01-02t15:04:05z"), in.Format("2006-01-02T15:04:05.123456789123Z"),
		in.In(time.FixedZone("", 2*3600)).Format(time.RFC3339), in.In(time.FixedZone("", -(23*3600 + 59*60))).Format(time.RFC3339),
	} {
		if err := start(s); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"2026-11-23T10:00:00+24:00": "has the offset +24:00, out of range (hours 00 to 23)",
		"2026-11-23T10:00:00+23:60": "has the offset +23:60, out of range (minutes 00 to 59)",
		"2026-11-23T23:59:60Z":      "is a leap second (:60)",
		"2026-02-30T10:00:00Z":      "is not a date that exists (day out of range)",
		"2026-11-23T10:00:00":       "is not an RFC 3339 timestamp with an explicit offset",
		"2026-11-23 10:00:00Z":      "is not an RFC 3339 timestamp",
		"+2026-11-23T10:00:00Z":     "is not an RFC 3339 timestamp",
		"0001-01-01T00:00:00Z":      "is more than a year in the past",
		"9999-12-31T23:59:59Z":      "is more than 7 days ahead",
		"2026-11-23T10:00:00.Z":     "is not an RFC 3339 timestamp",
		"2026-11-23T10:00:00+0100":  "is not an RFC 3339 timestamp",
		"２０２６-11-23T10:00:00Z":      "is not an RFC 3339 timestamp",
	} {
		if err := start(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", s, err, want)
		}
	}
}

// A document of thousands of unknown keys is answered with a few, and a count: an answer (and a
// Step Functions cause, at most 32 KB) stays small.
func TestProblemsStayBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"alice@example.com"`)
	for i := range 1500 {
		fmt.Fprintf(&b, `,"k%d":1`, i)
	}
	b.WriteString("}")
	_, err := Parse([]byte(b.String()), Policy{Now: now})
	var probs *Problems
	if !errors.As(err, &probs) || len(*probs) != 6 || !strings.Contains(err.Error(), "request: has 1495 more fields that are not fields of the request") {
		t.Fatalf("%d problems: %v", len(*probs), err)
	}
	if n := len(err.Error()); n > 2048 {
		t.Errorf("the answer is %d bytes", n)
	}
}

// A request may name its task from AWS's list; whyNotAssumeRoot only with a task that centralized
// root access performs.
func TestParseTask(t *testing.T) {
	p := Policy{Now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	base := `"accountIds":["111111111111"],"hours":1,"reason":"x (SEC-1)","requester":"alice@example.com"`
	for _, tt := range []struct {
		extra, task, why, problem string
	}{
		{``, "", "", ""},
		{`,"task":"s3-mfa-delete"`, "s3-mfa-delete", "", ""},
		{`,"task":"unlock-s3-bucket-policy","whyNotAssumeRoot":"the policy also denies the management account"`, "unlock-s3-bucket-policy", "the policy also denies the management account", ""},
		{`,"task":"rm -rf"`, "", "", `task: "rm -rf" is not a task rootwindow knows: one of account-settings,`},
		{`,"task":7`, "", "", "task: must be a string, got a number"},
		{`,"task":"s3-mfa-delete","whyNotAssumeRoot":"because"`, "", "", "whyNotAssumeRoot: is only for a task that centralized root access performs"},
		{`,"whyNotAssumeRoot":"because"`, "", "", "whyNotAssumeRoot: is only for a task"},
		{`,"task":"create-root-password","whyNotAssumeRoot":"x\u2028y"`, "", "", "whyNotAssumeRoot: must be one line of visible text"},
	} {
		r, err := Parse([]byte(`{`+base+tt.extra+`}`), p)
		switch {
		case tt.problem == "" && (err != nil || r.Task != tt.task || r.WhyNotAssumeRoot != tt.why):
			t.Errorf("%s: %+v %v", tt.extra, r, err)
		case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
			t.Errorf("%s: %v, want %q", tt.extra, err, tt.problem)
		}
	}
	if got := Asked([]byte(`{` + base + `,"task":"s3-mfa-delete","whyNotAssumeRoot":"x"}`)); got.Task != "s3-mfa-delete" || got.WhyNotAssumeRoot != "x" {
		t.Errorf("asked %+v", got)
	}
	task, _ := TaskNamed("unlock-sqs-queue-policy")
	if got := task.AssumeRootCommand("111111111111", "us-east-1"); got != "aws sts assume-root --region us-east-1 --target-principal 111111111111 --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy --duration-seconds 900" {
		t.Errorf("command %q", got)
	}
}

// The document's known keys are Fields' JSON names, no more and no fewer: a field added to Fields
// is read from a request document.
func TestKnownFieldsAreTheFieldsJSONNames(t *testing.T) {
	typ := reflect.TypeFor[Fields]()
	names := map[string]bool{}
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	if !reflect.DeepEqual(names, knownFields) {
		t.Errorf("Fields' JSON names %v, the document's known keys %v", names, knownFields)
	}
}
