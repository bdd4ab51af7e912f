package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
)

// The runner's side of virtual time. tools/sfn-run.mjs runs one execution in its own node
// process; the harness's clock (simtime) must know when that process works and when it waits,
// and must fire its timers (Wait states, retries' back-offs, task and execution timeouts) in
// order with everyone else's. The protocol, over loopback HTTP, every request naming its
// session:
//
//   - The execution is one actor, awake from before node starts: starting node costs no virtual
//     time.
//   - Each call node makes (POST /invoke/<function ARN>, /task/wait, /task/await, /task/timeout)
//     is counted on arrival; its answer is a delivery, counted too, and wakes the execution.
//     From its arrival to its answer a call is an actor of its own (a Lambda invocation for as
//     long as it runs), however short: node may report itself idle meanwhile. The one exception
//     is /task/await parked on a task's outcome, a wait that taskDecided ends.
//   - node keeps its timers itself. When it has nothing left to do but wait (checked with
//     setImmediate once its promise chains have run), it posts /idle with how many calls it has
//     made, how many deliveries it has seen, and its timers. The harness takes the execution's
//     actor off only if every call has arrived and every delivery was seen (otherwise something
//     is in flight and node will settle again), and sets node's timers on the clock.
//   - A timer of node's that fires is a delivery on the long poll GET /fires, and wakes the
//     execution. So does the end of a task waited on (/task/await).
//
// Virtual time thus moves only while node waits and every Lambda invocation waits too.

// session is one execution's runner process, as the harness sees it.
type session struct {
	id    string
	name  string // the execution's
	actor *simtime.Actor
	clock *simtime.Clock

	mu        sync.Mutex
	received  int // calls arrived
	delivered int // deliveries made (answers and timer fires)
	pending   *idleReport
	timers    map[int]*simtime.Timer // node's timers by node's ID, as its last idle report gave them
	fired     []int
	stop      bool // StopExecution asked: handed to node once (stopSent) on the long poll, which aborts the run
	stopSent  bool
	firesCh   chan struct{}
	closed    bool
	closedCh  chan struct{}
	awaiting  string        // the task token a parked /task/await waits on
	awaited   chan struct{} // closed when that task ends
	arrivals  chan struct{} // signalled at each arrival, for waitArrived
}

type idleReport struct {
	Sent   int `json:"sent"`
	Seen   int `json:"seen"`
	Timers []struct {
		ID int   `json:"id"`
		At int64 `json:"at"` // Unix milliseconds
	} `json:"timers"`
}

// arrived counts a call from node.
func (s *session) arrived() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	s.trySettle()
	if s.arrivals != nil {
		select {
		case s.arrivals <- struct{}{}:
		default:
		}
	}
}

// waitArrived waits (on the wall clock, at most d) until n calls have arrived: those node made
// as its execution stopped are on their way, and a stopped execution's Lambda runs on.
func (s *session) waitArrived(n int, d time.Duration) error {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		got := s.received
		if s.arrivals == nil {
			s.arrivals = make(chan struct{}, 1)
		}
		ch := s.arrivals
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("the runner made %d calls, %d arrived", n, got)
		}
	}
}

// deliver counts n deliveries to node and wakes the execution; node's idle report, if one
// waits, is out of date.
func (s *session) deliver(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliverLocked(n)
}

func (s *session) deliverLocked(n int) {
	if s.closed {
		return
	}
	s.delivered += n
	s.pending = nil
	s.actor.Wake()
}

func (s *session) idle(r *idleReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || r.Seen != s.delivered {
		return // a delivery is on its way to node: it will settle again
	}
	s.pending = r
	s.trySettle()
}

// trySettle takes the execution's actor off once node's idle report is complete; it runs with
// s.mu held.
func (s *session) trySettle() {
	r := s.pending
	if r == nil || r.Sent != s.received || r.Seen != s.delivered {
		return
	}
	s.pending = nil
	keep := map[int]bool{}
	for _, t := range r.Timers {
		keep[t.ID] = true
		at := time.UnixMilli(t.At).UTC()
		if old, ok := s.timers[t.ID]; ok {
			if old.At().Equal(at) {
				continue
			}
			s.clock.Stop(old)
		}
		id := t.ID
		s.timers[id] = s.clock.AfterFunc(at, fmt.Sprintf("%s timer %d", s.id, id), func() { s.fire(id) })
	}
	for id, t := range s.timers {
		if !keep[id] {
			s.clock.Stop(t)
			delete(s.timers, id)
		}
	}
	s.actor.Idle()
}

