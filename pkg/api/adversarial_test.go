package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// The API door against hostile and odd calls, through the whole handler against the emulators:
// each case is answered with its status and text, never an error (API Gateway's bare 502), and
// nothing changes: not the organization, not the ledger, no execution started.
func TestAdversarialAPI(t *testing.T) {
	e := newEnv(t)
	before := e.org.Snapshot()
	valid := `{"accountIds":["111111111111"],"hours":1,"reason":"Enable MFA delete (SEC-1)"}`
	postBody := func(body string) func() events.APIGatewayProxyRequest {
		return func() events.APIGatewayProxyRequest { return post(t, alice, body) }
	}
	withHeader := func(name, value string) func() events.APIGatewayProxyRequest {
		return func() events.APIGatewayProxyRequest {
			r := post(t, alice, `{"accountIds":["111111111111"],"hours":9,"reason":"x"}`)
			r.Headers[name] = value
			return r
		}
	}
	call := func(method, resource, id, caller string) func() events.APIGatewayProxyRequest {
		return func() events.APIGatewayProxyRequest { return on(t, method, resource, id, caller) }
	}
	list := func(q map[string]string) func() events.APIGatewayProxyRequest {
		return func() events.APIGatewayProxyRequest {
			r := on(t, "GET", "/requests", "", alice)
			r.QueryStringParameters = q
			return r
		}
	}
	cases := []struct {
		name   string
		req    func() events.APIGatewayProxyRequest
		status int
		want   string
	}{
		{"no caller (IAM auth missing)", call("POST", "/requests", "", ""), 403, "needs IAM (SigV4) authentication"},
		{"unknown method", call("PUT", "/requests", "", alice), 404, "no such method: PUT /requests"},
		{"unknown resource", call("GET", "/admin", "", alice), 404, "no such method"},
		{"resource in another case", call("GET", "/Requests", "", alice), 404, "no such method"},
		{"method in lower case", call("post", "/requests", "", alice), 404, "no such method"},
		{"empty body", postBody(""), 400, "request: is not valid JSON"},
		{"body null", postBody("null"), 400, "request: must be a JSON object"},
		{"body a list", postBody(`[` + valid + `]`), 400, "request: must be a JSON object"},
		{"two bodies", postBody(valid + valid), 400, "must hold exactly one JSON object"},
		{"body over 16 KiB", postBody(`{"reason":"` + strings.Repeat("a", 17000) + `"}`), 413, "at most 16384 are accepted"},
		{"claimed requester of someone else", postBody(`{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"` + bob + `"}`), 400, "does not match the authenticated caller"},
		{"claimed requester, another case of a key", postBody(`{"accountIds":["111111111111"],"hours":1,"reason":"x","Requester":"` + bob + `"}`), 400, "Requester: is not a field of the request"},
		{"repeated hours", postBody(`{"accountIds":["111111111111"],"hours":1,"hours":4,"reason":"x"}`), 400, "hours: appears more than once"},
		{"origin in the body", postBody(`{"accountIds":["111111111111"],"hours":1,"reason":"x","origin":{"channel":"eventbridge"}}`), 400, "origin: is not a field of the request"},
		{"bidi override in reason", postBody(`{"accountIds":["111111111111"],"hours":1,"reason":"x\u202ey"}`), 400, "U+202E"},
		{"invalid UTF-8 in reason", postBody("{\"accountIds\":[\"111111111111\"],\"hours\":1,\"reason\":\"x\xc3\x28y\"}"), 400, "must be valid UTF-8 text"},
		{"management account", postBody(`{"accountIds":["999999999999"],"hours":1,"reason":"x"}`), 400, "management account"},
		{"unknown account", postBody(`{"accountIds":["555555555555"],"hours":1,"reason":"x"}`), 400, "is not an account of this organization"},
		{"not an administrator", func() events.APIGatewayProxyRequest { return post(t, mallory, valid) }, 403, "is not an administrator"},
		{"base64 body that is not", func() events.APIGatewayProxyRequest {
			r := post(t, alice, "!!!")
			r.IsBase64Encoded = true
			return r
		}, 400, "the body is marked base64 but is not"},
		{"base64 body with a bad request", func() events.APIGatewayProxyRequest {
			r := post(t, alice, base64.StdEncoding.EncodeToString([]byte(`{"hours":9}`)))
			r.IsBase64Encoded = true
			return r
		}, 400, "hours: must be from 1 to 4"},
		{"Idempotency-Key with a space", withHeader("Idempotency-Key", "a b"), 400, "Idempotency-Key: must be 1 to 128"},
		{"Idempotency-Key too long", withHeader("Idempotency-Key", strings.Repeat("k", 129)), 400, "Idempotency-Key: must be 1 to 128"},
		{"Idempotency-Key with a newline", withHeader("Idempotency-Key", "a\nb"), 400, "Idempotency-Key"},
		{"Idempotency-Key with unicode", withHeader("Idempotency-Key", "clé"), 400, "Idempotency-Key"},
		{"Idempotency-Key twice, two values", func() events.APIGatewayProxyRequest {
			r := post(t, alice, valid)
			r.Headers["Idempotency-Key"], r.Headers["IDEMPOTENCY-KEY"] = "a", "b"
			return r
		}, 400, "was sent more than once with different values"},
		{"id with a space", call("GET", "/requests/{id}", "a b", alice), 400, "id: request ID"},
		{"id too long", call("GET", "/requests/{id}", strings.Repeat("a", 81), alice), 400, "id: request ID"},
		{"id with a slash", call("GET", "/requests/{id}", "../../etc", alice), 400, "id: request ID"},
		{"id unicode", call("GET", "/requests/{id}", "réq", alice), 400, "id: request ID"},
		{"id of 5000 characters", call("GET", "/requests/{id}", strings.Repeat("a", 5000), alice), 400, `aaaa…" must be 1 to 80`},
		{"id empty", call("GET", "/requests/{id}", "", alice), 400, "id: request ID"},
		{"unknown id", call("GET", "/requests/{id}", "api-unknown", alice), 404, "no request api-unknown that you may see"},
		{"end an unknown id", call("POST", "/requests/{id}/end", "api-unknown", alice), 404, "no request"},
		{"cancel an unknown id", call("POST", "/requests/{id}/cancel", "api-unknown", alice), 404, "no request"},
		{"confirm an unknown id", call("POST", "/requests/{id}/confirm", "api-unknown", alice), 404, "no request"},
		{"list by a non-administrator", call("GET", "/requests", "", mallory), 403, "only administrators may list"},
		{"list with an unknown parameter", list(map[string]string{"owner": "x"}), 400, "owner: is not a parameter"},
		{"list with a huge parameter name", list(map[string]string{strings.Repeat("p", 3000): "x"}), 400, "is not a parameter"},
		{"list with a bad account", list(map[string]string{"accountId": strings.Repeat("1", 3000)}), 400, "accountId: "},
		{"list with a bad status", list(map[string]string{"status": "open"}), 400, "status: "},
		{"list with limit 0", list(map[string]string{"limit": "0"}), 400, "limit: must be a whole number from 1 to 100"},
		{"list with limit 101", list(map[string]string{"limit": "101"}), 400, "limit: must be a whole number from 1 to 100"},
		{"list with limit 1e1", list(map[string]string{"limit": "1e1"}), 400, "limit: must be a whole number"},
		{"list with limit 010", list(map[string]string{"limit": "010"}), 400, "limit: must be a whole number"},
		{"list with a garbage token", list(map[string]string{"nextToken": "!!!"}), 400, "nextToken"},
		{"list with a forged token", list(map[string]string{"nextToken": base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"lease#111111111111","kind":"lease","createdAt":"x"}`))}), 400, "nextToken"},
		{"list with a huge token", list(map[string]string{"nextToken": strings.Repeat("A", 10000)}), 400, "nextToken"},
		// Well formed, with keys over DynamoDB's key sizes (2048 and 1024 bytes), or 40 KB: refused
		// before DynamoDB sees them (its ValidationException would be a 500).
		{"list with a well-formed token with an oversized key", list(map[string]string{"nextToken": base64.RawURLEncoding.EncodeToString([]byte(
			`{"pk":"request#` + strings.Repeat("a", 3000) + `","kind":"request","createdAt":"2026-11-23T10:00:00.000000000Z"}`))}), 400, "nextToken"},
		{"list with a well-formed token with an oversized sort key", list(map[string]string{"nextToken": base64.RawURLEncoding.EncodeToString([]byte(
			`{"pk":"request#api-1","kind":"request","createdAt":"` + strings.Repeat("2", 1500) + `"}`))}), 400, "nextToken"},
		{"list with a 40 KB token", list(map[string]string{"nextToken": base64.RawURLEncoding.EncodeToString([]byte(
			`{"pk":"request#api-1","kind":"request","createdAt":"2026-11-23T10:00:00.000000000Z","x":"` + strings.Repeat("y", 30000) + `"}`))}), 400, "nextToken"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := e.call(t, c.req())
			shown := a.raw + "\n" + strings.Join(a.problems(), "\n")
			if a.status != c.status || !strings.Contains(shown, c.want) {
				t.Errorf("%d %s, want %d with %q", a.status, a.raw, c.status, c.want)
			}
			if len(a.raw) > 8192 {
				t.Errorf("an answer of %d bytes", len(a.raw))
			}
			for _, leak := range []string{"Exception", "operation error", "arn:aws:dynamodb", "panic"} {
				if strings.Contains(a.raw, leak) {
					t.Errorf("internal text in the answer: %s", a.raw)
				}
			}
		})
	}
	if after := e.org.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("the organization changed")
	}
	if n := len(e.emu.Executions()); n != 0 {
		t.Errorf("%d executions started", n)
	}
	if recs, _, err := e.deps.Ledger.List(context.Background(), ledger.Filter{}, 100, ""); err != nil || len(recs) != 0 {
		t.Errorf("the ledger holds %d requests (%v)", len(recs), err)
	}
	if leases, _ := e.deps.Ledger.AllLeases(context.Background()); len(leases) != 0 {
		t.Errorf("leases %v", leases)
	}
	t.Logf("%d cases", len(cases))
	_ = fmt.Sprint
	_ = http.StatusOK
}

// The verbs on one request (end, cancel, confirm, approve, deny) under hostile bodies: each is
// refused with the key or the problem named, and nothing changes (the request keeps its status,
// no decision or confirmation is recorded, nothing is stopped). end, cancel and confirm take no
// body at all: {"confirm": false} is not a confirmation.
func TestAdversarialVerbBodies(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.Approval, d.Config.ApprovalMinutes = config.ApprovalSecondAdmin, 30 })
	id := e.accept(t, members[0])
	verb := func(v, caller, body string) answer {
		r := on(t, "POST", "/requests/{id}/"+v, id, caller)
		r.Body = body
		return e.call(t, r)
	}
	cases := []struct {
		verb, caller, body string
		want               string
	}{
		{"confirm", alice, `{"confirm": false}`, `"field":"confirm","message":"is not a key here: this call takes no body`},
		{"confirm", alice, `{"confirm": true}`, `"field":"confirm"`},
		{"cancel", alice, `{"reason":"x"}`, `"field":"reason","message":"is not a key here`},
		{"end", alice, `{"force":true}`, `"field":"force"`},
		{"end", alice, `[]`, `"field":"body"`},
		{"cancel", alice, `null`, `"field":"body"`},
		{"cancel", alice, `"cancel"`, `"field":"body"`},
		{"cancel", alice, `{} {}`, `"field":"body"`},
		{"cancel", alice, `{"a":1,"a":2}`, `"field":"a","message":"appears more than once"`},
		{"cancel", alice, `{`, `is not valid JSON`},
		{"approve", bob, `{"reason":1}`, `"field":"reason"`},
		{"approve", bob, `{"reason":"ok","approve":false}`, `approve is not a key here`},
		{"approve", bob, `{"reason":"` + strings.Repeat("x", 600) + `"}`, `"field":"reason"`},
		{"deny", bob, `{"reason":"no\u0000"}`, `"field":"reason"`},
		{"deny", bob, `{"REASON":"no"}`, `REASON is not a key here`},
		{"deny", bob, `{"reason":"no","reason":"yes"}`, `reason appears more than once`},
		{"approve", bob, strings.Repeat(" ", 20000) + `{}`, `"field":"body"`},
	}
	for _, c := range cases {
		if a := verb(c.verb, c.caller, c.body); a.status != http.StatusBadRequest || !strings.Contains(a.raw, c.want) {
			t.Errorf("%s %q: %d %s, want 400 with %s", c.verb, c.body, a.status, a.raw, c.want)
		}
	}
	rec, _ := e.deps.Ledger.Get(context.Background(), id)
	if rec.Status != ledger.Scheduled || rec.ApprovedBy != "" || rec.DeniedBy != "" || rec.ConfirmedBy != "" || len(e.emu.Stops()) != 0 {
		t.Errorf("a refused call changed the request: %s approved %q denied %q", rec.Status, rec.ApprovedBy, rec.DeniedBy)
	}
	// No body, or {}, is what these calls take.
	for _, body := range []string{"", "{}", " { } "} {
		if a := verb("cancel", alice, body); a.status != http.StatusOK {
			t.Errorf("cancel with %q: %d %s", body, a.status, a.raw)
		}
	}
}
