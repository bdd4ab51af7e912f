package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Subscription is one SNS subscription made with Subscribe (pending confirmation), or set with
// AddSubscription.
type Subscription struct {
	TopicARN, Protocol, Endpoint string
	// FilterPolicy is on message attributes (FilterPolicyScope MessageAttributes): each key's
	// attribute must equal one of its values; nil delivers every message.
	FilterPolicy map[string][]string
	// Confirmed says the endpoint confirmed it; Authenticated, that the confirmation was an
	// AWS-signed ConfirmSubscription with AuthenticateOnUnsubscribe (so only AWS principals can
	// unsubscribe it, not a link in a message).
	Confirmed, Authenticated bool
}

// arn is the subscription's ARN once confirmed, as ListSubscriptionsByTopic shows it: SNS shows
// "PendingConfirmation" until then.
func (sub Subscription) arn(i int) string {
	if !sub.Confirmed {
		return "PendingConfirmation"
	}
	return fmt.Sprintf("%s:sub-%04d", sub.TopicARN, i)
}

// AddSubscription records a subscription made elsewhere (CloudFormation's, the operators').
func (s *Server) AddSubscription(sub Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, sub)
}

// listSubscriptionsByTopic answers ListSubscriptionsByTopic, one page (SNS pages by 100).
func (s *Server) listSubscriptionsByTopic(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for i, sub := range s.subs {
		if sub.TopicARN == form.Get("TopicArn") {
			fmt.Fprintf(&b, `<member><TopicArn>%s</TopicArn><Protocol>%s</Protocol><SubscriptionArn>%s</SubscriptionArn><Owner>999999999999</Owner><Endpoint>%s</Endpoint></member>`,
				xmlText(sub.TopicARN), xmlText(sub.Protocol), xmlText(sub.arn(i)), xmlText(sub.Endpoint))
		}
	}
	fmt.Fprintf(w, `<ListSubscriptionsByTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListSubscriptionsByTopicResult><Subscriptions>%s</Subscriptions></ListSubscriptionsByTopicResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></ListSubscriptionsByTopicResponse>`, b.String())
}

// getSubscriptionAttributes answers GetSubscriptionAttributes for a confirmed subscription.
func (s *Server) getSubscriptionAttributes(w http.ResponseWriter, form url.Values, queryError func(int, string, string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sub := range s.subs {
		if sub.Confirmed && sub.arn(i) == form.Get("SubscriptionArn") {
			attr := func(k, v string) string {
				return fmt.Sprintf(`<entry><key>%s</key><value>%s</value></entry>`, k, xmlText(v))
			}
			fmt.Fprintf(w, `<GetSubscriptionAttributesResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><GetSubscriptionAttributesResult><Attributes>%s%s%s%s</Attributes></GetSubscriptionAttributesResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></GetSubscriptionAttributesResponse>`,
				attr("ConfirmationWasAuthenticated", fmt.Sprint(sub.Authenticated)), attr("PendingConfirmation", "false"),
				attr("Protocol", sub.Protocol), attr("Endpoint", sub.Endpoint))
			return
		}
	}
	queryError(http.StatusNotFound, "NotFound", "no such subscription")
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