// fire hands node a timer that fired; it runs as the timer's actor, which the execution's
// outlives.
func (s *session) fire(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	delete(s.timers, id)
	s.fired = append(s.fired, id)
	s.deliverLocked(1)
	select {
	case s.firesCh <- struct{}{}:
	default:
	}
}

// stopped hands node a StopExecution: a delivery, like a timer's fire, within the caller's call.
func (s *session) stopped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.stop {
		return
	}
	s.stop = true
	s.deliverLocked(1)
	select {
	case s.firesCh <- struct{}{}:
	default:
	}
}

// fires answers node's long poll with the timers fired since its last one, and a stop if one
// was asked.
func (s *session) fires(w http.ResponseWriter, r *http.Request) {
	for {
		s.mu.Lock()
		ids, closed, stop := s.fired, s.closed, s.stop && !s.stopSent
		s.fired, s.stopSent = nil, s.stopSent || stop
		s.mu.Unlock()
		if len(ids) > 0 || closed || stop {
			s.answer(w, http.StatusOK, map[string]any{"fired": ids, "stop": stop})
			return
		}
		select {
		case <-s.firesCh:
		case <-s.closedCh:
		case <-r.Context().Done():
			return
		}
	}
}

// answer writes a response with the virtual time node sets its clock to.
func (s *session) answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Virtual-Now", strconv.FormatInt(s.clock.Now().UnixNano(), 10))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// close ends the session when node has exited: its timers go, its actor is done.
func (s *session) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closedCh)
		for _, t := range s.timers {
			s.clock.Stop(t)
		}
		s.timers = nil
	}
	s.mu.Unlock()
	s.actor.Done()
}

// invoker answers the runners: their Lambda invocations as the Lambda Invoke API does (the
// function's output, or its error object with the X-Amz-Function-Error header), their task
// tokens, and their time.
type invoker struct {
	mu       sync.Mutex
	byARN    map[string]string
	handlers map[string]lambda.Handler
	counts   map[string]int
	timeouts map[string]*invokeTimeout
	running  sync.WaitGroup // invocations in flight, which go on after their execution stops
	timings  []Timing
	before   map[string]func(context.Context) // run once before the next invocation of a task
	sessions map[string]*session
	seq      int
	clock    *simtime.Clock
	tasks    *awsemu.Server // where an execution's task tokens are answered
	srv      *httptest.Server
	// answering, when set (tests), runs before a task call is answered.
	answering func(path string)
}

func newInvoker(byARN map[string]string, clock *simtime.Clock, tasks *awsemu.Server) *invoker {
	inv := &invoker{byARN: byARN, counts: map[string]int{}, timeouts: map[string]*invokeTimeout{}, sessions: map[string]*session{},
		clock: clock, tasks: tasks}
	tasks.OnTaskDecided(inv.taskDecided)
	inv.srv = httptest.NewServer(http.HandlerFunc(inv.serve))
	return inv
}

// close ends the sessions, lets the Lambda invocations still running (a stopped execution's)
// finish, within a minute, and only then stops serving: the emulators they call stop after it,
// so no client meets a listener already closed.
func (inv *invoker) close() {
	inv.mu.Lock()
	open := make([]*session, 0, len(inv.sessions))
	for _, s := range inv.sessions {
		open = append(open, s)
	}
	inv.mu.Unlock()
	for _, s := range open {
		s.close()
	}
	idle := make(chan struct{})
	go func() { inv.running.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-time.After(time.Minute):
		fmt.Fprintf(os.Stderr, "harness: Lambda invocations still running at the close; %s\n", inv.clock)
	}
	inv.srv.Close()
}

// open starts the session of an execution about to run: its actor is awake from now.
func (inv *invoker) open(name string) *session {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.seq++
	s := &session{id: fmt.Sprintf("%d-%s", inv.seq, name), name: name, actor: inv.clock.Go("execution " + name), clock: inv.clock,
		timers: map[int]*simtime.Timer{}, firesCh: make(chan struct{}, 1), closedCh: make(chan struct{})}
	inv.sessions[s.id] = s
	return s
}

// stop hands a StopExecution to the run of execution name, if one is running.
func (inv *invoker) stop(name string) {
	inv.mu.Lock()
	var target *session
	for _, s := range inv.sessions {
		if s.name == name {
			target = s
		}
	}
	inv.mu.Unlock()
	if target != nil {
		target.stopped()
	}
}

