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
		{alice, `{"protocol":"https","endpoint":"https://user:pw@hooks.example.com/x"}`, http.StatusBadRequest, "holds user information"},
		{alice, `{"protocol":"email","endpoint":"alice@example.com","filterPolicy":{}}`, http.StatusBadRequest, "filterPolicy is not a key here"},
		{alice, `{"protocol":"email","endpoint":"a@example.com","protocol":"https"}`, http.StatusBadRequest, "protocol appears more than once"},
		// Notifications go to names only: no IP literal in any of its forms, no host that is not
		// ASCII (a look-alike), no port out of range.
		{alice, `{"protocol":"https","endpoint":"https://127.0.0.1/x"}`, http.StatusBadRequest, "is an IP address"},
		{alice, `{"protocol":"https","endpoint":"https://10.0.0.8/x"}`, http.StatusBadRequest, "is an IP address"},
		{alice, `{"protocol":"https","endpoint":"https://169.254.169.254/latest/meta-data/"}`, http.StatusBadRequest, "is an IP address"},
		{alice, `{"protocol":"https","endpoint":"https://0x7f.0x0.0x0.0x1/x"}`, http.StatusBadRequest, "is an IP address"},
		{alice, `{"protocol":"https","endpoint":"https://2130706433/x"}`, http.StatusBadRequest, "is not a DNS host name"},
		{alice, `{"protocol":"https","endpoint":"https://[::1]/x"}`, http.StatusBadRequest, "is not a DNS host name"},
		{alice, `{"protocol":"https","endpoint":"https://localhost/x"}`, http.StatusBadRequest, "is not a DNS host name"},
		{alice, `{"protocol":"https","endpoint":"https://hooks.exаmple.com/x"}`, http.StatusBadRequest, "punycode"},
		{alice, `{"protocol":"https","endpoint":"https://hooks.example.com:70000/x"}`, http.StatusBadRequest, "not one from 1 to 65535"},
		{alice, `{"protocol":"https","endpoint":"https://hooks.example.com:0/x"}`, http.StatusBadRequest, "not one from 1 to 65535"},
		{alice, `{"protocol":"https","endpoint":"https://-bad-.example.com/x"}`, http.StatusBadRequest, "is not a DNS host name"},
		{alice, `{"protocol":"email","endpoint":"alice@10.0.0.8"}`, http.StatusBadRequest, "is an IP address"},
		{alice, `{"protocol":"email","endpoint":"alice@exаmple.com"}`, http.StatusBadRequest, "punycode"},
		{alice, `{"protocol":"email","endpoint":"al ice@example.com"}`, http.StatusBadRequest, "is not an email address"},
		{alice, `{"protocol":"email","endpoint":"alice..x@example.com"}`, http.StatusBadRequest, "is not an email address"},
	} {
		if a := sub(tt.caller, tt.body); a.status != tt.status || !strings.Contains(a.raw, tt.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tt.caller, tt.body, a.status, a.raw, tt.status, tt.want)
		}
	}
	if n := len(e.emu.Subscriptions()); n != 0 {
		t.Fatalf("%d subscriptions made by refused calls", n)
	}
	for _, ok := range []string{`{"protocol":"https","endpoint":"https://hooks.xn--exmple-cua.com:8443/rootwindow?x=1"}`, `{"protocol":"email","endpoint":"alice+rootwindow@mail.example.co.uk"}`} {
		if a := sub(alice, ok); a.status != http.StatusOK {
			t.Errorf("%s: %d %s", ok, a.status, a.raw)
		}
	}
	e.emu.Reset()
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
