// Package rootemu is a loopback emulator of the STS and IAM calls of centralized root access:
// sts:AssumeRoot (a session on a member account's root user, scoped by an AWS managed task
// policy) and the IAM calls those task policies allow on the root user (GetLoginProfile,
// ListMFADevices, ListAccessKeys, CreateLoginProfile). Both speak the AWS query protocol, so the
// real SDK clients talk to it. Each session's access key carries its account and task policy; an
// IAM call the task policy does not allow, or one on an account whose SCPs deny root sessions, is
// AccessDenied, as AWS answers it.
package rootemu

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Root is a member account's root user as the emulator keeps it.
type Root struct {
	Password   bool // a login profile (root password) exists
	MFADevices int
	AccessKeys int
	// Denied makes every call of a root session on the account AccessDenied: an SCP (the
	// guardrail) that does not exempt aws:AssumedRoot.
	Denied bool
}

// Task policies (arn:aws:iam::aws:policy/root-task/...) and the IAM actions each allows here.
var allows = map[string][]string{
	"IAMAuditRootUserCredentials":  {"GetLoginProfile", "ListMFADevices", "ListAccessKeys"},
	"IAMCreateRootUserPassword":    {"GetLoginProfile", "CreateLoginProfile"},
	"IAMDeleteRootUserCredentials": {"GetLoginProfile", "ListMFADevices", "ListAccessKeys", "DeleteLoginProfile"},
}

type session struct{ account, task string }

// Call is one call the emulator answered.
type Call struct{ Action, Account, Task, Error string }

// Server is the emulator.
type Server struct {
	mu       sync.Mutex
	roots    map[string]*Root
	sessions map[string]session
	calls    []Call
	srv      *httptest.Server
	latency  time.Duration
	delay    func(r *http.Request, d time.Duration)
}

// New returns an emulator knowing the given accounts' root users.
func New(roots map[string]Root) *Server {
	s := &Server{roots: map[string]*Root{}, sessions: map[string]session{}}
	for id, r := range roots {
		s.roots[id] = &r
	}
	return s
}

// Start serves on a loopback port and returns the endpoint URL.
func (s *Server) Start() string {
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s.srv.URL
}

// Close stops the server.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// SetLatency delays every answer by d, played by delay (a harness's virtual clock: the calling
// actor's sleep; nil: the wall clock).
func (s *Server) SetLatency(d time.Duration, delay func(r *http.Request, d time.Duration)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if delay == nil {
		delay = func(_ *http.Request, d time.Duration) { time.Sleep(d) }
	}
	s.latency, s.delay = d, delay
}

// Root is an account's root user now.
func (s *Server) Root(account string) Root {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.roots[account]
}

// SetDenied makes root sessions on the account denied (an SCP) or not.
func (s *Server) SetDenied(account string, denied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots[account].Denied = denied
}

// Calls are the calls answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

var (
	credentialKey = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)
	taskPolicyARN = regexp.MustCompile(`^arn:aws:iam::aws:policy/root-task/([A-Za-z]+)$`)
	accountID     = regexp.MustCompile(`^[0-9]{12}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency, delay := s.latency, s.delay
	s.mu.Unlock()
	if latency > 0 {
		delay(r, latency)
	}
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.fail(w, "sts", http.StatusBadRequest, "InvalidParameterValue", "the body is not a form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	action := form.Get("Action")
	if action == "AssumeRoot" {
		s.assumeRoot(w, form)
		return
	}
	m := credentialKey.FindStringSubmatch(r.Header.Get("Authorization"))
	var sess session
	ok := false
	if m != nil {
		sess, ok = s.sessions[m[1]]
	}
	call := Call{Action: action, Account: sess.account, Task: sess.task}
	root := s.roots[sess.account]
	switch {
	case !ok:
		call.Error = "InvalidClientTokenId"
		s.fail(w, "iam", http.StatusForbidden, call.Error, "The security token included in the request is invalid")
	case root.Denied || !slices.Contains(allows[sess.task], action):
		call.Error = "AccessDenied"
		s.fail(w, "iam", http.StatusForbidden, call.Error, fmt.Sprintf("User: arn:aws:iam::%s:root is not authorized to perform: iam:%s", sess.account, action))
	default:
		call.Error = s.iam(w, action, root)
	}
	s.calls = append(s.calls, call)
}

func (s *Server) assumeRoot(w http.ResponseWriter, form url.Values) {
	target, arn := form.Get("TargetPrincipal"), form.Get("TaskPolicyArn.arn")
	m := taskPolicyARN.FindStringSubmatch(arn)
	call := Call{Action: "AssumeRoot", Account: target}
	switch {
	case !accountID.MatchString(target) || s.roots[target] == nil:
		call.Error = "ValidationError"
		s.fail(w, "sts", http.StatusBadRequest, call.Error, "TargetPrincipal must be a member account of the organization")
	case m == nil || allows[m[1]] == nil:
		call.Error = "ValidationError"
		s.fail(w, "sts", http.StatusBadRequest, call.Error, "TaskPolicyArn must be one of the root-task policies")
	default:
		call.Task = m[1]
		key := fmt.Sprintf("ASIAROOT%08d", len(s.sessions)+1)
		s.sessions[key] = session{account: target, task: m[1]}
		fmt.Fprintf(w, `<AssumeRootResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRootResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token-%s</SessionToken><Expiration>%s</Expiration></Credentials><SourceIdentity></SourceIdentity></AssumeRootResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></AssumeRootResponse>`,
			key, key, time.Now().Add(15*time.Minute).UTC().Format(time.RFC3339))
	}
	s.calls = append(s.calls, call)
}

// iam answers an allowed IAM call on the root user; it returns the error code, if any.
func (s *Server) iam(w http.ResponseWriter, action string, root *Root) string {
	const ns = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`
	created := "2026-01-01T00:00:00Z"
	var result string
	switch action {
	case "GetLoginProfile":
		if !root.Password {
			s.fail(w, "iam", http.StatusNotFound, "NoSuchEntity", "Login Profile for User root cannot be found.")
			return "NoSuchEntity"
		}
		result = `<LoginProfile><CreateDate>` + created + `</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>`
	case "CreateLoginProfile":
		if root.Password {
			s.fail(w, "iam", http.StatusConflict, "EntityAlreadyExists", "Login Profile for user root already exists.")
			return "EntityAlreadyExists"
		}
		root.Password = true
		result = `<LoginProfile><CreateDate>` + created + `</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>`
	case "DeleteLoginProfile":
		root.Password = false
	case "ListMFADevices":
		result = `<MFADevices>` + strings.Repeat(`<member><SerialNumber>arn:aws:iam::000000000000:mfa/root</SerialNumber><EnableDate>`+created+`</EnableDate></member>`, root.MFADevices) + `</MFADevices><IsTruncated>false</IsTruncated>`
	case "ListAccessKeys":
		result = `<AccessKeyMetadata>` + strings.Repeat(`<member><AccessKeyId>AKIAROOTKEY</AccessKeyId><Status>Active</Status><CreateDate>`+created+`</CreateDate></member>`, root.AccessKeys) + `</AccessKeyMetadata><IsTruncated>false</IsTruncated>`
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse %s><%sResult>%s</%sResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></%sResponse>`, action, ns, action, result, action, action)
	return ""
}

func (s *Server) fail(w http.ResponseWriter, service string, status int, code, msg string) {
	ns := "https://iam.amazonaws.com/doc/2010-05-08/"
	if service == "sts" {
		ns = "https://sts.amazonaws.com/doc/2011-06-15/"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(msg))
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>emu</RequestId></ErrorResponse>`, ns, code, b.String())
}
