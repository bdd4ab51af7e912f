package request_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rootwindow/rootwindow/pkg/request"
)

// seeds are the requests in events/ and a few near misses.
func seeds(f *testing.F) {
	dir := filepath.Join("..", "..", "events")
	for _, name := range []string{"stepfunctions-input.json", "validate.json", "eventbridge-request.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			f.Fatal(err)
		}
		for _, k := range []string{"request", "detail"} {
			if r, ok := doc[k]; ok {
				f.Add(string(r))
			}
		}
		if in, ok := doc["input"]; ok {
			var env map[string]json.RawMessage
			_ = json.Unmarshal(in, &env)
			f.Add(string(env["request"]))
		}
	}
	for _, s := range []string{
		`{"accountIds":["111111111111"],"hours":1,"reason":"r","requester":"a@example.com"}`,
		`{"accountIds":["111111111111","111111111111"],"hours":4,"startAt":"2026-11-23T11:00:00+01:00","reason":"r","requester":"a"}`,
		`{"accountIds":[],"hours":0,"reason":"","requester":""}`,
		`{"hours":1.5}`, `{"hours":"2"}`, `{"hour":2}`, `[]`, `null`, `{"reason":"\u0000"}`, `{"a":1,"a":2}`,
	} {
		f.Add(s)
	}
}

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// FuzzParse: any document either passes with a normalised request that parses again to itself,
// or fails with problems that each name a field and say why. Nothing panics.
func FuzzParse(f *testing.F) {
	seeds(f)
	policy := request.Policy{Now: now}
	f.Fuzz(func(t *testing.T, doc string) {
		r, err := request.Parse([]byte(doc), policy)
		if err != nil {
			probs, ok := err.(*request.Problems)
			if !ok || len(*probs) == 0 {
				t.Fatalf("error %T %v is not a list of problems", err, err)
			}
			for _, p := range *probs {
				if p.Field == "" || p.Message == "" || !utf8.ValidString(p.Message) {
					t.Fatalf("problem without field or message: %+v", p)
				}
			}
			return
		}
		if len(r.AccountIDs) == 0 || len(r.AccountIDs) > request.DefaultMaxAccounts || !slices.IsSorted(r.AccountIDs) || len(slices.Compact(slices.Clone(r.AccountIDs))) != len(r.AccountIDs) {
			t.Fatalf("accounts %v", r.AccountIDs)
		}
		for _, id := range r.AccountIDs {
			if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
				t.Fatalf("account %q", id)
			}
		}
		if r.Hours < request.MinHours || r.Hours > request.MaxHours {
			t.Fatalf("hours %d", r.Hours)
		}
		if r.StartAt.Location() != time.UTC || !r.StartAt.Equal(r.StartAt.Truncate(time.Second)) || r.StartAt.Before(now.Truncate(time.Second)) ||
			r.StartAt.After(now.Add(request.DefaultBookingHorizon)) {
			t.Fatalf("startAt %v", r.StartAt)
		}
		if strings.TrimSpace(r.Reason) == "" || utf8.RuneCountInString(r.Reason) > request.MaxReasonRunes || r.Requester == "" {
			t.Fatalf("reason %q requester %q", r.Reason, r.Requester)
		}
		again, err := json.Marshal(map[string]any{
			"accountIds": r.AccountIDs, "hours": r.Hours, "startAt": r.StartAt.Format(time.RFC3339), "reason": r.Reason, "requester": r.Requester,
		})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := request.Parse(again, policy)
		if err != nil || !slices.Equal(r2.AccountIDs, r.AccountIDs) || r2.Hours != r.Hours || !r2.StartAt.Equal(r.StartAt) || r2.Reason != r.Reason || r2.Requester != r.Requester {
			t.Fatalf("normalised request does not parse to itself: %v\n%+v\n%+v", err, r, r2)
		}
	})
}
