package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/testenv"
)

// FuzzAPI sends arbitrary calls through the handler, against the emulators: whatever arrives, the
// handler answers (never an error, which API Gateway would turn into a bare 502) with a JSON body,
// a known status, a correlation ID on errors, and no internal text; only a valid POST by an
// administrator is accepted.
func FuzzAPI(f *testing.F) {
	post := string(testenv.Sample(f, "api-post-request.json"))
	var sample map[string]any
	if err := json.Unmarshal([]byte(post), &sample); err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "/requests", "", sample["body"].(string), "SEC-1", "", "")
	f.Add("POST", "/requests", "", `{"accountIds":["111111111111"],"hours":9}`, "", "", "")
	f.Add("GET", "/requests", "", "", "", "accountId", "111111111111")
	f.Add("GET", "/requests/{id}", "api-1", "", "", "", "")
	f.Add("POST", "/requests/{id}/end", "api-1", "", "", "", "")
	f.Add("POST", "/requests/{id}/cancel", "../x", "", "", "", "")
	f.Add("GET", "/requests", "", "", "", "nextToken", "eyJ9")
	// The approval, confirmation and subscription bodies.
	f.Add("POST", "/requests/{id}/approve", "api-1", `{"reason":"checked SEC-1"}`, "", "", "")
	f.Add("POST", "/requests/{id}/deny", "api-1", `{"reason":"no","reason":"yes"}`, "", "", "")
	f.Add("POST", "/requests/{id}/confirm", "api-1", `{"confirm":false}`, "", "", "")
	f.Add("POST", "/requests/{id}/end", "api-1", `{}`, "", "", "")
	f.Add("POST", "/subscriptions", "", `{"protocol":"https","endpoint":"https://169.254.169.254/"}`, "", "", "")
	f.Add("POST", "/subscriptions", "", `{"protocol":"email","endpoint":"alice@example.com"}`, "", "", "")
	known := map[int]bool{200: true, 202: true, 400: true, 403: true, 404: true, 409: true, 413: true, 422: true, 502: true, 503: true}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, method, resource, id, body, key, param, value string) {
		r := on(t, method, resource, id, alice)
		r.Body = body
		r.Headers = map[string]string{"Idempotency-Key": key}
		r.QueryStringParameters = map[string]string{param: value}
		res, err := e.api.Handle(context.Background(), r)
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		if !known[res.StatusCode] {
			t.Fatalf("status %d: %s", res.StatusCode, res.Body)
		}
		var b map[string]any
		if err := json.Unmarshal([]byte(res.Body), &b); err != nil {
			t.Fatalf("body is not a JSON object: %q", res.Body)
		}
		if res.StatusCode >= 400 && b["correlationId"] != r.RequestContext.RequestID {
			t.Fatalf("no correlation ID: %s", res.Body)
		}
		if res.StatusCode >= 500 && (strings.Contains(res.Body, "Exception") || strings.Contains(res.Body, "operation error")) {
			t.Fatalf("internal text leaked: %s", res.Body)
		}
		if res.StatusCode == http.StatusAccepted {
			if method != "POST" || resource != "/requests" {
				t.Fatalf("%s %s accepted", method, resource)
			}
			// Free the account for the next input.
			if _, err := e.steps.Cancel(context.Background(), b["requestId"].(string), alice); err != nil {
				t.Fatal(err)
			}
		}
	})
}
