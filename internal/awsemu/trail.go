package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// CloudTrail's event history, as far as rootwindow reads it: the management event each
// StartExecution call leaves, and each sts:AssumeRoot call (AWS JSON 1.1, LookupEvents by
// EventName). StartExecution calls this emulator serves are recorded under the identity of the
// access key that signed them (see Identify); executions run elsewhere are recorded with
// Started, AssumeRoot calls with AssumedRoot.

const trailTarget = "CloudTrail_20131101.LookupEvents"

// Identity is who CloudTrail says made a call.
type Identity struct {
	ARN       string // userIdentity.arn: a role session's ARN, or an IAM user's
	IssuerARN string // userIdentity.sessionContext.sessionIssuer.arn: the role, for a role session
}

// TrailEvent is one StartExecution or AssumeRoot call in the event history.
type TrailEvent struct {
	ID   string
	Time time.Time
	By   Identity
	// EventName is StartExecution or AssumeRoot.
	EventName string
	// A StartExecution call's execution, and its name.
	ExecutionARN string
	Name         string
	// An AssumeRoot call's member account (requestParameters.targetPrincipal) and the access
	// key ID of the credentials it gave (responseElements.credentials.accessKeyId).
	TargetAccount, AccessKeyID string
}

// Identify says who signs with accessKey (for the StartExecution calls this emulator serves).
func (s *Server) Identify(accessKey string, who Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identities == nil {
		s.identities = map[string]Identity{}
	}
	s.identities[accessKey] = who
}

// Started records a StartExecution call made by who, for an execution run elsewhere.
func (s *Server) Started(executionARN string, by Identity, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(executionARN, by, at)
}

// trailPage is CloudTrail's largest page of LookupEvents (MaxResults: 1 to 50, 50 by default).
const trailPage = 50

// SetTrailRate makes LookupEvents throttle (ThrottlingException) beyond perSecond calls a second,
// with a bucket of burst calls, refilled on the emulator's clock (SetClock): CloudTrail documents
// 2 a second per account and Region. Off (0) unless set: a suite of quick single lookups would
// otherwise be throttled by the wall clock.
func (s *Server) SetTrailRate(perSecond, burst float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailRate, s.trailBurst, s.trailTokens, s.trailRefill = perSecond, burst, burst, s.now()
}

// trailAdmits takes a token for one LookupEvents call, with s.mu held.
func (s *Server) trailAdmits() bool {
	if s.trailRate <= 0 {
		return true
	}
	now := s.now()
	s.trailTokens = min(s.trailBurst, s.trailTokens+now.Sub(s.trailRefill).Seconds()*s.trailRate)
	s.trailRefill = now
	if s.trailTokens < 1 {
		return false
	}
	s.trailTokens--
	return true
}

// DelayTrail makes the next n LookupEvents calls find nothing, as CloudTrail does until an
// event is delivered to the event history.
func (s *Server) DelayTrail(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailDelay = n
}

// AssumedRoot records an sts:AssumeRoot call made by who at at for the member account target,
// whose credentials had the access key ID accessKeyID.
func (s *Server) AssumedRoot(by Identity, target, accessKeyID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trail = append(s.trail, TrailEvent{ID: fmt.Sprintf("trail-%d", len(s.trail)+1), Time: at, By: by, EventName: "AssumeRoot",
		TargetAccount: target, AccessKeyID: accessKeyID})
}

// record runs with s.mu held.
func (s *Server) record(executionARN string, by Identity, at time.Time) {
	name := executionARN[strings.LastIndex(executionARN, ":")+1:]
	s.trail = append(s.trail, TrailEvent{ID: fmt.Sprintf("trail-%d", len(s.trail)+1), Time: at, By: by, EventName: "StartExecution",
		ExecutionARN: executionARN, Name: name})
}

