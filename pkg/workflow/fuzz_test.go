package workflow

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzEnvelope reads arbitrary execution inputs as the console's and EventBridge's envelopes:
// never a panic; an input accepted has exactly the keys the contract names, each once, and what
// it is read as is what encoding/json reads from it (no key case or repetition trick).
func FuzzEnvelope(f *testing.F) {
	f.Add(`{"request":{"hours":1}}`)
	f.Add(`{"request":{"hours":1},"origin":{"channel":"eventbridge","eventId":"e","sourceAccount":"111111111111"}}`)
	f.Add(`{"Request":{},"request":{}}`)
	f.Add(`{"request":{},"origin":{"channel":"api","channel":"eventbridge"}}`)
	f.Add(`{"request":{}}{"request":{}}`)
	f.Fuzz(func(t *testing.T, input string) {
		env, bad := envelopeOf(json.RawMessage(input))
		if len(bad) > 0 {
			for _, b := range bad {
				if len(b) > 512 {
					t.Fatalf("a problem of %d bytes", len(b))
				}
			}
			return
		}
		var loose map[string]json.RawMessage
		if err := json.Unmarshal([]byte(input), &loose); err != nil {
			t.Fatalf("accepted what encoding/json cannot read: %v", err)
		}
		for k := range loose {
			if k != "request" && k != "origin" {
				t.Fatalf("accepted the key %q", k)
			}
		}
		if string(env.Request) != string(loose["request"]) {
			t.Fatalf("read request %s, encoding/json reads %s", env.Request, loose["request"])
		}
		if env.Origin != nil && strings.ContainsAny(env.Origin.Channel, "\x00") && !strings.Contains(input, `\u0000`) {
			t.Fatalf("origin channel %q", env.Origin.Channel)
		}
	})
}
