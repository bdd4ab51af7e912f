package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// The console's and EventBridge's envelopes against hostile and odd inputs, through Validate as
// the state machine calls it: each is refused with the text named, and nothing is reserved or
// lifted (no lease, no Organizations write, no SCHEDULED request).
func TestAdversarialEnvelopes(t *testing.T) {
	req := `{"accountIds":["111111111111"],"hours":1,"reason":"Enable MFA delete (SEC-1)","requester":"` + alice + `"}`
	event := func(origin string) string { return `{"request":` + req + `,"origin":` + origin + `}` }
	good := `{"channel":"eventbridge","eventId":"0d9d1c56-0001-4000-8000-0000000000%02d","sourceAccount":"111111111111"}`
	type tc struct {
		name, input string
		by          awsemu.Identity
		want        string
	}
	console, rule := testenv.Person(alice), testenv.EventsRule
	cases := []tc{
		// The console door.
		{"console: empty", ``, console, "input: must be"},
		{"console: null", `null`, console, "must be a JSON object"},
		{"console: a list", `[` + req + `]`, console, "must be a JSON object"},
		{"console: the request alone", req, console, "accountIds is not a key here (expected request, origin, exactly)"},
		{"console: Request", `{"Request":` + req + `}`, console, "Request is not a key here"},
		{"console: REQUEST", `{"REQUEST":` + req + `}`, console, "REQUEST is not a key here"},
		{"console: request twice", `{"request":` + req + `,"request":` + req + `}`, console, "request appears more than once"},
		{"console: request null", `{"request":null}`, console, "request: is required"},
		{"console: no request", `{}`, console, "request: is required"},
		{"console: request a string", `{"request":"` + strings.ReplaceAll(req, `"`, `\"`) + `"}`, console, "request: must be a JSON object"},
		{"console: two envelopes", `{"request":` + req + `}{"request":` + req + `}`, console, "must hold exactly one JSON object"},
		{"console: an extra key", `{"request":` + req + `,"approved":true}`, console, "approved is not a key here"},
		{"console: origin a string", `{"request":` + req + `,"origin":"api"}`, console, "must be a JSON object"},
		{"console: origin with an extra key", `{"request":` + req + `,"origin":{"channel":"api","admin":true}}`, console, "origin: admin is not a key here"},
		{"console: origin in another case", `{"request":` + req + `,"origin":{"CHANNEL":"api"}}`, console, "origin: CHANNEL is not a key here"},
		{"console: origin channel a number", `{"request":` + req + `,"origin":{"channel":1}}`, console, "origin.channel must be a string"},
		{"console: another requester", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"` + bob + `"}}`, console, "does not match the authenticated caller"},
		{"console: requester in another case of key", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x","Requester":"` + bob + `"}}`, console, "Requester: is not a field of the request"},
		{"console: a bidi override", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x\u202ey"}}`, console, "U+202E"},
		{"console: hours repeated", `{"request":{"accountIds":["111111111111"],"hours":1,"hours":4,"reason":"x"}}`, console, "hours: appears more than once"},
		{"console: started by someone not an administrator", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x"}}`, testenv.Person("arn:aws:iam::999999999999:user/mallory"), "is not an administrator"},
		{"console: the management account", `{"request":{"accountIds":["999999999999"],"hours":1,"reason":"x"}}`, console, "management account"},
		// The EventBridge door.
		{"eventbridge: no origin", `{"request":` + req + `}`, rule, "origin: must be the request rule's"},
		{"eventbridge: origin null", `{"request":` + req + `,"origin":null}`, rule, "origin: must be the request rule's"},
		{"eventbridge: origin from the console", event(`{"channel":"stepfunctions"}`), rule, "origin: must be the request rule's"},
		{"eventbridge: Channel", event(`{"Channel":"eventbridge","eventId":"e1","sourceAccount":"111111111111"}`), rule, "origin: Channel is not a key here"},
		{"eventbridge: channel twice", event(`{"channel":"stepfunctions","channel":"eventbridge","eventId":"e1","sourceAccount":"111111111111"}`), rule, "origin: channel appears more than once"},
		{"eventbridge: an extra origin key", event(`{"channel":"eventbridge","eventId":"e1","sourceAccount":"111111111111","confirmed":"yes"}`), rule, "origin: confirmed is not a key here"},
		{"eventbridge: event ID with a slash", event(`{"channel":"eventbridge","eventId":"../x","sourceAccount":"111111111111"}`), rule, `origin.eventId: "../x" is not an event ID`},
		{"eventbridge: account without integration", event(`{"channel":"eventbridge","eventId":"e2","sourceAccount":"333333333333"}`), rule, `origin.sourceAccount: "333333333333" has no integration`},
		{"eventbridge: account not a string", event(`{"channel":"eventbridge","eventId":"e3","sourceAccount":111111111111}`), rule, "origin.sourceAccount must be a string"},
		{"eventbridge: no requester", event(fmt.Sprintf(good, 1))[:0] + `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x"},"origin":` + fmt.Sprintf(good, 2) + `}`, rule, "requester: is required"},
		{"eventbridge: requester not an administrator", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"arn:aws:iam::999999999999:user/mallory"},"origin":` + fmt.Sprintf(good, 3) + `}`, rule, "is not an administrator"},
		{"eventbridge: requester with a zero-width space", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"` + alice + `\u200b"},"origin":` + fmt.Sprintf(good, 4) + `}`, rule, "requester: must be one line of visible text: it holds U+200B"},
		{"eventbridge: detail with an unknown key", `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"` + alice + `","approve":true},"origin":` + fmt.Sprintf(good, 5) + `}`, rule, "approve: is not a field of the request"},
		{"eventbridge: hours as a string", `{"request":{"accountIds":["111111111111"],"hours":"1","reason":"x","requester":"` + alice + `"},"origin":` + fmt.Sprintf(good, 6) + `}`, rule, "hours: must be a whole number of hours from 1 to 4, got a string"},
	}
	e := newEnv(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Steps.Validate(context.Background(), e.Started(fmt.Sprintf("adv-%02d", i), json.RawMessage(c.input), c.by))
			var rej *contract.RequestRejected
			if !errors.As(err, &rej) || !strings.Contains(rej.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
			if err != nil && len(err.Error()) > 8192 {
				t.Errorf("a cause of %d bytes", len(err.Error()))
			}
		})
	}
	if e.Writes() != 0 {
		t.Errorf("%d Organizations writes", e.Writes())
	}
	if leases, _ := e.Store.AllLeases(context.Background()); len(leases) != 0 {
		t.Errorf("leases %v", leases)
	}
	if recs, _, _ := e.Store.List(context.Background(), ledger.Filter{Status: ledger.Scheduled}, 100, ""); len(recs) != 0 {
		t.Errorf("%d scheduled requests", len(recs))
	}
}

