package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// Subscription is one SNS subscription made with Subscribe.
type Subscription struct {
	TopicARN, Protocol, Endpoint string
	// FilterPolicy is on message attributes (FilterPolicyScope MessageAttributes): each key's
	// attribute must equal one of its values; nil delivers every message.
	FilterPolicy map[string][]string
}

func (s *Server) subscribe(w http.ResponseWriter, form url.Values, queryError func(int, string, string)) {
	sub := Subscription{TopicARN: form.Get("TopicArn"), Protocol: form.Get("Protocol"), Endpoint: form.Get("Endpoint")}
	if sub.TopicARN == "" || sub.Protocol == "" || sub.Endpoint == "" {
		queryError(http.StatusBadRequest, "InvalidParameter", "Subscribe needs TopicArn, Protocol and Endpoint")
		return
	}
	for i := 1; form.Get(fmt.Sprintf("Attributes.entry.%d.key", i)) != ""; i++ {
		k, v := form.Get(fmt.Sprintf("Attributes.entry.%d.key", i)), form.Get(fmt.Sprintf("Attributes.entry.%d.value", i))
		switch {
		case k == "FilterPolicy":
			if err := json.Unmarshal([]byte(v), &sub.FilterPolicy); err != nil {
				queryError(http.StatusBadRequest, "InvalidParameter", "FilterPolicy: only exact string values are emulated")
				return
			}
		case k == "FilterPolicyScope" && v != "MessageAttributes":
			queryError(http.StatusBadRequest, "InvalidParameter", "only FilterPolicyScope MessageAttributes is emulated")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.subs, func(o Subscription) bool {
		return o.TopicARN == sub.TopicARN && o.Protocol == sub.Protocol && o.Endpoint == sub.Endpoint
	}) {
		s.subs = append(s.subs, sub)
	}
	// An email or https endpoint must confirm its subscription first.
	fmt.Fprint(w, `<SubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><SubscribeResult><SubscriptionArn>pending confirmation</SubscriptionArn></SubscribeResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></SubscribeResponse>`)
}

// Subscriptions are the subscriptions made so far.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Subscription(nil), s.subs...)
}

// Delivered are the messages published to sub's topic that its filter policy lets through.
func (s *Server) Delivered(sub Subscription) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.TopicARN != sub.TopicARN {
			continue
		}
		match := true
		for k, allowed := range sub.FilterPolicy {
			v, ok := m.Attributes[k]
			match = match && ok && slices.Contains(allowed, v)
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}