func (inv *invoker) end(s *session) {
	s.close()
	inv.mu.Lock()
	delete(inv.sessions, s.id)
	inv.mu.Unlock()
}

func (inv *invoker) setHandlers(h map[string]lambda.Handler) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.handlers = h
}

func (inv *invoker) invocations() map[string]int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := map[string]int{}
	for k, v := range inv.counts {
		out[k] = v
	}
	return out
}

func (inv *invoker) serve(w http.ResponseWriter, r *http.Request) {
	inv.mu.Lock()
	s := inv.sessions[r.Header.Get("X-Session")]
	inv.mu.Unlock()
	if s == nil {
		http.Error(w, `{"message":"no such session"}`, http.StatusNotFound)
		return
	}
	if ns, err := strconv.ParseInt(r.Header.Get("X-Virtual-Now"), 10, 64); err == nil {
		inv.clock.Observe(time.Unix(0, ns)) // what node stamped comes before what happens next
	}
	switch {
	case r.URL.Path == "/idle":
		var rep idleReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, `{"message":"bad idle report"}`, http.StatusBadRequest)
			return
		}
		s.idle(&rep)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/fires":
		s.fires(w, r)
	case strings.HasPrefix(r.URL.Path, "/task/"):
		inv.task(s, w, r)
	case strings.HasPrefix(r.URL.Path, "/invoke/"):
		inv.invoke(s, w, r)
	default:
		http.Error(w, `{"message":"no such path"}`, http.StatusNotFound)
	}
}

// invoke runs the task's handler as its own actor, as Lambda runs one invocation.
func (inv *invoker) invoke(s *session, w http.ResponseWriter, r *http.Request) {
	call := inv.clock.Go("invoke " + r.URL.Path)
	inv.running.Add(1)
	s.arrived()
	arn, err := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/invoke/"))
	inv.mu.Lock()
	task := inv.byARN[arn]
	h := inv.handlers[task]
	inv.counts[task]++
	hook := inv.before[task]
	delete(inv.before, task)
	var timeout time.Duration
	if t := inv.timeouts[task]; t != nil && t.left != 0 {
		timeout = t.after
		t.left--
	}
	inv.mu.Unlock()
	if err != nil || h == nil {
		inv.running.Done()
		s.deliver(1)
		call.Done()
		s.answer(w, http.StatusNotFound, map[string]string{"message": "no such function"})
		return
	}
	// Not the request's context: a Lambda goes on when the execution that invoked it is stopped.
	ctx := simtime.WithActor(context.WithoutCancel(r.Context()), call)
	if hook != nil {
		hook(ctx)
	}
	payload, _ := io.ReadAll(r.Body)
	start := time.Now()
	a := inv.invokeWithin(ctx, s, call, h, payload, timeout)
	inv.mu.Lock()
	inv.timings = append(inv.timings, Timing{Task: task, Start: start, End: time.Now()})
	inv.mu.Unlock()
	if a.err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		s.answer(w, http.StatusOK, map[string]string{"errorType": errorType(a.err), "errorMessage": a.err.Error()})
		return
	}
	s.answer(w, http.StatusOK, json.RawMessage(a.out))
}

type answer struct {
	out []byte
	err error
}

// invokeWithin runs the handler as Lambda would with a timeout, in virtual time: past it, the
// invocation fails with Sandbox.Timedout and the handler's context is cancelled, cutting its
// calls short mid-work (those already sent are applied, as Organizations does). The execution is
// woken (s.deliver) by whichever ends first, before the invocation's actor is done, so time
// cannot slip between them; a handler that outlives its timeout ends its actor itself.
func (inv *invoker) invokeWithin(ctx context.Context, s *session, call *simtime.Actor, h lambda.Handler, payload []byte, timeout time.Duration) answer {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu       sync.Mutex
		answered bool
		done     = make(chan answer, 1)
	)
	settle := func(a answer) bool {
		mu.Lock()
		defer mu.Unlock()
		if answered {
			return false
		}
		answered = true
		s.deliver(1)
		done <- a
		return true
	}
	var timer *simtime.Timer
	if timeout > 0 {
		timer = inv.clock.AfterFunc(inv.clock.Now().Add(timeout), "lambda timeout", func() {
			if settle(answer{err: &Timedout{after: timeout}}) {
				cancel()
			}
		})
	}
	go func() {
		defer inv.running.Done()
		defer call.Done()
		out, err := h.Invoke(ctx, payload)
		if settle(answer{out, err}) && timer != nil {
			inv.clock.Stop(timer)
		}
		cancel()
	}()
	return <-done
}

