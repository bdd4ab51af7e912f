package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/dynamofake"
	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
	rwrequest "github.com/rootwindow/rootwindow/pkg/request"
)

// Every field a requester asks with reaches every shape of a request: the execution input the
// API starts (read back by request.Parse, as Validate reads it), the ledger's item (written and
// read back), the API's view and the notifications' detail. The sample must set every field of
// request.Fields, so a field added there is checked here without touching this test's shapes.
func TestEveryShapeCarriesEveryField(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	asked := rwrequest.Fields{
		Requester: alice, Reason: "Delete the root user's old access key (SEC-77)",
		Task: "delete-root-credentials", WhyNotAssumeRoot: "the key must be deleted by hand from the console (SEC-77)",
		AccountIDs: []string{"111111111111", "222222222222"}, Hours: 1, StartAt: start, BreakGlass: true,
	}
	v := reflect.ValueOf(asked)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the sample leaves request.Fields.%s unset: set it, so that every shape is checked for it", v.Type().Field(i).Name)
		}
	}
	rec := ledger.Record{RequestID: "api-0123456789abcdef", Fields: asked, Status: ledger.Scheduled, CreatedAt: start.Add(-time.Hour),
		Origin:  contract.Origin{Channel: contract.ChannelAPI, Caller: alice},
		History: []ledger.Transition{{Status: ledger.Scheduled, At: start.Add(-time.Hour), Actor: "rootwindow:api", Note: "validated"}}}

	// The execution input, as Validate parses it.
	input, err := api.ExecutionInput(rec)
	if err != nil {
		t.Fatal(err)
	}
	var env contract.Envelope
	if err := json.Unmarshal(input, &env); err != nil {
		t.Fatal(err)
	}
	parsed, err := rwrequest.Parse(env.Request, rwrequest.Policy{AuthenticatedCaller: alice, Now: start, BreakGlass: true})
	if err != nil {
		t.Fatalf("the execution input does not parse: %v\n%s", err, input)
	}
	if !reflect.DeepEqual(parsed.Fields, asked) {
		t.Errorf("execution input read back as\n%+v\nwant\n%+v", parsed.Fields, asked)
	}

	// The ledger's item, written and read back.
	db := dynamofake.New()
	if err := ledger.CreateTable(context.Background(), db, "shapes"); err != nil {
		t.Fatal(err)
	}
	store := ledger.New(db, "shapes", func() time.Time { return start.Add(-time.Hour) }, nil)
	if _, err := store.Reserve(context.Background(), rec, "rootwindow:api"); err != nil {
		t.Fatal(err)
	}
	stored, err := store.Get(context.Background(), rec.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Fields, asked) {
		t.Errorf("the ledger read back\n%+v\nwant\n%+v", stored.Fields, asked)
	}

	// The API's view and the notifications' detail, as JSON: each carries every field's key and value.
	want := jsonFields(t, asked)
	for name, shape := range map[string]any{"the API's view": api.View(rec), "a notification's detail": notify.NewDetail(rec, notify.Scheduled)} {
		got := jsonFields(t, shape)
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s has %s = %v, want %v", name, k, got[k], v)
			}
		}
	}
}

func jsonFields(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