// Step Functions hands a step the execution's input parsed and written again: a key repeated in
// the input as started is already resolved (the last one wins) by the time Validate gets it. So
// Validate reads the input as the execution was started (DescribeExecution) and refuses it.
func TestARepeatedKeyResolvedOnTheWayIsStillRefused(t *testing.T) {
	e := newEnv(t)
	started := `{"request":{"accountIds":["111111111111"],"hours":1,"hours":4,"reason":"x","requester":"` + alice + `"}}`
	handed := `{"request":{"accountIds":["111111111111"],"hours":4,"reason":"x","requester":"` + alice + `"}}`
	in := e.Started("dup-1", json.RawMessage(started), testenv.Person(alice))
	in.Input = json.RawMessage(handed)
	_, err := e.Steps.Validate(context.Background(), in)
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "hours: appears more than once") {
		t.Errorf("got %v", err)
	}
	if e.Writes() != 0 {
		t.Errorf("%d Organizations writes", e.Writes())
	}
}

// A console execution named as the API would name a caller's request (api- and the hash of their
// Idempotency-Key) is refused and records nothing, so the caller's own request under that key is
// still theirs to make.
func TestTheAPIsRequestIDsAreNotTheConsolesToTake(t *testing.T) {
	e := newEnv(t)
	req := `{"request":{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"` + alice + `"}}`
	_, err := e.Steps.Validate(context.Background(), e.Started(contract.APIRequestPrefix+"0123456789abcdef0123456789abcdef", json.RawMessage(req), testenv.Person(alice)))
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "are the API's request IDs") {
		t.Fatalf("got %v", err)
	}
	if recs, _, _ := e.Store.List(context.Background(), ledger.Filter{}, 10, ""); len(recs) != 0 {
		t.Errorf("recorded %+v", recs)
	}
}