// task serves the runner's task tokens (a .waitForTaskToken state): POST /task/wait registers the
// token the state waits on, POST /task/await answers once SendTaskSuccess or SendTaskFailure sent
// the emulator its outcome (or it timed out), POST /task/timeout ends it as its TimeoutSeconds
// does.
func (inv *invoker) task(s *session, w http.ResponseWriter, r *http.Request) {
	// Work from its arrival to its answer, however short: node may be idle meanwhile.
	call := inv.clock.Go("task " + r.URL.Path)
	defer call.Done()
	token := r.URL.Query().Get("token")
	switch {
	case token == "":
		s.arrived()
		s.deliver(1)
		s.answer(w, http.StatusBadRequest, map[string]string{"message": "no token"})
		return
	case r.URL.Path == "/task/wait":
		inv.tasks.WaitTask(token)
	case r.URL.Path == "/task/timeout":
		inv.tasks.TimeOutTask(token)
	case r.URL.Path == "/task/await":
		// Read the outcome and park under s.mu: a decision made after the read finds this call
		// parked (taskDecided), one made before is read.
		s.mu.Lock()
		s.received++
		if o, _ := inv.tasks.Task(token); o.Status == "WAITING" && !s.closed {
			parked := make(chan struct{})
			s.awaiting, s.awaited = token, parked
			s.trySettle()
			s.mu.Unlock()
			// A wait, not work: taskDecided wakes the execution, and counts the answer.
			call.Done()
			select {
			case <-parked:
			case <-s.closedCh:
				return
			case <-r.Context().Done():
				return
			}
			o, _ := inv.tasks.Task(token)
			s.answer(w, http.StatusOK, o)
			return
		}
		s.trySettle()
		s.mu.Unlock()
		o, _ := inv.tasks.Task(token)
		s.deliver(1)
		s.answer(w, http.StatusOK, o)
		return
	}
	s.arrived()
	if inv.answering != nil {
		inv.answering(r.URL.Path)
	}
	o, _ := inv.tasks.Task(token)
	s.deliver(1)
	s.answer(w, http.StatusOK, o)
}

// taskDecided wakes an execution whose /task/await waits on token, as the decision is made.
func (inv *invoker) taskDecided(token string) {
	inv.mu.Lock()
	var open []*session
	for _, s := range inv.sessions {
		open = append(open, s)
	}
	inv.mu.Unlock()
	for _, s := range open {
		s.mu.Lock()
		if s.awaiting == token && s.awaited != nil {
			close(s.awaited)
			s.awaiting, s.awaited = "", nil
			s.deliverLocked(1)
		}
		s.mu.Unlock()
	}
}

// BeforeInvoke runs fn once, just before the next invocation of task: what someone else does
// between two of rootwindow's steps (edit the ledger, change a tag). It runs inside the
// invocation, as its actor: virtual time stands still meanwhile, and what fn calls with ctx
// waits (a retry's back-off) as that actor.
func (h *Harness) BeforeInvoke(task string, fn func(ctx context.Context)) {
	h.invoker.mu.Lock()
	defer h.invoker.mu.Unlock()
	if h.invoker.before == nil {
		h.invoker.before = map[string]func(context.Context){}
	}
	h.invoker.before[task] = fn
}

type invokeTimeout struct {
	after time.Duration
	left  int // invocations still to time out; negative: all
}

// SetInvokeTimeout makes the task's next `times` invocations (every one if times < 1) time out
// after d of virtual time, as a Lambda whose work outlasts its configured timeout; d = 0 ends
// that.
func (h *Harness) SetInvokeTimeout(task string, d time.Duration, times int) {
	h.invoker.mu.Lock()
	defer h.invoker.mu.Unlock()
	if times < 1 {
		times = -1
	}
	h.invoker.timeouts[task] = &invokeTimeout{after: d, left: times}
	if d == 0 {
		delete(h.invoker.timeouts, task)
	}
}

// Idle waits until no Lambda invocation is in flight.
func (h *Harness) Idle() { h.invoker.running.Wait() }

// Timedout is the error Lambda reports for an invocation that ran out of time.
type Timedout struct{ after time.Duration }

func (e *Timedout) Error() string {
	return fmt.Sprintf("Task timed out after %.2f seconds", e.after.Seconds())
}

// errorType names an error as aws-lambda-go reports it to Lambda (and Lambda a timeout).
func errorType(err error) string {
	if _, ok := err.(*Timedout); ok {
		return "Sandbox.Timedout"
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}
