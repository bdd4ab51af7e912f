package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

var (
	db     testenv.DB
	tables atomic.Int32
)

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithDynamoDB(m, func(c testenv.DB) { db = c }))
}

// newStore gives each test its own table on the package's dynalite.
func newStore(t *testing.T, now time.Time) *ledger.Store {
	t.Helper()
	name := fmt.Sprintf("ledger-%d", tables.Add(1))
	testenv.LedgerTable(t, db, name)
	return ledger.New(db, name, func() time.Time { return now }, nil)
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func record(id string, accounts ...string) ledger.Record {
	return ledger.Record{
		RequestID: id, Fields: request.Fields{Requester: "alice@example.com", Reason: "rotate root MFA (SEC-1)",
			AccountIDs: accounts, Hours: 2, StartAt: t0}, Origin: contract.Origin{Channel: "stepfunctions"},
	}
}

func TestReserveRecordsAndLeases(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	rec, err := s.Reserve(ctx, record("req-1", "111111111111", "222222222222"), "rootwindow:validate")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != ledger.Scheduled {
		t.Errorf("status %s", rec.Status)
	}
	got, err := s.Get(ctx, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	want := record("req-1", "111111111111", "222222222222")
	want.Status, want.CreatedAt = ledger.Scheduled, t0
	want.History = []ledger.Transition{{Status: ledger.Scheduled, At: t0, Actor: "rootwindow:validate", Note: "validated"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored record:\n got %+v\nwant %+v", got, want)
	}
	leases, err := s.Leases(ctx, []string{"111111111111", "222222222222", "333333333333"})
	if err != nil {
		t.Fatal(err)
	}
	wantLeases := map[string]ledger.Lease{
		"111111111111": {AccountID: "111111111111", RequestID: "req-1", Until: t0.Add(2 * time.Hour)},
		"222222222222": {AccountID: "222222222222", RequestID: "req-1", Until: t0.Add(2 * time.Hour)},
	}
	if !reflect.DeepEqual(leases, wantLeases) {
		t.Errorf("leases %v", leases)
	}
	// Reserving again (a retried Lambda) changes nothing.
	again, err := s.Reserve(ctx, record("req-1", "111111111111", "222222222222"), "rootwindow:validate")
	if err != nil || len(again.History) != 1 {
		t.Errorf("repeat reserve: %v %+v", err, again)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("missing request: %v", err)
	}
}

func TestConflictNamesTheHolder(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	if _, err := s.Reserve(ctx, record("req-1", "111111111111"), "v"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Reserve(ctx, record("req-2", "111111111111", "222222222222"), "v")
	var cerr *ledger.ConflictError
	if !errors.As(err, &cerr) {
		t.Fatalf("want a conflict, got %v", err)
	}
	want := "111111111111 already has a window: request req-1 holds it until 2026-11-23T12:00:00Z"
	if cerr.Error() != want {
		t.Errorf("got %q\nwant %q", cerr.Error(), want)
	}
	leases, _ := s.Leases(ctx, []string{"111111111111", "222222222222"})
	if leases["111111111111"].RequestID != "req-1" || len(leases) != 1 {
		t.Errorf("leases after the conflict: %v (req-2 must hold nothing)", leases)
	}
	rec, _ := s.Get(ctx, "req-2")
	if rec.Status != ledger.Rejected || rec.History[1].Note != want {
		t.Errorf("req-2 recorded as %+v", rec)
	}
	// Once req-1 releases its lease, the account is free again.
	if err := s.Release(ctx, "req-1", []string{"111111111111"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, record("req-3", "111111111111"), "v"); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestReleaseLeavesOthersLeases(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	if _, err := s.Reserve(ctx, record("req-1", "111111111111"), "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "req-other", []string{"111111111111"}); err != nil {
		t.Fatal(err)
	}
	leases, _ := s.Leases(ctx, []string{"111111111111"})
	if leases["111111111111"].RequestID != "req-1" {
		t.Errorf("another request released req-1's lease: %v", leases)
	}
}

func TestTransitionsOnlyMoveForward(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	if _, err := s.Reserve(ctx, record("req-1", "111111111111"), "v"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to     ledger.Status
		change ledger.Change
	}{
		{ledger.Opening, ledger.Change{}},
		{ledger.Open, ledger.Change{OpenedAt: t0, RestoreAt: t0.Add(2 * time.Hour)}},
		{ledger.Closing, ledger.Change{}},
		{ledger.Closed, ledger.Change{ClosedAt: t0.Add(2 * time.Hour)}},
	}
	for _, st := range steps {
		if _, err := s.Transition(ctx, "req-1", st.to, "rootwindow:test", "", st.change); err != nil {
			t.Fatalf("to %s: %v", st.to, err)
		}
	}
	// Repeating the last move is a no-op.
	rec, err := s.Transition(ctx, "req-1", ledger.Closed, "rootwindow:test", "", ledger.Change{})
	if err != nil || len(rec.History) != 5 {
		t.Fatalf("repeat: %v, %d history entries", err, len(rec.History))
	}
	if rec.OpenedAt != t0 || rec.RestoreAt != t0.Add(2*time.Hour) || rec.ClosedAt != t0.Add(2*time.Hour) {
		t.Errorf("times not recorded: %+v", rec)
	}
	for _, back := range []ledger.Status{ledger.Open, ledger.Opening, ledger.Cancelled, ledger.Failed, ledger.Closing} {
		_, err := s.Transition(ctx, "req-1", back, "x", "", ledger.Change{})
		var terr *ledger.TransitionError
		if !errors.As(err, &terr) || terr.Current != ledger.Closed {
			t.Errorf("CLOSED → %s: want a TransitionError, got %v", back, err)
		}
	}
	if _, err := s.Transition(ctx, "missing", ledger.Opening, "x", "", ledger.Change{}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("missing request: %v", err)
	}
}

func TestCancelRacesOpening(t *testing.T) {
	for i := range 10 {
		s := newStore(t, t0)
		ctx := context.Background()
		id := fmt.Sprintf("race-%d", i)
		if _, err := s.Reserve(ctx, record(id, "111111111111"), "v"); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, to := range []ledger.Status{ledger.Opening, ledger.Cancelled} {
			wg.Go(func() {
				if _, err := s.Transition(ctx, id, to, "x", "", ledger.Change{}); err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of OPENING and CANCELLED won; exactly one must", wins.Load())
		}
	}
}

func TestConcurrentReservationsForOneAccount(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	const n = 20
	var accepted, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.Reserve(ctx, record(fmt.Sprintf("req-%d", i), "111111111111", "222222222222"), "v")
			var cerr *ledger.ConflictError
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.As(err, &cerr):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Two requests can each take one of the two accounts and both be refused, so at most one wins.
	if accepted.Load() > 1 || accepted.Load()+conflicts.Load() != n {
		t.Fatalf("accepted %d, conflicts %d of %d", accepted.Load(), conflicts.Load(), n)
	}
	leases, _ := s.Leases(ctx, []string{"111111111111", "222222222222"})
	if accepted.Load() == 1 && (len(leases) != 2 || leases["111111111111"].RequestID != leases["222222222222"].RequestID) {
		t.Errorf("the winner must hold both accounts: %v", leases)
	}
	if accepted.Load() == 0 && len(leases) != 0 {
		t.Errorf("no winner, yet leases remain: %v", leases)
	}
}

func TestDuplicateRequestID(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	if _, err := s.Reserve(ctx, record("req-1", "111111111111"), "v"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Reserve(ctx, record("req-1", "222222222222"), "v")
	var derr *ledger.DuplicateError
	if !errors.As(err, &derr) {
		t.Fatalf("want DuplicateError, got %v", err)
	}
}

func TestRejectionRecordedOnce(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	rec := record("req-9", "111111111111")
	rec.Problems = []string{"hours: must be from 1 to 4, got 5"}
	for range 2 {
		got, err := s.RecordRejection(ctx, rec, "rootwindow:validate")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ledger.Rejected || got.RequestID != "req-9" {
			t.Fatalf("RecordRejection returned %+v", got)
		}
	}
	got, _ := s.Get(ctx, "req-9")
	if got.Status != ledger.Rejected || !reflect.DeepEqual(got.Problems, rec.Problems) || len(got.History) != 1 {
		t.Errorf("got %+v", got)
	}
	leases, _ := s.Leases(ctx, []string{"111111111111"})
	if len(leases) != 0 {
		t.Errorf("a rejected request holds leases: %v", leases)
	}
}

func TestValidRequestID(t *testing.T) {
	for _, ok := range []string{"a", "req-1_X", "01J9ZQ7V5Q2K3N4M5P6R7S8T9V"} {
		if err := ledger.ValidRequestID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "has space", "semi;colon", string(make([]byte, 81))} {
		if err := ledger.ValidRequestID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestListNewestFirstFilteredAndPaged(t *testing.T) {
	now := t0
	name := fmt.Sprintf("ledger-%d", tables.Add(1))
	testenv.LedgerTable(t, db, name)
	s := ledger.New(db, name, func() time.Time { return now }, nil)
	ctx := context.Background()
	// Eight requests a minute apart: even ones on account 1, odd ones on 2; req-3 cancelled.
	for i := range 8 {
		now = t0.Add(time.Duration(i) * time.Minute)
		account := []string{"111111111111", "222222222222"}[i%2]
		id := fmt.Sprintf("req-%d", i)
		if _, err := s.Reserve(ctx, record(id, account), "v"); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, id, []string{account}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Transition(ctx, "req-3", ledger.Cancelled, "v", "", ledger.Change{}); err != nil {
		t.Fatal(err)
	}
	ids := func(recs []ledger.Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.RequestID)
		}
		return out
	}
	var all []string
	token := ""
	for page := 0; ; page++ {
		recs, next, err := s.List(ctx, ledger.Filter{AccountID: "222222222222"}, 3, token)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(recs)...)
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("the listing never ends")
		}
		token = next
	}
	if want := []string{"req-7", "req-5", "req-3", "req-1"}; !reflect.DeepEqual(all, want) {
		t.Errorf("account 2, three a page: %v, want %v", all, want)
	}
	recs, _, err := s.List(ctx, ledger.Filter{Status: ledger.Cancelled}, 10, "")
	if err != nil || !reflect.DeepEqual(ids(recs), []string{"req-3"}) {
		t.Errorf("cancelled ones: %v, %v", ids(recs), err)
	}
	recs, next, err := s.List(ctx, ledger.Filter{}, 2, "")
	if err != nil || !reflect.DeepEqual(ids(recs), []string{"req-7", "req-6"}) || next == "" {
		t.Errorf("first page of all: %v next %q, %v", ids(recs), next, err)
	}
	for _, bad := range []string{"x", "eyJhIjoiYiJ9", next + "A"} {
		if _, _, err := s.List(ctx, ledger.Filter{}, 2, bad); !errors.Is(err, ledger.ErrBadPageToken) {
			t.Errorf("token %q: want ErrBadPageToken, got %v", bad, err)
		}
	}
}

func TestClaimEventOnce(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	for _, c := range []struct{ request, want string }{
		{"exec-1", "exec-1"}, // first delivery
		{"exec-1", "exec-1"}, // the same execution again (a retry)
		{"exec-2", "exec-1"}, // a second delivery, as another execution
	} {
		got, err := s.ClaimEvent(ctx, "8f6b1c2e-0000-4000-8000-000000000001", c.request)
		if err != nil || got != c.want {
			t.Errorf("claim as %s: got %q, %v; want %q", c.request, got, err, c.want)
		}
	}
}

func TestNotifiedAndRestoreFailedAreKept(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	if _, err := s.Reserve(ctx, record("req-1", "111111111111"), "v"); err != nil {
		t.Fatal(err)
	}
	for _, kinds := range [][]string{{"Scheduled"}, {"Scheduled", "Opened"}} {
		if err := s.MarkNotified(ctx, "req-1", kinds); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := s.MarkRestoreFailed(ctx, "req-1", "AccessDenied")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "req-1")
	sort.Strings(got.Notified)
	if !reflect.DeepEqual(got.Notified, []string{"Opened", "Scheduled"}) || !got.RestoreFailedAt.Equal(t0) ||
		got.LastError != "AccessDenied" || got.Status != ledger.Scheduled || !rec.RestoreFailedAt.Equal(t0) {
		t.Errorf("got %+v", got)
	}
	leases, _ := s.Leases(ctx, []string{"111111111111"})
	if leases["111111111111"].RequestID != "req-1" {
		t.Errorf("a failed restore must keep the lease: %v", leases)
	}
	if _, err := s.MarkRestoreFailed(ctx, "nope", "x"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}
}

func TestAllLeases(t *testing.T) {
	s := newStore(t, t0)
	ctx := context.Background()
	if leases, err := s.AllLeases(ctx); err != nil || len(leases) != 0 {
		t.Fatalf("empty ledger: %v %v", leases, err)
	}
	for i, accounts := range [][]string{{"111111111111", "222222222222"}, {"333333333333"}} {
		if _, err := s.Reserve(ctx, record(fmt.Sprintf("req-%d", i), accounts...), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release(ctx, "req-0", []string{"111111111111"}); err != nil {
		t.Fatal(err)
	}
	leases, err := s.AllLeases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range leases {
		got[l.AccountID] = l.RequestID
		if !l.Until.Equal(t0.Add(2 * time.Hour)) {
			t.Errorf("lease %+v", l)
		}
	}
	if !reflect.DeepEqual(got, map[string]string{"222222222222": "req-0", "333333333333": "req-1"}) {
		t.Errorf("leases %v", got)
	}
	// Requests are not leases, and leases are not requests.
	recs, _, _ := s.List(ctx, ledger.Filter{}, 10, "")
	if len(recs) != 2 {
		t.Errorf("listing shows %d requests", len(recs))
	}
}

// The guardrail's lock: one holder at a time; a holder past its time is taken over; only the
// holder releases it.
func TestLock(t *testing.T) {
	name := fmt.Sprintf("ledger-%d", tables.Add(1))
	testenv.LedgerTable(t, db, name)
	now := t0
	s := ledger.New(db, name, func() time.Time { return now }, nil)
	ctx := context.Background()
	release, err := s.Lock(ctx, "guardrail", "a", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "guardrail", "b", time.Minute, 0); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("a second holder: %v", err)
	}
	if again, err := s.Lock(ctx, "guardrail", "a", time.Minute, 0); err != nil || again == nil {
		t.Errorf("the holder again: %v", err)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	releaseB, err := s.Lock(ctx, "guardrail", "b", time.Minute, 0)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	// a's release again does not release b's lock.
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "guardrail", "c", time.Minute, 0); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("b's lock released by a: %v", err)
	}
	// b's time passes: c takes it over.
	now = now.Add(2 * time.Minute)
	if _, err := s.Lock(ctx, "guardrail", "c", time.Minute, 0); err != nil {
		t.Fatalf("take over: %v", err)
	}
	_ = releaseB
}

// A decision is recorded once, before the deadline, by someone other than the requester, on a
// request that waits for one; the token is kept only on such a request.
func TestApprovalDecisions(t *testing.T) {
	ctx := context.Background()
	now := t0
	name := fmt.Sprintf("ledger-%d", tables.Add(1))
	testenv.LedgerTable(t, db, name)
	s := ledger.New(db, name, func() time.Time { return now }, nil)
	asks := record("req-a", "111111111111")
	asks.ApproveBy = t0.Add(time.Hour)
	if _, err := s.Reserve(ctx, asks, "rootwindow:validate"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, record("req-plain", "222222222222"), "rootwindow:validate"); err != nil {
		t.Fatal(err)
	}
	var derr *ledger.DecisionError
	if _, err := s.SetApprovalToken(ctx, "req-plain", "tok"); !errors.As(err, &derr) || !strings.Contains(err.Error(), "does not wait for an approval") {
		t.Errorf("a token on a request that needs no approval: %v", err)
	}
	rec, err := s.SetApprovalToken(ctx, "req-a", "tok-1")
	if err != nil || rec.ApprovalToken != "tok-1" || !rec.AwaitsApproval() {
		t.Fatalf("%+v %v", rec, err)
	}
	if _, err := s.Decide(ctx, "req-a", "alice@example.com", true, ""); !errors.As(err, &derr) || !strings.Contains(err.Error(), "is yours") {
		t.Errorf("self-approval: %v", err)
	}
	if _, err := s.Decide(ctx, "req-plain", "bob@example.com", true, ""); !errors.As(err, &derr) {
		t.Errorf("a request that needs no approval: %v", err)
	}
	rec, err = s.Decide(ctx, "req-a", "bob@example.com", true, "checked SEC-1")
	if err != nil || rec.ApprovedBy != "bob@example.com" || !rec.ApprovedAt.Equal(t0) || rec.Decision != "checked SEC-1" || rec.AwaitsApproval() {
		t.Fatalf("approve: %+v %v", rec, err)
	}
	if last := rec.History[len(rec.History)-1]; last.Actor != "bob@example.com" || last.Note != "approved by bob@example.com: checked SEC-1" {
		t.Errorf("history %+v", last)
	}
	if again, err := s.Decide(ctx, "req-a", "bob@example.com", true, "checked SEC-1"); err != nil || len(again.History) != len(rec.History) {
		t.Errorf("the same approval again: %v", err)
	}
	if _, err := s.Decide(ctx, "req-a", "carol@example.com", false, "no"); !errors.As(err, &derr) || !strings.Contains(err.Error(), "already approved by bob@example.com") {
		t.Errorf("a second decision: %v", err)
	}
	late := record("req-late", "333333333333")
	late.ApproveBy = t0.Add(time.Hour)
	if _, err := s.Reserve(ctx, late, "rootwindow:validate"); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(time.Hour)
	if _, err := s.Decide(ctx, "req-late", "bob@example.com", false, ""); !errors.As(err, &derr) || !strings.Contains(err.Error(), "ran out") {
		t.Errorf("a decision at the deadline: %v", err)
	}
}
