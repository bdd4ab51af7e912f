package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/awsemu"
)

// A requester subscribes an address to the notifications about their own requests: the
// subscription's filter policy is rootwindow's, on the requester attribute, and delivers alice's
// requests to alice and nobody else's.
func TestRequesterSubscribesToTheirOwnRequests(t *testing.T) {
	e := newEnv(t)
	sub := func(caller, body string) answer {
		r := post(t, caller, body)
		r.Resource, r.Path = "/subscriptions", "/subscriptions"
		return e.call(t, r)
	}
	for _, tt := range []struct {
		caller, body string
		status       int
		want         string
	}{
		{mallory, `{"protocol":"email","endpoint":"m@example.com"}`, http.StatusForbidden, "only administrators"},
		{alice, `{"protocol":"sms","endpoint":"+15555550100"}`, http.StatusBadRequest, `"field":"protocol"`},
		{alice, `{"protocol":"email","endpoint":"alice@example.com\n"}`, http.StatusBadRequest, "is not an email address"},
		{alice, `{"protocol":"https","endpoint":"http://hooks.example.com/x"}`, http.StatusBadRequest, "is not an https URL"},
		{alice, `{"protocol":"https","endpoint":"https://user:pw@hooks.example.com/x"}`, http.StatusBadRequest, "without credentials"},
		{alice, `{"protocol":"email","endpoint":"alice@example.com","filterPolicy":{}}`, http.StatusBadRequest, "filterPolicy is not a key here"},
		{alice, `{"protocol":"email","endpoint":"a@example.com","protocol":"https"}`, http.StatusBadRequest, "protocol appears more than once"},
	} {
		if a := sub(tt.caller, tt.body); a.status != tt.status || !strings.Contains(a.raw, tt.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tt.caller, tt.body, a.status, a.raw, tt.status, tt.want)
		}
	}
	if n := len(e.emu.Subscriptions()); n != 0 {
		t.Fatalf("%d subscriptions made by refused calls", n)
	}
	a := sub(alice, `{"protocol":"email","endpoint":"alice@example.com"}`)
	if a.status != http.StatusOK || a.body["subscriptionArn"] != "pending confirmation" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	subs := e.emu.Subscriptions()
	if len(subs) != 1 || subs[0].Protocol != "email" || subs[0].Endpoint != "alice@example.com" || strings.Join(subs[0].FilterPolicy["requester"], ",") != alice || len(subs[0].FilterPolicy) != 1 {
		t.Fatalf("subscriptions %+v", subs)
	}
	// alice's request and bob's: only alice's reach her address; the operators get both.
	e.accept(t, members[0])
	e.org.SetTag(members[1], "owner", "bob@example.com")
	r := post(t, bob, request(members[1]))
	if a := e.call(t, r); a.status != http.StatusAccepted {
		t.Fatalf("bob's request: %d %s", a.status, a.raw)
	}
	delivered := e.emu.Delivered(subs[0])
	all := e.emu.Delivered(awsemu.Subscription{TopicARN: subs[0].TopicARN})
	if len(delivered) == 0 || len(all) <= len(delivered) {
		t.Fatalf("delivered %d of %d", len(delivered), len(all))
	}
	for _, m := range delivered {
		if m.Attributes["requester"] != alice || strings.Contains(m.Body, "bob@example.com") {
			t.Errorf("alice received %q (%v)", m.Subject, m.Attributes)
		}
	}
}
