// Package rootevents reads what member accounts' root users did from where an organization's
// management events are kept, as window.RootActivity: a CloudTrail Lake event data store (Lake,
// lake.go) or the CloudWatch Logs log group an organization trail delivers to (Insights,
// insights.go). Only the sweeper, which makes window reports and looks for root activity outside
// windows, links it.
//
// Both answer a query asynchronously: it is started, then its results are asked for until it
// has finished. The statement is printed in every report so that a person can run it again.
package rootevents

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// columns are what a report shows of each event, as CloudTrail names its fields.
var columns = []string{"eventID", "eventTime", "recipientAccountId", "eventName", "eventSource", "awsRegion", "errorCode", "errorMessage", "sourceIPAddress",
	"userIdentity.accessKeyId"}

// quoted checks that accounts are account IDs (nothing else reaches a statement) and quotes them
// with q.
func quoted(accounts []string, q string) ([]string, error) {
	out := make([]string, len(accounts))
	for i, a := range accounts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return nil, fmt.Errorf("account ID %q is not 12 digits", a)
		}
		out[i] = q + a + q
	}
	return out, nil
}

// poller waits between looks at a running query, within a patience counted, not read off a
// clock (the caller's clock may be a test's).
type poller struct {
	sleep    func(ctx context.Context, d time.Duration) error
	patience time.Duration
	waited   time.Duration
	wait     time.Duration
}

// again waits before the next look at query id, still status; an error once patience is spent.
func (p *poller) again(ctx context.Context, what, id, status string) error {
	if p.waited >= p.patience {
		return fmt.Errorf("%s query %s still %s after %s: asked again at the next sweep", what, id, status, p.patience)
	}
	if p.wait == 0 {
		p.wait = time.Second
	}
	if err := p.sleep(ctx, p.wait); err != nil {
		return err
	}
	p.waited += p.wait
	p.wait = min(p.wait*3/2, 5*time.Second)
	return nil
}

// event reads one result row, by field name; a field whose value is null may be left out.
func event(v map[string]string) (contract.RootEvent, error) {
	at, err := parseTime(v["eventTime"])
	if err != nil || v["eventID"] == "" || v["recipientAccountId"] == "" {
		return contract.RootEvent{}, errors.New("a row without its event's ID, time or account")
	}
	e := contract.RootEvent{EventID: v["eventID"], Time: at, AccountID: v["recipientAccountId"], Name: v["eventName"], Source: v["eventSource"],
		Region: v["awsRegion"], Error: v["errorCode"], SourceIP: v["sourceIPAddress"],
		// A nested field's column: Logs Insights names it by its path; Lake may by its last part.
		AccessKeyID: cmp.Or(v["userIdentity.accessKeyId"], v["accessKeyId"])}
	if e.Error == "" {
		e.Error = v["errorMessage"] // a failed ConsoleLogin has a message and no code
	}
	return e, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.000", time.DateTime, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("event time %q", s)
}

// regionOf is the Region an ARN names ("" when it names none).
func regionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 {
		return parts[3]
	}
	return ""
}

// FromConfig is the source of root activity a deployment configured (trailEventDataStoreArn or
// trailLogGroupArn; nil for neither), with clients of cfg sent to endpoint(service ID) when it
// names one, waiting between polls with sleep.
func FromConfig(cfg aws.Config, endpoint func(serviceID string) *string, storeARN, groupARN string, sleep func(context.Context, time.Duration) error) window.RootActivity {
	switch {
	case storeARN != "":
		return LakeFromConfig(cfg, endpoint("CloudTrail"), storeARN, sleep)
	case groupARN != "":
		return InsightsFromConfig(cfg, endpoint("CloudWatch Logs"), groupARN, sleep)
	}
	return nil
}
