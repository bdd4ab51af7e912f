// Package awsemu is a loopback emulator of the AWS calls rootwindow makes to tell people what
// happened and to start its workflow: EventBridge PutEvents (AWS JSON 1.1), SNS Publish (the AWS
// query protocol) and Step Functions StartExecution (AWS JSON 1.0); and of what it reads:
// CloudTrail's event history and CloudTrail Lake (lake.go), CloudWatch Logs Insights
// (insights.go), the identity store. It speaks their wire
// protocols, so the real SDK clients talk to it through AWS_ENDPOINT_URL_*; it records what it
// was sent, and can fail calls on demand.
package awsemu

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Event is one event put on a bus.
type Event struct {
	Bus, Source, DetailType string
	Detail                  json.RawMessage
	Time                    time.Time // as the caller stamped it (to the millisecond on the wire)
	Received                time.Time // by the emulator's clock
}

// Message is one message published to a topic.
type Message struct {
	TopicARN, Subject, Body string // Body: the default message
	Attributes              map[string]string
	// Protocols are the messages per protocol, when published with MessageStructure json.
	Protocols map[string]string
}

// For is the message a subscription of protocol receives: its own, else the default.
func (m Message) For(protocol string) string {
	if b, ok := m.Protocols[protocol]; ok {
		return b
	}
	return m.Body
}

// snsMessageMax is the largest message SNS publishes (262,144 bytes).
const snsMessageMax = 262144

// Execution is one execution started.
type Execution struct {
	StateMachineARN, Name, ARN string
	Input                      json.RawMessage
	Status                     string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
}

// Server is the emulator.
type Server struct {
	mu         sync.Mutex
	events     []Event
	messages   []Message
	executions []Execution
	roles      map[string]string // state machine ARN → the role it runs as (DescribeStateMachine)
	// historyKeyDenied: the state machines' definitions and executions are under a customer
	// managed key that callers may not use (SealHistory).
	historyKeyDenied bool
	failures         map[string]int // operation → calls still to fail
	onStart          func(Execution)
	onStop           func(Execution)
	stops            []Stop
	srv              *httptest.Server
	identities       map[string]Identity // access key → who CloudTrail says signed with it
	trail            []TrailEvent
	trailDelay       int
	// LookupEvents' rate limit (SetTrailRate) and the calls made.
	trailRate, trailBurst, trailTokens float64
	trailRefill                        time.Time
	lookups, throttledLookups          int
	taskTokens                         *tasks
	subs                               []Subscription
	stores                             map[string]*identityStore // identity store ID → its users and groups
	directoryCalls                     int
	lake                               *lake          // CloudTrail Lake's event data stores and queries
	insights                           *insightsState // CloudWatch Logs' log groups and Insights queries
	now                                func() time.Time
}

// New returns a stopped emulator.
func New() *Server { return &Server{failures: map[string]int{}, now: time.Now} }

// SetClock sets the clock that stamps executions started here (a harness's virtual clock).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Start serves on a loopback port and returns the endpoint URL.
func (s *Server) Start() string {
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s.srv.URL
}

// URL is the started server's endpoint.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Operations that can be made to fail.
const (
	OpPutEvents         = "PutEvents"
	OpPublish           = "Publish"
	OpStartExecution    = "StartExecution"
	OpDescribeExecution = "DescribeExecution"
	// OpDescribeStateMachine fails DescribeStateMachine alone.
	OpDescribeStateMachine = "DescribeStateMachine"
	OpStopExecution        = "StopExecution"
	OpLookupEvents         = "LookupEvents"
	OpGetUserID            = "GetUserId"
)

// Fail makes the next n calls of op fail with a service error.
func (s *Server) Fail(op string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[op] = n
}

// OnStart calls fn (in its own goroutine) for each new execution.
func (s *Server) OnStart(fn func(Execution)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onStart = fn
}

// Events returns the events put so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Messages returns the messages published so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Executions returns the executions started so far.
func (s *Server) Executions() []Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Execution(nil), s.executions...)
}

// Reset forgets everything recorded and every pending failure.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.messages, s.executions, s.trail, s.trailDelay, s.subs, s.stops = nil, nil, nil, nil, 0, nil, nil
	s.failures = map[string]int{}
}

