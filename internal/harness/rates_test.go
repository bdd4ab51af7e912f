package harness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// gatewayTimeout is API Gateway's integration timeout for a REST API (29 seconds, "Amazon API
// Gateway quotas"): an answer later than this is a 504 while the work carries on behind it.
const gatewayTimeout = 29 * time.Second

// admit posts a request for accounts through the API as one caller on the harness's clock, and
// returns its status code and the virtual time it took to answer.
func admit(ctx context.Context, t testing.TB, accounts []string) (int, time.Duration) {
	t.Helper()
	post := apiSample(t, "api-post-request.json")
	body, _ := json.Marshal(map[string]any{"accountIds": accounts, "hours": 1, "reason": "Rotate the root MFA devices (SEC-4242)"})
	post.Body, post.Headers["Idempotency-Key"] = string(body), fmt.Sprintf("SEC-4242-%d-%d", len(accounts), time.Now().UnixNano())
	caller := h.Clock.Go("caller")
	defer caller.Done()
	start := h.Clock.Now()
	res, err := h.API().Handle(simtime.WithActor(ctx, caller), post)
	took := h.Clock.Now().Sub(start)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 202 {
		t.Fatalf("POST /requests for %d accounts: %d %s", len(accounts), res.StatusCode, res.Body)
	}
	return res.StatusCode, took
}

// atDocumentedRates puts the harness's members under five OUs, makes Organizations throttle
// each operation as AWS documents and answer each call after latency, with the functions pacing
// under the same rates, until the test ends.
func atDocumentedRates(t testing.TB, latency time.Duration) {
	t.Helper()
	ous := make([]string, 5)
	for i := range ous {
		ous[i] = fmt.Sprintf("ou-ex01-rates%03d", i)
		h.Org.AddOU(ous[i], h.Org.Root(), orgemu.FullAWSAccessID)
	}
	for i, id := range h.Members() {
		h.Org.MoveAccount(id, ous[i%len(ous)])
	}
	undo, err := h.AtDocumentedRates(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Org.SetLatency(latency)
	t.Cleanup(func() {
		h.Org.SetLatency(0)
		for _, id := range h.Members() {
			h.Org.MoveAccount(id, h.Org.Root())
		}
		if err := undo(); err != nil {
			t.Error(err)
		}
	})
}

// Fifty accounts through the API at Organizations' documented rates, one call in flight at a time
// (the harness's functions make their calls one after another, which is slower than the four at
// once they make in AWS), each call answered at once or after 100 ms: the API answers within API
// Gateway's 29 seconds of virtual time with at least 5 s to spare, nothing is throttled, and
// with no latency the time is the documented rates' own bound within 10%. The discrete-event
// clock makes this a test of the design (the calls made, the rates they are paced under), not of
// this machine's speed.
func TestFiftyAccountsAreAdmittedWithinTheGatewaysTimeout(t *testing.T) {
	for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
		t.Run(fmt.Sprintf("latency=%v", latency), func(t *testing.T) {
			begin(t)
			atDocumentedRates(t, latency)
			_, took := admit(context.Background(), t, h.Members()[:50])
			calls := h.Org.Calls()
			throttled := h.Org.CountCalls("", "TooManyRequestsException")
			bound := time.Duration(orgemu.RateBound(calls) * float64(time.Second))
			t.Logf("50 accounts admitted in %v of virtual time: %d Organizations calls, %d throttled; the documented rates' bound %v",
				took.Round(time.Millisecond), len(calls), throttled, bound.Round(time.Millisecond))
			if spare := gatewayTimeout - took; spare < 5*time.Second {
				t.Errorf("50 accounts took %v to admit: %v short of API Gateway's %v, want at least 5 s to spare", took.Round(time.Millisecond), spare.Round(time.Millisecond), gatewayTimeout)
			}
			if throttled > 0 {
				t.Errorf("%d calls throttled: the functions do not pace under the documented rates", throttled)
			}
			if latency == 0 && took > bound*11/10 {
				t.Errorf("with no latency, %v to admit: over 1.1 × the documented rates' bound of %v", took.Round(time.Millisecond), bound.Round(time.Millisecond))
			}
		})
	}
}

// A request whose admission takes seconds (ten accounts at the documented throttles, 100 ms a
// call) runs: its record is created as of when the request was read, and its execution's
// Validate reads the request again as of then. (Created when the reservation was written, the
// record's start, "now" when read, was seconds before its creation, so Validate found the
// execution's request different from the record's and refused it.)
func TestASlowAdmissionsWindowOpensAndCloses(t *testing.T) {
	s := begin(t)
	atDocumentedRates(t, 100*time.Millisecond)
	_, took := admit(context.Background(), t, h.Members()[:10])
	if took < time.Second {
		t.Fatalf("admitted in %v: not slow enough to show anything", took)
	}
	executions := h.AWS.Executions()
	id := executions[len(executions)-1].Name
	res, err := h.RunStarted(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCEEDED" || s.record(id).Status != ledger.Closed {
		t.Errorf("admitted in %v, then the execution %s %s: %s", took, res.Status, res.Error, res.Cause)
	}
}
