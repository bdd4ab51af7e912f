package awsemu

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Task tokens: an execution that waits on a task (a .waitForTaskToken integration) is resumed by
// SendTaskSuccess or SendTaskFailure with its token (AWS JSON 1.0). The local state machine runner
// registers each token it waits on (WaitTask) and reads the outcome (Task); a token nobody waits
// on, or one already answered or timed out, is refused as Step Functions refuses it.

// TaskOutcome is how a waiting task ended.
type TaskOutcome struct {
	Status string          `json:"status"` // WAITING, SUCCEEDED, FAILED, TIMED_OUT
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"`
	Cause  string          `json:"cause,omitempty"`
}

// OpSendTask is SendTaskSuccess and SendTaskFailure, for Fail.
const OpSendTask = "SendTask"

type tasks struct {
	mu      sync.Mutex
	by      map[string]*TaskOutcome
	decided func(token string)
}

// OnTaskDecided calls fn with a token each time the task waiting on it ends (SendTaskSuccess,
// SendTaskFailure, TimeOutTask), once its outcome can be read: the local runner's wait resumes
// at that moment.
func (s *Server) OnTaskDecided(fn func(token string)) {
	t := s.tasks()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.decided = fn
}

// ended tells the watcher that token's task ended; it runs with t.mu released.
func (t *tasks) ended(token string) {
	t.mu.Lock()
	fn := t.decided
	t.mu.Unlock()
	if fn != nil {
		fn(token)
	}
}

func (s *Server) tasks() *tasks {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taskTokens == nil {
		s.taskTokens = &tasks{by: map[string]*TaskOutcome{}}
	}
	return s.taskTokens
}

// WaitTask registers a token an execution now waits on.
func (s *Server) WaitTask(token string) {
	t := s.tasks()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.by[token] = &TaskOutcome{Status: "WAITING"}
}

// Task is the outcome of the task waiting on token (ok false for a token never registered).
func (s *Server) Task(token string) (TaskOutcome, bool) {
	t := s.tasks()
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.by[token]
	if !ok {
		return TaskOutcome{}, false
	}
	return *o, true
}

// TimeOutTask ends a waiting task with States.Timeout, as its TimeoutSeconds would.
func (s *Server) TimeOutTask(token string) {
	t := s.tasks()
	t.mu.Lock()
	o, ok := t.by[token]
	waiting := ok && o.Status == "WAITING"
	if waiting {
		o.Status = "TIMED_OUT"
	}
	t.mu.Unlock()
	if waiting {
		t.ended(token)
	}
}

func (s *Server) sendTask(w http.ResponseWriter, body []byte, success bool) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Output    string `json:"output"`
		Error     string `json:"error"`
		Cause     string `json:"cause"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.TaskToken == "" || len(in.TaskToken) > 1024 || (success && !json.Valid([]byte(in.Output))) ||
		len(in.Error) > 256 || len(in.Cause) > 32768 {
		jsonError(w, "1.0", http.StatusBadRequest, "ValidationException", "SendTask needs a taskToken of 1 to 1024 characters and, for success, a JSON output")
		return
	}
	s.mu.Lock()
	failing := s.failing(OpSendTask)
	s.mu.Unlock()
	if failing {
		jsonError(w, "1.0", http.StatusInternalServerError, "ServiceUnavailable", "injected failure")
		return
	}
	t := s.tasks()
	t.mu.Lock()
	o, ok := t.by[in.TaskToken]
	switch {
	case !ok:
		t.mu.Unlock()
		jsonError(w, "1.0", http.StatusBadRequest, "TaskDoesNotExist", "Task Does Not Exist")
		return
	case o.Status != "WAITING":
		t.mu.Unlock()
		jsonError(w, "1.0", http.StatusBadRequest, "TaskTimedOut", "Task Timed Out")
		return
	case success:
		o.Status, o.Output = "SUCCEEDED", json.RawMessage(in.Output)
	default:
		o.Status, o.Error, o.Cause = "FAILED", in.Error, in.Cause
	}
	t.mu.Unlock()
	t.ended(in.TaskToken)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write([]byte("{}"))
}