func (s *Server) failing(op string) bool {
	if s.failures[op] > 0 {
		s.failures[op]--
		return true
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch target := r.Header.Get("X-Amz-Target"); {
	case target == "AWSEvents.PutEvents":
		s.putEvents(w, body)
	case target == "AWSStepFunctions.DescribeExecution":
		s.describeExecution(w, body)
	case target == "AWSStepFunctions.DescribeStateMachine":
		s.describeStateMachine(w, body)
	case target == "AWSStepFunctions.SendTaskSuccess":
		s.sendTask(w, body, true)
	case target == "AWSStepFunctions.SendTaskFailure":
		s.sendTask(w, body, false)
	case target == "AWSStepFunctions.StopExecution":
		s.stopExecution(w, body)
	case target == "AWSStepFunctions.StartExecution":
		s.startExecution(w, body, s.callerOf(r))
	case target == trailTarget:
		s.lookupEvents(w, body)
	case target == "CloudTrail_20131101.StartQuery":
		s.startQuery(w, body)
	case target == "CloudTrail_20131101.GetQueryResults":
		s.getQueryResults(w, body)
	case target == "Logs_20140328.StartQuery":
		s.startInsightsQuery(w, body)
	case target == "Logs_20140328.GetQueryResults":
		s.getInsightsResults(w, body)
	case target == "AWSIdentityStore.GetUserId":
		s.getUserID(w, body)
	case target == "AWSIdentityStore.IsMemberInGroups":
		s.isMemberInGroups(w, body)
	case target == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		s.query(w, body)
	default:
		jsonError(w, "1.1", http.StatusBadRequest, "UnknownOperationException", "this emulator does not serve "+target)
	}
}

func jsonError(w http.ResponseWriter, version string, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (s *Server) putEvents(w http.ResponseWriter, body []byte) {
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
			Time                                     float64
		}
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Entries) == 0 {
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "PutEvents needs Entries")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing(OpPutEvents) {
		jsonError(w, "1.1", http.StatusInternalServerError, "InternalException", "injected failure")
		return
	}
	type result struct{ EventId string }
	out := struct {
		FailedEntryCount int
		Entries          []result
	}{}
	for _, e := range in.Entries {
		if !json.Valid([]byte(e.Detail)) {
			jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "Detail is not valid JSON")
			return
		}
		sec := int64(e.Time)
		s.events = append(s.events, Event{
			Bus: e.EventBusName, Source: e.Source, DetailType: e.DetailType, Detail: json.RawMessage(e.Detail),
			Time: time.Unix(sec, int64((e.Time-float64(sec))*1e9)).UTC(), Received: s.now(),
		})
		out.Entries = append(out.Entries, result{EventId: fmt.Sprintf("event-%d", len(s.events))})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) callerOf(r *http.Request) Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caller(r)
}

