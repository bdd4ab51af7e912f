package request

import (
	"fmt"
	"strings"
	"testing"
)

// The request contract against hostile and odd documents: every case is refused with the text
// named, or (the few marked ok) accepted as written. The door suites (pkg/api, pkg/workflow) run
// their own hostile inputs through the whole handler; this one is the contract alone.
func TestAdversarialRequestContract(t *testing.T) {
	type tc struct {
		name string
		doc  []byte
		want string // "" means accepted
	}
	raw := func(s string) []byte { return []byte(s) }
	cases := []tc{
		// Not one JSON object.
		{"empty", raw(``), "request: is not valid JSON"},
		{"whitespace", raw("  \n "), "request: is not valid JSON"},
		{"null", raw(`null`), "request: must be a JSON object"},
		{"list", raw(`[{"hours":1}]`), "request: must be a JSON object"},
		{"string", raw(`"hello"`), "request: must be a JSON object"},
		{"number", raw(`42`), "request: must be a JSON object"},
		{"two objects", raw(`{"hours":1}{"hours":2}`), "request: must hold exactly one JSON object"},
		{"trailing garbage", raw(`{"hours":1} x`), "request: must hold exactly one JSON object"},
		{"unterminated", raw(`{"hours":1`), "request: is not valid JSON"},
		{"single quotes", raw(`{'hours':1}`), "request: is not valid JSON"},
		{"comment", raw(`{/* x */"hours":1}`), "request: is not valid JSON"},
		{"trailing comma", raw(`{"hours":1,}`), "request: is not valid JSON"},
		{"over 16 KiB", raw(`{"reason":"` + strings.Repeat("a", MaxBodyBytes) + `"}`), "request: is 16397 bytes; at most 16384 are accepted"},
		// Keys: exact case, once, known.
		{"key in another case", doc(map[string]string{"Hours": `2`, "hours": "-"}), "Hours: is not a field of the request"},
		{"key with a space", doc(map[string]string{" hours": `2`, "hours": "-"}), `" hours": is not a field of the request`},
		{"key with an invisible character", doc(map[string]string{"hours\u200b": `2`, "hours": "-"}), `"hours\u200b": is not a field of the request`},
		{"repeated key, same value", raw(`{"accountIds":["123456789012"],"hours":1,"hours":1,"reason":"x","requester":"a"}`), "hours: appears more than once"},
		{"repeated key, another value", raw(`{"accountIds":["123456789012"],"hours":1,"hours":4,"reason":"x","requester":"a"}`), "hours: appears more than once"},
		{"empty key", doc(map[string]string{"": `1`}), `"": is not a field of the request`},
		{"very long key", doc(map[string]string{strings.Repeat("k", 5000): `1`}), `…": is not a field of the request`},
		{"origin in the request", doc(map[string]string{"origin": `{"channel":"api"}`}), "origin: is not a field of the request"},
		{"thousands of unknown keys", raw(`{"accountIds":["123456789012"],"hours":1,"reason":"x","requester":"a"` + strings.Repeat(`,"k":1`, 1000) + `}`), "request: has 995 more fields"},
		// accountIds.
		{"accountIds missing", doc(map[string]string{"accountIds": "-"}), "accountIds: is required"},
		{"accountIds null", doc(map[string]string{"accountIds": `null`}), "accountIds: must be a list of 12-digit account ID strings, got null"},
		{"accountIds a string", doc(map[string]string{"accountIds": `"123456789012"`}), "got a string"},
		{"accountIds an object", doc(map[string]string{"accountIds": `{"0":"123456789012"}`}), "got an object"},
		{"accountIds empty", doc(map[string]string{"accountIds": `[]`}), "accountIds: must list at least one account"},
		{"account as a number", doc(map[string]string{"accountIds": `[123456789012]`}), "accountIds[0]: must be a 12-digit account ID string, got a number"},
		{"account 11 digits", doc(map[string]string{"accountIds": `["12345678901"]`}), `accountIds[0]: "12345678901" is not a 12-digit account ID`},
		{"account 13 digits", doc(map[string]string{"accountIds": `["1234567890123"]`}), "is not a 12-digit account ID"},
		{"account with spaces", doc(map[string]string{"accountIds": `[" 123456789012"]`}), "is not a 12-digit account ID"},
		{"account with a dash", doc(map[string]string{"accountIds": `["1234-5678-9012"]`}), "is not a 12-digit account ID"},
		{"account in full-width digits", doc(map[string]string{"accountIds": `["１２３４５６７８９０１２"]`}), "is not a 12-digit account ID"},
		{"account in Arabic-Indic digits", doc(map[string]string{"accountIds": `["١٢٣٤٥٦٧٨٩٠١٢"]`}), "is not a 12-digit account ID"},
		{"account with a newline", doc(map[string]string{"accountIds": `["123456789012\n"]`}), "is not a 12-digit account ID"},
		{"account as an ARN", doc(map[string]string{"accountIds": `["arn:aws:organizations::1:account/o-x/123456789012"]`}), "is not a 12-digit account ID"},
		{"account null", doc(map[string]string{"accountIds": `[null]`}), "accountIds[0]: must be a 12-digit account ID string, got null"},
		{"account a list", doc(map[string]string{"accountIds": `[["123456789012"]]`}), "got a list"},
		{"account very long", doc(map[string]string{"accountIds": `["` + strings.Repeat("9", 3000) + `"]`}), `…" is not a 12-digit account ID`},
		{"51 accounts", doc(map[string]string{"accountIds": accounts(51)}), "accountIds: lists 51 accounts; at most 50"},
		{"a thousand invalid accounts", doc(map[string]string{"accountIds": "[" + strings.TrimSuffix(strings.Repeat(`"1",`, 1000), ",") + "]"}), "request: has 940 more problems, not listed"},
		{"duplicates count once", doc(map[string]string{"accountIds": `["123456789012","123456789012"]`}), ""},
		// hours.
		{"hours missing", doc(map[string]string{"hours": "-"}), "hours: is required"},
		{"hours zero", doc(map[string]string{"hours": `0`}), "hours: must be from 1 to 4, got 0"},
		{"hours negative", doc(map[string]string{"hours": `-1`}), "hours: must be from 1 to 4, got -1"},
		{"hours five", doc(map[string]string{"hours": `5`}), "hours: must be from 1 to 4, got 5"},
		{"hours fraction", doc(map[string]string{"hours": `1.5`}), "hours: must be a whole number of hours from 1 to 4, got 1.5"},
		{"hours 2.0", doc(map[string]string{"hours": `2.0`}), "got 2.0"},
		{"hours exponent", doc(map[string]string{"hours": `2e0`}), "got 2e0"},
		{"hours huge", doc(map[string]string{"hours": `99999999999999999999999`}), "hours: must be a whole number of hours from 1 to 4"},
		{"hours of 15,000 digits", doc(map[string]string{"hours": strings.Repeat("9", 15000)}), "got 999999999999999999999999… (15000 characters)"},
		{"hours as a string", doc(map[string]string{"hours": `"2"`}), "hours: must be a whole number of hours from 1 to 4, got a string"},
		{"hours true", doc(map[string]string{"hours": `true`}), "got a boolean"},
		{"hours null", doc(map[string]string{"hours": `null`}), "got null"},
		// startAt.
		{"startAt a number", doc(map[string]string{"startAt": `1795000000`}), "startAt: must be an RFC 3339 timestamp"},
		{"startAt empty", doc(map[string]string{"startAt": `""`}), `startAt: "" is not an RFC 3339 timestamp`},
		{"startAt local time", doc(map[string]string{"startAt": `"2026-11-23T10:00:00"`}), "is not an RFC 3339 timestamp with an explicit offset"},
		{"startAt with a space", doc(map[string]string{"startAt": `"2026-11-23 10:00:00Z"`}), "is not an RFC 3339 timestamp"},
		{"startAt offset +24:00", doc(map[string]string{"startAt": `"2026-11-23T10:00:00+24:00"`}), "out of range (hours 00 to 23)"},
		{"startAt offset minutes 60", doc(map[string]string{"startAt": `"2026-11-23T10:00:00+01:60"`}), "out of range (minutes 00 to 59)"},
		{"startAt leap second", doc(map[string]string{"startAt": `"2026-11-23T23:59:60Z"`}), "is a leap second"},
		{"startAt 30 February", doc(map[string]string{"startAt": `"2026-02-30T10:00:00Z"`}), "is not a date that exists"},
		{"startAt hour 24", doc(map[string]string{"startAt": `"2026-11-23T24:00:00Z"`}), "is not a date that exists"},
		{"startAt year 0001", doc(map[string]string{"startAt": `"0001-01-01T00:00:00Z"`}), "is more than a year in the past"},
		{"startAt year 9999", doc(map[string]string{"startAt": `"9999-12-31T23:59:59Z"`}), "is more than 7 days ahead"},
		{"startAt an hour ago", doc(map[string]string{"startAt": `"2026-11-23T08:30:15Z"`}), "is 1h0m0s in the past"},
		{"startAt lower case t and z", doc(map[string]string{"startAt": `"2026-11-23t10:00:00z"`}), ""},
		{"startAt with nanoseconds", doc(map[string]string{"startAt": `"2026-11-23T10:00:00.999999999Z"`}), ""},
		{"startAt with many fraction digits", doc(map[string]string{"startAt": `"2026-11-23T10:00:00.1234567890123Z"`}), ""},
		{"startAt with an offset", doc(map[string]string{"startAt": `"2026-11-23T11:00:00+01:00"`}), ""},
		{"startAt full-width digits", doc(map[string]string{"startAt": `"２０２６-11-23T10:00:00Z"`}), "is not an RFC 3339 timestamp"},
		{"startAt very long", doc(map[string]string{"startAt": `"` + strings.Repeat("2", 2000) + `"`}), `…" is not an RFC 3339 timestamp`},
		// reason.
		{"reason missing", doc(map[string]string{"reason": "-"}), "reason: is required"},
		{"reason blank", doc(map[string]string{"reason": `"   "`}), "reason: must not be blank"},
		{"reason null", doc(map[string]string{"reason": `null`}), "reason: must be a string, got null"},
		{"reason a list", doc(map[string]string{"reason": `["x"]`}), "reason: must be a string, got a list"},
		{"reason 501 characters", doc(map[string]string{"reason": `"` + strings.Repeat("é", 501) + `"`}), "reason: is 501 characters long; at most 500"},
		{"reason 500 characters", doc(map[string]string{"reason": `"` + strings.Repeat("é", 500) + `"`}), ""},
		{"reason with a tab", doc(map[string]string{"reason": `"a\tb"`}), "U+0009 (a line break or control character)"},
		{"reason with a carriage return", doc(map[string]string{"reason": `"a\rb"`}), "U+000D"},
		{"reason with NUL", doc(map[string]string{"reason": `"a\u0000b"`}), "U+0000"},
		{"reason with DEL", doc(map[string]string{"reason": `"a\u007fb"`}), "U+007F"},
		{"reason with C1 control", doc(map[string]string{"reason": `"a\u0085b"`}), "U+0085"},
		{"reason with a lone surrogate", doc(map[string]string{"reason": `"a\udc00b"`}), "reason: must be valid UTF-8 text"},
		{"reason with a surrogate pair", doc(map[string]string{"reason": `"check \ud83d\ude00"`}), ""},
		{"reason with soft hyphen", doc(map[string]string{"reason": `"re\u00adset"`}), "U+00AD (an invisible format character)"},
		{"reason with mongolian vowel separator", doc(map[string]string{"reason": `"re\u180eset"`}), "U+180E"},
		{"reason with interlinear annotation", doc(map[string]string{"reason": `"a\ufff9b"`}), "U+FFF9"},
		{"reason with a tag character", doc(map[string]string{"reason": `"a\udb40\udc41b"`}), "U+E0041"},
		{"reason with figure space", doc(map[string]string{"reason": `"a\u2007b"`}), "U+2007 (a space other than U+0020)"},
		{"reason with a combining mark", doc(map[string]string{"reason": `"e\u0301te"`}), ""},
		{"reason in Arabic", doc(map[string]string{"reason": `"تغيير البريد"`}), ""},
		{"reason with an emoji", doc(map[string]string{"reason": `"rotate keys 🔑"`}), ""},
		{"reason with HTML", doc(map[string]string{"reason": `"<script>alert(1)</script>"`}), ""},
	}
	// Every character a reader must not be shown, in reason and in requester.
	for _, r := range []rune{'\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u2060', '\ufeff', '\u2028', '\u2029', '\u00a0', '\u3000', '\ue000'} {
		for _, field := range []string{"reason", "requester"} {
			cases = append(cases, tc{fmt.Sprintf("%s with %U", field, r), doc(map[string]string{field: fmt.Sprintf("%q", "alice"+string(r)+"x")}), fmt.Sprintf("%s: must be one line of visible text: it holds %U", field, r)})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.doc, policy())
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want %q", err, c.want)
			case err != nil && len(err.Error()) > 4096:
				t.Errorf("an answer of %d bytes", len(err.Error()))
			}
		})
	}
	if len(cases) < 120 {
		t.Errorf("%d cases", len(cases))
	}
}
