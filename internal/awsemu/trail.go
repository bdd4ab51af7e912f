package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// CloudTrail's event history, as far as rootwindow reads it: the management event each
// StartExecution call leaves (AWS JSON 1.1, LookupEvents by EventName). StartExecution calls this
// emulator serves are recorded under the identity of the access key that signed them (see
// Identify); executions run elsewhere are recorded with Started.

const trailTarget = "CloudTrail_20131101.LookupEvents"

// Identity is who CloudTrail says made a call.
type Identity struct {
	ARN       string // userIdentity.arn: a role session's ARN, or an IAM user's
	IssuerARN string // userIdentity.sessionContext.sessionIssuer.arn: the role, for a role session
}

// TrailEvent is one StartExecution call in the event history.
type TrailEvent struct {
	ID           string
	Time         time.Time
	By           Identity
	ExecutionARN string
	Name         string
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

// DelayTrail makes the next n LookupEvents calls find nothing, as CloudTrail does until an
// event is delivered to the event history.
func (s *Server) DelayTrail(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailDelay = n
}

// record runs with s.mu held.
func (s *Server) record(executionARN string, by Identity, at time.Time) {
	name := executionARN[strings.LastIndex(executionARN, ":")+1:]
	s.trail = append(s.trail, TrailEvent{ID: fmt.Sprintf("trail-%d", len(s.trail)+1), Time: at, By: by, ExecutionARN: executionARN, Name: name})
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing(OpLookupEvents) {
		jsonError(w, "1.1", http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	var events []map[string]any
	if s.trailDelay > 0 {
		s.trailDelay--
	} else {
		for i := len(s.trail) - 1; i >= 0; i-- { // newest first, as CloudTrail answers
			e := s.trail[i]
			if len(in.LookupAttributes) == 1 && (in.LookupAttributes[0].AttributeKey != "EventName" || in.LookupAttributes[0].AttributeValue != "StartExecution") {
				continue
			}
			sec := float64(e.Time.UnixNano()) / 1e9
			if (in.StartTime != nil && sec < *in.StartTime) || (in.EndTime != nil && sec > *in.EndTime) {
				continue
			}
			identity := map[string]any{"type": "IAMUser", "arn": e.By.ARN}
			if e.By.IssuerARN != "" {
				identity = map[string]any{"type": "AssumedRole", "arn": e.By.ARN,
					"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": e.By.IssuerARN}}}
			}
			smARN := strings.Replace(e.ExecutionARN[:strings.LastIndex(e.ExecutionARN, ":")], ":execution:", ":stateMachine:", 1)
			record, _ := json.Marshal(map[string]any{
				"eventVersion": "1.09", "userIdentity": identity, "eventTime": e.Time.UTC().Format(time.RFC3339),
				"eventSource": "states.amazonaws.com", "eventName": "StartExecution", "awsRegion": "us-east-1",
				"requestParameters": map[string]any{"stateMachineArn": smARN, "name": e.Name},
				"responseElements":  map[string]any{"executionArn": e.ExecutionARN, "startDate": e.Time.UTC().Format("Jan 2, 2006, 3:04:05 PM")},
				"eventID":           e.ID, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
				"recipientAccountId": "999999999999", "eventCategory": "Management",
			})
			events = append(events, map[string]any{
				"EventId": e.ID, "EventName": "StartExecution", "EventTime": sec, "EventSource": "states.amazonaws.com",
				"ReadOnly": "false", "CloudTrailEvent": string(record),
			})
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"Events": events})
}