// cloudTrailEvent is the event's record as CloudTrail keeps it (CloudTrailEvent), and its source.
func (e TrailEvent) cloudTrailEvent() (record []byte, source string) {
	identity := map[string]any{"type": "IAMUser", "arn": e.By.ARN}
	if e.By.IssuerARN != "" {
		identity = map[string]any{"type": "AssumedRole", "arn": e.By.ARN,
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": e.By.IssuerARN}}}
	}
	ev := map[string]any{
		"eventVersion": "1.09", "userIdentity": identity, "eventTime": e.Time.UTC().Format(time.RFC3339),
		"eventName": e.EventName, "awsRegion": "us-east-1", "eventID": e.ID, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": "999999999999", "eventCategory": "Management",
	}
	switch e.EventName {
	case "AssumeRoot": // as the IAM User Guide's "Track privileged tasks in CloudTrail" shows it
		source = "sts.amazonaws.com"
		ev["readOnly"] = true
		ev["requestParameters"] = map[string]any{"targetPrincipal": e.TargetAccount,
			"taskPolicyArn": map[string]any{"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}}
		ev["responseElements"] = map[string]any{"credentials": map[string]any{"accessKeyId": e.AccessKeyID, "sessionToken": "token",
			"expiration": e.Time.Add(15 * time.Minute).UTC().Format("Jan 2, 2006, 3:04:05 PM")}}
	default:
		source = "states.amazonaws.com"
		ev["readOnly"] = false
		smARN := strings.Replace(e.ExecutionARN[:strings.LastIndex(e.ExecutionARN, ":")], ":execution:", ":stateMachine:", 1)
		ev["requestParameters"] = map[string]any{"stateMachineArn": smARN, "name": e.Name}
		ev["responseElements"] = map[string]any{"executionArn": e.ExecutionARN, "startDate": e.Time.UTC().Format("Jan 2, 2006, 3:04:05 PM")}
	}
	ev["eventSource"] = source
	record, _ = json.Marshal(ev)
	return record, source
}

var credentialKey = regexp.MustCompile(`Credential=([^/]+)/`)

// caller is who signed r, as CloudTrail would name them.
func (s *Server) caller(r *http.Request) Identity {
	key := ""
	if m := credentialKey.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key = m[1]
	}
	if who, ok := s.identities[key]; ok {
		return who
	}
	return Identity{ARN: "arn:aws:iam::999999999999:user/" + key}
}

func (s *Server) lookupEvents(w http.ResponseWriter, body []byte) {
	var in struct {
		LookupAttributes []struct{ AttributeKey, AttributeValue string }
		StartTime        *float64
		EndTime          *float64
		MaxResults       int
		NextToken        string
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.LookupAttributes) > 1 {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidLookupAttributesException", "at most one lookup attribute")
		return
	}
	if in.MaxResults == 0 {
		in.MaxResults = trailPage
	}
	offset := 0
	if _, err := fmt.Sscanf(in.NextToken, "page-%d", &offset); in.NextToken != "" && (err != nil || offset < 0) {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidNextTokenException", "not a token this emulator gave")
		return
	}
	if in.MaxResults < 1 || in.MaxResults > trailPage {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults must be from 1 to 50")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.failing(OpLookupEvents) || !s.trailAdmits() {
		s.throttledLookups++
		jsonError(w, "1.1", http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	var events []map[string]any
	if s.trailDelay > 0 {
		s.trailDelay--
	} else {
		// Newest first by event time, as CloudTrail answers (the order of recording is not that).
		order := make([]int, len(s.trail))
		for i := range order {
			order[i] = len(s.trail) - 1 - i
		}
		sort.SliceStable(order, func(a, b int) bool { return s.trail[order[a]].Time.After(s.trail[order[b]].Time) })
		for _, i := range order {
			e := s.trail[i]
			if len(in.LookupAttributes) == 1 && (in.LookupAttributes[0].AttributeKey != "EventName" || in.LookupAttributes[0].AttributeValue != e.EventName) {
				continue
			}
			sec := float64(e.Time.UnixNano()) / 1e9
			if (in.StartTime != nil && sec < *in.StartTime) || (in.EndTime != nil && sec > *in.EndTime) {
				continue
			}
			record, source := e.cloudTrailEvent()
			events = append(events, map[string]any{
				"EventId": e.ID, "EventName": e.EventName, "EventTime": sec, "EventSource": source,
				"ReadOnly": fmt.Sprint(e.EventName == "AssumeRoot"), "CloudTrailEvent": string(record),
			})
		}
	}
	out := map[string]any{}
	if offset < len(events) {
		end := min(offset+in.MaxResults, len(events))
		out["Events"] = events[offset:end]
		if end < len(events) {
			out["NextToken"] = fmt.Sprintf("page-%d", end)
		}
	} else {
		out["Events"] = []any{}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// Lookups is how many LookupEvents calls were made, and how many of them were throttled.
func (s *Server) Lookups() (calls, throttled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups, s.throttledLookups
}
