// Package lambdart is a loopback Lambda Runtime API (2018-06-01): it hands a function's bootstrap
// process the events to handle, as Lambda's runtime does, and records when each step happened,
// so that a built bootstrap can be started and timed from process start to its first answer.
package lambdart

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Invocation is one event handled.
type Invocation struct {
	Payload  []byte
	Response []byte
	Failed   bool
	Handed   time.Time // when the runtime gave the event to the function
	Answered time.Time
}

// Runtime serves one function process.
type Runtime struct {
	events   chan []byte
	mu       sync.Mutex
	firstGet time.Time
	pending  map[string]*Invocation
	done     chan *Invocation
	initErr  []byte
	srv      *http.Server
	addr     string
}

// Start serves the Runtime API on a loopback port.
func Start() (*Runtime, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rt := &Runtime{events: make(chan []byte, 16), pending: map[string]*Invocation{}, done: make(chan *Invocation, 16), addr: ln.Addr().String()}
	rt.srv = &http.Server{Handler: http.HandlerFunc(rt.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rt.srv.Serve(ln) }()
	return rt, nil
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API for the function.
func (rt *Runtime) Addr() string { return rt.addr }

// Close stops serving.
func (rt *Runtime) Close() { _ = rt.srv.Close() }

// Queue hands the function an event at its next request for one.
func (rt *Runtime) Queue(payload []byte) { rt.events <- payload }

// Next waits for the next answered invocation.
func (rt *Runtime) Next(ctx context.Context) (*Invocation, error) {
	select {
	case inv := <-rt.done:
		return inv, nil
	case <-ctx.Done():
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if rt.initErr != nil {
			return nil, fmt.Errorf("init error: %s", rt.initErr)
		}
		return nil, ctx.Err()
	}
}

// FirstPoll is when the function first asked for an event: the end of its init.
func (rt *Runtime) FirstPoll() time.Time {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.firstGet
}

var seq int64

func (rt *Runtime) serve(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	path := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		rt.mu.Lock()
		if rt.firstGet.IsZero() {
			rt.firstGet = time.Now()
		}
		rt.mu.Unlock()
		var payload []byte
		select {
		case payload = <-rt.events:
		case <-r.Context().Done():
			return
		}
		rt.mu.Lock()
		seq++
		id := "req-" + strconv.FormatInt(seq, 10)
		rt.pending[id] = &Invocation{Payload: payload, Handed: time.Now()}
		rt.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:999999999999:function:rootwindow-bench")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
		_, _ = w.Write(payload)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		parts := strings.Split(strings.TrimPrefix(path, "invocation/"), "/")
		body, _ := io.ReadAll(r.Body)
		rt.mu.Lock()
		inv := rt.pending[parts[0]]
		delete(rt.pending, parts[0])
		rt.mu.Unlock()
		if inv == nil || len(parts) != 2 {
			http.Error(w, "unknown invocation", http.StatusBadRequest)
			return
		}
		inv.Response, inv.Failed, inv.Answered = body, parts[1] == "error", time.Now()
		w.WriteHeader(http.StatusAccepted)
		rt.done <- inv
	case r.Method == http.MethodPost && path == "init/error":
		body, _ := io.ReadAll(r.Body)
		rt.mu.Lock()
		rt.initErr = body
		rt.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "not a Runtime API path", http.StatusNotFound)
	}
}

// Process is a bootstrap started against a Runtime.
type Process struct {
	Cmd     *exec.Cmd
	Started time.Time
}

// Launch starts the bootstrap at path with env (plus AWS_LAMBDA_RUNTIME_API), as Lambda does on a
// cold start.
func (rt *Runtime) Launch(path string, env []string) (*Process, error) {
	cmd := exec.Command(path)
	cmd.Env = append(append([]string{}, env...), "AWS_LAMBDA_RUNTIME_API="+rt.addr)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	p := &Process{Cmd: cmd, Started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// PeakRSS is the process's peak resident memory so far (VmHWM), in bytes.
func (p *Process) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.Cmd.Process.Pid)
}

// Stop ends the process.
func (p *Process) Stop() {
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
}