func (s *Server) startExecution(w http.ResponseWriter, body []byte, by Identity) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Input           string `json:"input"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.StateMachineArn == "" || in.Name == "" || !json.Valid([]byte(in.Input)) {
		jsonError(w, "1.0", http.StatusBadRequest, "ValidationException", "StartExecution needs stateMachineArn, name and a JSON input")
		return
	}
	s.mu.Lock()
	if s.failing(OpStartExecution) {
		s.mu.Unlock()
		jsonError(w, "1.0", http.StatusInternalServerError, "ServiceUnavailable", "injected failure")
		return
	}
	arn := strings.Replace(in.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + in.Name
	var started *Execution
	for _, e := range s.executions {
		if e.StateMachineARN != in.StateMachineArn || e.Name != in.Name {
			continue
		}
		if string(e.Input) != in.Input {
			s.mu.Unlock()
			jsonError(w, "1.0", http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
			return
		}
		started = &e
	}
	if started == nil { // Step Functions starts a name once; a repeat with the same input is a no-op
		e := Execution{StateMachineARN: in.StateMachineArn, Name: in.Name, ARN: arn, Input: json.RawMessage(in.Input), Status: "RUNNING"}
		s.executions = append(s.executions, e)
		s.record(arn, by, s.now())
		if s.onStart != nil {
			go s.onStart(e)
		}
	}
	startDate := float64(s.now().Unix())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"executionArn": arn, "startDate": startDate})
}

// Ran records an execution run elsewhere (by the local state machine runner) under its status,
// and its input when given, so that DescribeExecution answers for it as Step Functions would.
func (s *Server) Ran(stateMachineARN, name string, input json.RawMessage, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.executions {
		if e.StateMachineARN == stateMachineARN && e.Name == name {
			s.executions[i].Status = status
			if input != nil {
				s.executions[i].Input = input // a later execution of the name
			}
			return
		}
	}
	arn := strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
	s.executions = append(s.executions, Execution{StateMachineARN: stateMachineARN, Name: name, ARN: arn, Input: input, Status: status})
}

// Stop is one StopExecution call served.
type Stop struct {
	ExecutionARN, Error, Cause string
}

// Stops lists the StopExecution calls served, in order.
func (s *Server) Stops() []Stop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Stop(nil), s.stops...)
}

// OnStop calls fn for each running execution StopExecution stops, before the call is answered
// (a harness stops the run it plays, within the caller's call).
func (s *Server) OnStop(fn func(Execution)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onStop = fn
}

// stopExecution serves StopExecution as Step Functions does: a running execution becomes
// ABORTED; one that has ended stays as it is; an unknown one is ExecutionDoesNotExist.
func (s *Server) stopExecution(w http.ResponseWriter, body []byte) {
	var in struct {
		ExecutionArn, Error, Cause string
	}
	if err := json.Unmarshal(body, &in); err != nil || in.ExecutionArn == "" || len(in.Error) > 256 || len(in.Cause) > 32768 {
		jsonError(w, "1.0", http.StatusBadRequest, "ValidationException", "StopExecution needs an executionArn; error at most 256 characters, cause at most 32,768")
		return
	}
	s.mu.Lock()
	if s.failing(OpStopExecution) {
		s.mu.Unlock()
		jsonError(w, "1.0", http.StatusInternalServerError, "ServiceUnavailable", "injected failure")
		return
	}
	var stopped *Execution
	found := false
	for i, e := range s.executions {
		if e.ARN != in.ExecutionArn {
			continue
		}
		found = true
		s.stops = append(s.stops, Stop{ExecutionARN: in.ExecutionArn, Error: in.Error, Cause: in.Cause})
		if e.Status == "RUNNING" {
			s.executions[i].Status = "ABORTED"
			stopped = &s.executions[i]
		}
		break
	}
	hook, now := s.onStop, s.now()
	var ex Execution
	if stopped != nil {
		ex = *stopped
	}
	s.mu.Unlock()
	if !found {
		jsonError(w, "1.0", http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '"+in.ExecutionArn+"'")
		return
	}
	if stopped != nil && hook != nil {
		hook(ex)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"stopDate": float64(now.Unix())})
}

// StateMachine makes a state machine known, running as role, so that DescribeStateMachine answers
// for it as Step Functions would.
func (s *Server) StateMachine(arn, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles == nil {
		s.roles = map[string]string{}
	}
	s.roles[arn] = role
}

// describeArg reads a Describe call's one ARN argument, with the lock held; it answers a
// malformed call or an injected failure itself (ok false).
func (s *Server) describeArg(w http.ResponseWriter, body []byte, op, field string) (arn string, metadataOnly, ok bool) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err == nil {
		arn, _ = in[field].(string)
	}
	included, given := in["includedData"].(string)
	switch {
	case arn == "":
		jsonError(w, "1.0", http.StatusBadRequest, "ValidationException", op+" needs "+field)
	case given && included != "ALL_DATA" && included != "METADATA_ONLY":
		jsonError(w, "1.0", http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '"+included+"' at 'includedData' failed to satisfy constraint: Member must satisfy enum value set: [ALL_DATA, METADATA_ONLY]")
	case s.failing(op):
		jsonError(w, "1.0", http.StatusInternalServerError, "ServiceUnavailable", "injected failure")
	case s.historyKeyDenied && included != "METADATA_ONLY":
		// What a caller without kms:Decrypt on the state machine's customer managed key gets for
		// the encrypted data (Step Functions Developer Guide, "Data at rest encryption":
		// DescribeStateMachine and DescribeExecution need kms:Decrypt unless METADATA_ONLY).
		jsonError(w, "1.0", http.StatusBadRequest, "KmsAccessDeniedException",
			"Either your KMS key policy or API caller does not have the required permissions.")
	default:
		return arn, included == "METADATA_ONLY", true
	}
	return "", false, false
}

// SealHistory puts the state machines' definitions and executions under a customer managed key
// that the callers may not use: DescribeStateMachine and DescribeExecution answer
// KmsAccessDeniedException unless asked for METADATA_ONLY.
func (s *Server) SealHistory() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.historyKeyDenied = true
}

func (s *Server) describeStateMachine(w http.ResponseWriter, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn, metadataOnly, ok := s.describeArg(w, body, "DescribeStateMachine", "stateMachineArn")
	if !ok {
		return
	}
	role, ok := s.roles[arn]
	if !ok {
		jsonError(w, "1.0", http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+arn+"'")
		return
	}
	out := map[string]any{
		"stateMachineArn": arn, "name": arn[strings.LastIndex(arn, ":")+1:], "status": "ACTIVE", "roleArn": role,
		"definition": "{}", "type": "STANDARD", "creationDate": float64(s.now().Unix()),
	}
	if metadataOnly {
		delete(out, "definition")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) describeExecution(w http.ResponseWriter, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn, metadataOnly, ok := s.describeArg(w, body, "DescribeExecution", "executionArn")
	if !ok {
		return
	}
	for _, e := range s.executions {
		if e.ARN == arn {
			out := map[string]any{
				"executionArn": e.ARN, "stateMachineArn": e.StateMachineARN, "name": e.Name,
				"status": e.Status, "startDate": float64(s.now().Unix()), "input": string(e.Input),
			}
			if metadataOnly {
				delete(out, "input")
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_ = json.NewEncoder(w).Encode(out)
			return
		}
	}
	jsonError(w, "1.0", http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '"+arn+"'")
}

// query serves SNS's query protocol: form-encoded Action=Publish, XML answers.
func (s *Server) query(w http.ResponseWriter, body []byte) {
	form, err := url.ParseQuery(string(body))
	w.Header().Set("Content-Type", "text/xml")
	queryError := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>emu</RequestId></ErrorResponse>`, code, xmlText(msg))
	}
	if err == nil {
		switch form.Get("Action") {
		case "Subscribe":
			s.subscribe(w, form, queryError)
			return
		case "ListSubscriptionsByTopic":
			s.listSubscriptionsByTopic(w, form)
			return
		case "GetSubscriptionAttributes":
			s.getSubscriptionAttributes(w, form, queryError)
			return
		}
	}
	if err != nil || form.Get("Action") != "Publish" {
		queryError(http.StatusBadRequest, "InvalidAction", "this emulator serves only Publish, Subscribe, ListSubscriptionsByTopic and GetSubscriptionAttributes")
		return
	}
	if form.Get("TopicArn") == "" || form.Get("Message") == "" || len(form.Get("Subject")) > 100 {
		queryError(http.StatusBadRequest, "InvalidParameter", "Publish needs TopicArn and Message, and a Subject of at most 100 characters")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing(OpPublish) {
		queryError(http.StatusInternalServerError, "InternalError", "injected failure")
		return
	}
	m := Message{TopicARN: form.Get("TopicArn"), Subject: form.Get("Subject"), Body: form.Get("Message"), Attributes: map[string]string{}}
	if len(m.Body) > snsMessageMax {
		queryError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message too long")
		return
	}
	if form.Get("MessageStructure") == "json" {
		// Each value a string, and a default one (SNS API Reference, Publish: MessageStructure).
		if json.Unmarshal([]byte(m.Body), &m.Protocols) != nil {
			queryError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse")
			return
		}
		if _, ok := m.Protocols["default"]; !ok {
			queryError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body")
			return
		}
		m.Body = m.Protocols["default"]
	}
	for i := 1; form.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i)) != ""; i++ {
		m.Attributes[form.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i))] = form.Get(fmt.Sprintf("MessageAttributes.entry.%d.Value.StringValue", i))
	}
	s.messages = append(s.messages, m)
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>message-%d</MessageId></PublishResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></PublishResponse>`, len(s.messages))
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
