// Package orgemu is a loopback emulator of the AWS Organizations operations rootwindow calls. It
// speaks the real wire protocol (AWS JSON 1.1, X-Amz-Target AWSOrganizationsV20161128.<Operation>)
// so that the real aws-sdk-go-v2 client can be pointed at it, answers with Organizations' real
// error codes and messages, and injects faults: throttling beyond a rate, latency, and scripted
// errors for chosen operations and targets.
package orgemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

const targetPrefix = "AWSOrganizationsV20161128."

// Organizations' quotas: SCPs attached directly to one target (at least one, at most ten), and
// the size of one SCP's document in characters, whitespace counted (10,240); AWS documents both
// (Organizations User Guide, "Quotas and service limits", since 15 May 2026); SetQuotas changes
// them.
const (
	MinSCPs    = 1
	MaxSCPs    = 10
	MaxSCPSize = 10240
)

// Well-known IDs of the default organization.
const (
	OrganizationID  = "o-exampleorg1"
	FullAWSAccessID = "p-FullAWSAccess"
	GuardrailID     = "p-rootguard01"
)

// The documents of the default organization's policies.
const (
	FullAWSAccessContent = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	GuardrailContent     = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`
)

// Account is one account of the emulated organization.
type Account struct {
	ID     string
	Name   string
	Email  string
	State  string // ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED
	Parent string // root or OU ID
	Tags   map[string]string
}

// Fault makes matching calls fail with an Organizations error.
type Fault struct {
	Op     string // operation name, "" for any
	Target string // TargetId/AccountId/ResourceId/ChildId of the call, "" for any
	Policy string // PolicyId of the call, "" for any
	Code   string // error code, e.g. "ConcurrentModificationException"
	Times  int    // how many matching calls fail; 0 means every one
	Skip   int    // let this many matching calls through first
}

// Call is one call the emulator answered.
type Call struct {
	Op     string
	Target string
	Policy string
	Error  string // error code, "" on success
	At     time.Time
}

// Server is the emulator. Its zero value is not usable; call New.
type Server struct {
	mu                    sync.Mutex
	orgID                 string
	rootID                string
	management            string
	accounts              map[string]*Account
	ous                   map[string]string // OU ID → parent ID
	policies              map[string]string // policy ID → name
	contents              map[string]string // policy ID → document
	described             map[string]string // policy ID → description
	policyTags            map[string]map[string]string
	targetTags            map[string]map[string]string // OU or root ID → its tags
	created               int                          // policies created, for their IDs
	maxPerTarget, maxSize int
	attached              map[string][]string
	faults                []*Fault
	calls                 []Call
	latency               time.Duration
	shared                *bucket                       // one budget every operation draws on (SetRateLimit)
	rateOf                func(op string) contract.Rate // each operation's own throttle (Throttle); nil: none
	buckets               map[string]*bucket
	now                   func() time.Time
	delay                 func(r *http.Request, d time.Duration)
	gates                 map[string]chan struct{} // operation → closed when its calls may go on
	httpServer            *httptest.Server
	pageSize              int
}

// New returns an emulated organization with a management account and no members.
func New(managementID string) *Server {
	s := &Server{
		orgID:        OrganizationID,
		rootID:       "r-ex01",
		management:   managementID,
		accounts:     map[string]*Account{},
		ous:          map[string]string{},
		policies:     map[string]string{FullAWSAccessID: "FullAWSAccess", GuardrailID: "DenyRootUser"},
		contents:     map[string]string{FullAWSAccessID: FullAWSAccessContent, GuardrailID: GuardrailContent},
		attached:     map[string][]string{},
		described:    map[string]string{},
		policyTags:   map[string]map[string]string{},
		targetTags:   map[string]map[string]string{},
		now:          time.Now,
		delay:        func(_ *http.Request, d time.Duration) { time.Sleep(d) },
		maxPerTarget: MaxSCPs, maxSize: MaxSCPSize,
	}
	s.accounts[managementID] = &Account{ID: managementID, Name: "management", Email: "management@example.com", State: "ACTIVE", Parent: s.rootID}
	s.attached[s.rootID] = []string{FullAWSAccessID}
	s.attached[managementID] = []string{FullAWSAccessID}
	return s
}

// Standard returns an organization with a management account and members whose guardrail is
// attached directly beside FullAWSAccess, each tagged owner=<owner>.
func Standard(managementID, owner string, members ...string) *Server {
	s := New(managementID)
	for _, id := range members {
		s.AddAccount(Account{ID: id, Tags: map[string]string{"owner": owner}}, FullAWSAccessID, GuardrailID)
	}
	return s
}

// SetClock sets the clock that stamps calls and refills the rate limit, and what plays the
// latency of a call (a harness's virtual clock: the calling actor's sleep). The default is the
// wall clock.
func (s *Server) SetClock(now func() time.Time, delay func(r *http.Request, d time.Duration)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now, s.delay = now, delay
	s.shared, s.buckets = nil, nil // filled again on the new clock
}

// Reset forgets recorded calls and faults, the throttles and latency.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.faults, s.shared, s.rateOf, s.buckets, s.latency = nil, nil, nil, nil, nil, 0
}

// SetPageSize caps how many items one List answer holds (Organizations' own default is 20), so
// that clients must follow NextToken.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Root is the organization root's ID.
func (s *Server) Root() string { return s.rootID }

// AddOU adds an organizational unit under parent (a root or OU ID).
func (s *Server) AddOU(id, parent string, policies ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ous[id] = parent
	s.attached[id] = append([]string(nil), policies...)
}

// SetContent replaces a policy's document, as UpdatePolicy would.
func (s *Server) SetContent(id, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contents[id] = content
}

// AddPolicy adds a service control policy (content "" denies nothing and allows nothing).
func (s *Server) AddPolicy(id, name string, content ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies[id] = name
	if len(content) > 0 {
		s.contents[id] = content[0]
	}
}

// AddExtraPolicies adds n SCPs that allow everything (p-extra0001, ...), for filling a target's
// slots, and returns their IDs.
func (s *Server) AddExtraPolicies(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p-extra%04d", i+1)
		s.AddPolicy(ids[i], ids[i], FullAWSAccessContent)
	}
	return ids
}

// SetQuotas sets the SCPs allowed per target and the size of a document, in characters.
func (s *Server) SetQuotas(perTarget, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPerTarget, s.maxSize = perTarget, size
}

// MoveAccount moves an account under another parent (a root or OU ID), as MoveAccount would.
func (s *Server) MoveAccount(account, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[account].Parent = parent
}

// Attach attaches a policy to a target as an operator would (no quota, no error).
func (s *Server) Attach(target, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.attached[target], policy) {
		s.attached[target] = append(s.attached[target], policy)
	}
}

// Detach detaches a policy from a target as an operator would.
func (s *Server) Detach(target, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attached[target] = slices.DeleteFunc(s.attached[target], func(p string) bool { return p == policy })
}

// Policies lists every policy's ID, sorted.
func (s *Server) Policies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.policies))
	for id := range s.policies {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Content is a policy's document.
func (s *Server) Content(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contents[id]
}

// RootAllowed answers whether the SCPs on the account's path (root, OUs, account), as attached
// now, permit its root user at instant at, by pkg/policy's evaluation. SCPs do not apply to the
// management account. A document that does not parse denies (it would not have been accepted).
func (s *Server) RootAllowed(account string, at time.Time, assumedRoot bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if account == s.management {
		return true
	}
	var levels [][]policy.Document
	for _, target := range s.path(account) {
		var docs []policy.Document
		for _, id := range s.attached[target] {
			d, err := policy.Parse([]byte(s.contents[id]))
			if err != nil {
				return false
			}
			docs = append(docs, d)
		}
		levels = append(levels, docs)
	}
	return policy.Permits(levels, policy.RootUser(account, at, assumedRoot))
}

// Path lists the targets from the root down to id (the root, OUs, id).
func (s *Server) Path(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path(id)
}

// path lists the targets from the root down to id.
func (s *Server) path(id string) []string {
	out := []string{id}
	for cur := id; cur != s.rootID; {
		parent, ok := s.parentOf(cur)
		if !ok {
			break
		}
		out = append([]string{parent}, out...)
		cur = parent
	}
	return out
}

// AddAccount adds a member account with the given policies attached directly. Missing fields
// get defaults: ACTIVE, under the root.
func (s *Server) AddAccount(a Account, policies ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.State == "" {
		a.State = "ACTIVE"
	}
	if a.Parent == "" {
		a.Parent = s.rootID
	}
	if a.Name == "" {
		a.Name = "member-" + a.ID
	}
	if a.Email == "" {
		a.Email = "aws+" + a.ID + "@example.com"
	}
	s.accounts[a.ID] = &a
	s.attached[a.ID] = append([]string(nil), policies...)
}

// RemoveAccount takes an account out of the organization, as RemoveAccountFromOrganization would.
func (s *Server) RemoveAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, id)
	delete(s.attached, id)
}

// SetTag sets (or with value "" removes) one tag of an account, an OU or the root, as a person would in the console.
func (s *Server) SetTag(target, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags := s.tagsOf(target)
	if value == "" {
		delete(*tags, key)
	} else {
		(*tags)[key] = value
	}
}

// tagsOf is the tag map of an account, an OU or the root (nil if target is none of them), made
// when it has none yet; s.mu is held.
func (s *Server) tagsOf(target string) *map[string]string {
	if a, ok := s.accounts[target]; ok {
		if a.Tags == nil {
			a.Tags = map[string]string{}
		}
		return &a.Tags
	}
	if _, ou := s.ous[target]; ou || target == s.rootID {
		if s.targetTags[target] == nil {
			s.targetTags[target] = map[string]string{}
		}
		m := s.targetTags[target]
		return &m
	}
	return nil
}

// Attached lists the policies attached directly to target.
func (s *Server) Attached(target string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.attached[target]...)
}

// IsAttached reports whether policy is attached directly to target.
func (s *Server) IsAttached(target, policy string) bool {
	for _, p := range s.Attached(target) {
		if p == policy {
			return true
		}
	}
	return false
}

// Snapshot returns every target's direct attachments and every policy's document (under
// "policy <id>"), for comparing before and after.
func (s *Server) Snapshot() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.attached)+len(s.policies))
	for k, v := range s.attached {
		p := append([]string(nil), v...)
		sort.Strings(p)
		out[k] = p
	}
	for id := range s.policies {
		out["policy "+id] = []string{s.policies[id], s.contents[id]}
	}
	return out
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLatency delays every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Gate holds every call of the operations named until release is called: a call in flight for
// exactly as long as a test needs, whatever the machine's speed (latency is a race).
func (s *Server) Gate(ops ...string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gates == nil {
		s.gates = map[string]chan struct{}{}
	}
	open := make(chan struct{})
	for _, op := range ops {
		s.gates[op] = open
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			for _, op := range ops {
				if s.gates[op] == open {
					delete(s.gates, op)
				}
			}
			s.mu.Unlock()
			close(open)
		})
	}
}

// SetRateLimit answers TooManyRequestsException to calls of any operation beyond perSecond
// (one token bucket every operation draws on, holding burst calls): a budget shared with other
// callers, or a storm. perSecond 0 removes it. Throttle sets Organizations' own, per operation.
func (s *Server) SetRateLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shared = nil
	if perSecond > 0 {
		s.shared = newBucket(contract.Rate{PerSecond: perSecond, Burst: burst}, s.now())
	}
}

// Throttle answers TooManyRequestsException to the calls of each operation beyond its rate: a
// token bucket per operation, full at first, as Organizations throttles. Throttle(nil) removes
// them; Throttle(contract.OrganizationsRate) is Organizations' documented throttles.
func (s *Server) Throttle(rate func(op string) contract.Rate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateOf, s.buckets = rate, nil
}

// bucket is a token bucket: burst tokens, refilled at rate a second, one taken per call.
type bucket struct {
	rate, burst, tokens float64
	refilled            time.Time
}

func newBucket(r contract.Rate, now time.Time) *bucket {
	return &bucket{rate: r.PerSecond, burst: float64(r.Burst), tokens: float64(r.Burst), refilled: now}
}

// take takes a token at now, or reports that there is none.
func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.refilled).Seconds(); d > 0 {
		b.tokens = min(b.burst, b.tokens+d*b.rate)
		b.refilled = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Calls returns the calls answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CountCalls counts answered calls of op (any op for "") that ended with code ("" = success).
func (s *Server) CountCalls(op, code string) int {
	n := 0
	for _, c := range s.Calls() {
		if (op == "" || c.Op == op) && c.Error == code {
			n++
		}
	}
	return n
}

// RateBound is the least time Organizations' documented throttles (contract.OrganizationsRate)
// allow for the calls that succeeded: each operation's calls beyond its burst at its rate, every
// operation's bucket draining side by side, with no latency. What a run takes over it is the
// price of the order its calls must come in, of latency, and of pacing.
func RateBound(calls []Call) float64 {
	n := map[string]int{}
	for _, c := range calls {
		if c.Error == "" {
			n[c.Op]++
		}
	}
	bound := 0.0
	for op, k := range n {
		r := contract.OrganizationsRate(op)
		bound = max(bound, float64(max(0, k-r.Burst))/r.PerSecond)
	}
	return bound
}

// Tally adds up, over a benchmark's runs, the Organizations calls each made and the documented
// throttles' bound for them (RateBound).
type Tally struct{ Calls, Bound float64 }

// Since adds the calls s answered after mark (what len(s.Calls()) was), and returns them.
func (t *Tally) Since(s *Server, mark int) []Call {
	made := s.Calls()[mark:]
	t.Calls += float64(len(made))
	t.Bound += RateBound(made)
	return made
}

// Report reports the calls and the bound per run ("calls/op", "bound-s").
func (t Tally) Report(b interface{ ReportMetric(float64, string) }, runs int) {
	b.ReportMetric(t.Calls/float64(runs), "calls/op")
	b.ReportMetric(t.Bound/float64(runs), "bound-s")
}

// Start serves the emulator on a loopback port and returns its URL.
func (s *Server) Start() string {
	s.httpServer = httptest.NewServer(s)
	return s.httpServer.URL
}

// Close stops a started server.
func (s *Server) Close() {
	if s.httpServer != nil {
		s.httpServer.Close()
	}
}

type apiError struct {
	status  int
	code    string
	message string
	extra   map[string]string
}

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// Messages as Organizations words them.
var messages = map[string]string{
	"AccessDeniedException":              "You don't have permissions to perform the requested operation.",
	"AccountNotFoundException":           "You specified an account that doesn't exist.",
	"TargetNotFoundException":            "You specified a target that doesn't exist.",
	"PolicyNotFoundException":            "We can't find a policy with the PolicyId that you specified.",
	"PolicyNotAttachedException":         "The policy isn't attached to the specified target in the specified root.",
	"DuplicatePolicyAttachmentException": "The selected policy is already attached to the specified target.",
	"ConcurrentModificationException":    "The target of the operation is currently being modified by a different request. Try again later.",
	"PolicyChangesInProgressException":   "Changes to the effective policy are in progress, and its contents can't be returned. Try the operation again later.",
	"TooManyRequestsException":           "You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later.",
	"ServiceException":                   "Organizations can't complete your request because of an internal service error. Try again later.",
	"ChildNotFoundException":             "We can't find an organizational unit (OU) or Amazon Web Services account with the ChildId that you specified.",
	"InvalidInputException":              "The requested operation failed because you provided invalid values for one or more of the request parameters.",
	"DuplicatePolicyException":           "A policy with the same name already exists.",
	"MalformedPolicyDocumentException":   "The provided policy document doesn't meet the requirements of the specified policy type.",
	"PolicyInUseException":               "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.",
	"SourceParentNotFoundException":      "We can't find a source root or OU with the ParentId that you specified.",
	"DestinationParentNotFoundException": "We can't find the destination container (a root or OU) with the ParentId that you specified.",
	"ParentNotFoundException":            "We can't find a root or OU with the ParentId that you specified.",
}

func known(code string) *apiError {
	e := errorf(code, "%s", messages[code])
	switch code {
	case "ServiceException":
		e.status = http.StatusInternalServerError
	case "TooManyRequestsException":
		e.extra = map[string]string{"Type": "MAX_RATE"}
	case "AccessDeniedException":
		e.status = http.StatusForbidden
	}
	return e
}

func constraint(reason string) *apiError {
	e := errorf("ConstraintViolationException",
		"Performing this operation violates a minimum or maximum value limit. For example, attempting to remove the last service control policy (SCP) from an OU or root, inviting or creating too many accounts to the organization, or attaching too many policies to an account, OU, or root.")
	e.extra = map[string]string{"Reason": reason}
	return e
}

type input struct {
	Content             string `json:"Content"`
	Name                string `json:"Name"`
	Description         string `json:"Description"`
	Type                string `json:"Type"`
	Tags                []tag  `json:"Tags"`
	SourceParentID      string `json:"SourceParentId"`
	DestinationParentID string `json:"DestinationParentId"`
	AccountID           string `json:"AccountId"`
	ParentID            string `json:"ParentId"`
	TargetID            string `json:"TargetId"`
	PolicyID            string `json:"PolicyId"`
	ResourceID          string `json:"ResourceId"`
	ChildID             string `json:"ChildId"`
	Filter              string `json:"Filter"`
	NextToken           string `json:"NextToken"`
	MaxResults          int    `json:"MaxResults"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func (in input) target() string {
	for _, v := range []string{in.TargetID, in.AccountID, in.ResourceID, in.ChildID} {
		if v != "" {
			return v
		}
	}
	return ""
}

// ServeHTTP answers one AWS JSON 1.1 call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", message: "unknown operation"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var in input
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "SerializationException", message: "cannot read the request body"})
		return
	}
	s.mu.Lock()
	latency, delay, gate := s.latency, s.delay, s.gates[op]
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if latency > 0 {
		delay(r, latency)
	}

	s.mu.Lock()
	out, apiErr := s.handle(op, in)
	call := Call{Op: op, Target: in.target(), Policy: in.PolicyID, At: s.now()}
	if apiErr != nil {
		call.Error = apiErr.code
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]string{"__type": e.code, "Message": e.message}
	for k, v := range e.extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

// handle runs with s.mu held.
func (s *Server) handle(op string, in input) (any, *apiError) {
	if e := s.throttle(op); e != nil {
		return nil, e
	}
	if e := s.fault(op, in.target(), in.PolicyID); e != nil {
		return nil, e
	}
	switch op {
	case "DescribeOrganization":
		return map[string]any{"Organization": map[string]any{
			"Id": s.orgID, "Arn": s.arn("organization"), "FeatureSet": "ALL",
			"MasterAccountId": s.management, "MasterAccountArn": s.accountArn(s.management),
			"MasterAccountEmail": s.accounts[s.management].Email,
		}}, nil
	case "DescribeAccount":
		if !accountPattern.MatchString(in.AccountID) {
			return nil, known("InvalidInputException")
		}
		a, ok := s.accounts[in.AccountID]
		if !ok {
			return nil, known("AccountNotFoundException")
		}
		return map[string]any{"Account": s.accountJSON(a)}, nil
	case "ListAccounts":
		ids := make([]string, 0, len(s.accounts))
		for id := range s.accounts {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		page, next := paginate(ids, in.NextToken, in.MaxResults, s.pageSize)
		accts := make([]any, 0, len(page))
		for _, id := range page {
			accts = append(accts, s.accountJSON(s.accounts[id]))
		}
		return withToken(map[string]any{"Accounts": accts}, next), nil
	case "ListRoots":
		return map[string]any{"Roots": []any{map[string]any{"Id": s.rootID, "Arn": s.arn("root/" + s.orgID + "/" + s.rootID), "Name": "Root",
			"PolicyTypes": []any{map[string]any{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}}}}}, nil
	case "ListOrganizationalUnitsForParent":
		if in.ParentID != s.rootID && s.ous[in.ParentID] == "" {
			return nil, known("ParentNotFoundException")
		}
		var ids []string
		for id, parent := range s.ous {
			if parent == in.ParentID {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		page, next := paginate(ids, in.NextToken, in.MaxResults, s.pageSize)
		out := make([]any, 0, len(page))
		for _, id := range page {
			out = append(out, map[string]any{"Id": id, "Name": id, "Arn": s.arn("ou/" + s.orgID + "/" + id)})
		}
		return withToken(map[string]any{"OrganizationalUnits": out}, next), nil
	case "ListAccountsForParent":
		if in.ParentID != s.rootID && s.ous[in.ParentID] == "" {
			return nil, known("ParentNotFoundException")
		}
		var ids []string
		for id, a := range s.accounts {
			if a.Parent == in.ParentID {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		page, next := paginate(ids, in.NextToken, in.MaxResults, s.pageSize)
		out := make([]any, 0, len(page))
		for _, id := range page {
			out = append(out, s.accountJSON(s.accounts[id]))
		}
		return withToken(map[string]any{"Accounts": out}, next), nil
	case "ListPoliciesForTarget":
		if !s.targetExists(in.TargetID) {
			return nil, known("TargetNotFoundException")
		}
		if in.Filter != "SERVICE_CONTROL_POLICY" {
			return nil, known("InvalidInputException")
		}
		page, next := paginate(s.attached[in.TargetID], in.NextToken, in.MaxResults, s.pageSize)
		pols := make([]any, 0, len(page))
		for _, id := range page {
			pols = append(pols, map[string]any{
				"Id": id, "Name": s.policies[id], "Type": "SERVICE_CONTROL_POLICY",
				"Arn": s.arn("policy/" + s.orgID + "/service_control_policy/" + id), "AwsManaged": id == FullAWSAccessID,
			})
		}
		return withToken(map[string]any{"Policies": pols}, next), nil
	case "ListParents":
		parent, ok := s.parentOf(in.ChildID)
		if !ok {
			return nil, known("ChildNotFoundException")
		}
		typ := "ORGANIZATIONAL_UNIT"
		if parent == s.rootID {
			typ = "ROOT"
		}
		return map[string]any{"Parents": []any{map[string]any{"Id": parent, "Type": typ}}}, nil
	case "ListTagsForResource":
		var all map[string]string
		if tags := s.tagsOf(in.ResourceID); tags != nil {
			all = *tags
		} else if _, ok := s.policies[in.ResourceID]; ok {
			all = s.policyTags[in.ResourceID]
		} else {
			return nil, known("TargetNotFoundException")
		}
		keys := make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		page, next := paginate(keys, in.NextToken, 0, s.pageSize)
		tags := make([]any, 0, len(page))
		for _, k := range page {
			tags = append(tags, map[string]any{"Key": k, "Value": all[k]})
		}
		return withToken(map[string]any{"Tags": tags}, next), nil
	case "DescribePolicy":
		if _, ok := s.policies[in.PolicyID]; !ok {
			return nil, known("PolicyNotFoundException")
		}
		return map[string]any{"Policy": map[string]any{"PolicySummary": s.summary(in.PolicyID), "Content": s.contents[in.PolicyID]}}, nil
	case "ListPolicies":
		if in.Filter != "SERVICE_CONTROL_POLICY" {
			return nil, known("InvalidInputException")
		}
		ids := make([]string, 0, len(s.policies))
		for id := range s.policies {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		page, next := paginate(ids, in.NextToken, in.MaxResults, s.pageSize)
		pols := make([]any, 0, len(page))
		for _, id := range page {
			pols = append(pols, s.summary(id))
		}
		return withToken(map[string]any{"Policies": pols}, next), nil
	case "ListTargetsForPolicy":
		if _, ok := s.policies[in.PolicyID]; !ok {
			return nil, known("PolicyNotFoundException")
		}
		var targets []string
		for t, ps := range s.attached {
			if slices.Contains(ps, in.PolicyID) {
				targets = append(targets, t)
			}
		}
		sort.Strings(targets)
		page, next := paginate(targets, in.NextToken, in.MaxResults, s.pageSize)
		out := make([]any, 0, len(page))
		for _, t := range page {
			typ := "ACCOUNT"
			switch {
			case t == s.rootID:
				typ = "ROOT"
			case s.ous[t] != "":
				typ = "ORGANIZATIONAL_UNIT"
			}
			out = append(out, map[string]any{"TargetId": t, "Type": typ, "Name": t, "Arn": s.arn("target/" + t)})
		}
		return withToken(map[string]any{"Targets": out}, next), nil
	case "CreatePolicy":
		return s.createPolicy(in)
	case "UpdatePolicy":
		return s.updatePolicy(in)
	case "DeletePolicy":
		return s.deletePolicy(in.PolicyID)
	case "MoveAccount":
		a, ok := s.accounts[in.AccountID]
		switch {
		case !ok:
			return nil, known("AccountNotFoundException")
		case a.Parent != in.SourceParentID:
			return nil, known("SourceParentNotFoundException")
		case in.DestinationParentID != s.rootID && s.ous[in.DestinationParentID] == "":
			return nil, known("DestinationParentNotFoundException")
		}
		a.Parent = in.DestinationParentID
		return map[string]any{}, nil
	case "TagResource":
		tags := s.tagsOf(in.ResourceID)
		if tags == nil {
			return nil, known("TargetNotFoundException")
		}
		for _, t := range in.Tags {
			if !tagKey.MatchString(t.Key) || !tagValue.MatchString(t.Value) {
				return nil, &apiError{status: http.StatusBadRequest, code: "InvalidInputException",
					message: "You provided a value that does not match the required pattern.", extra: map[string]string{"Reason": "INVALID_PATTERN"}}
			}
		}
		for _, t := range in.Tags {
			(*tags)[t.Key] = t.Value
		}
		return map[string]any{}, nil
	case "AttachPolicy":
		return s.attach(in.PolicyID, in.TargetID)
	case "DetachPolicy":
		return s.detach(in.PolicyID, in.TargetID)
	}
	return nil, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", message: "the emulator does not implement " + op}
}

var accountPattern = regexp.MustCompile(`^\d{12}$`)

// Organizations' Tag patterns (API reference, "Tag"): a key of 1 to 128, a value of 0 to 256
// letters, digits, spaces and _.:/=+-@.
var (
	tagKey   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
)

func (s *Server) summary(id string) map[string]any {
	return map[string]any{"Id": id, "Name": s.policies[id], "Description": s.described[id], "Type": "SERVICE_CONTROL_POLICY",
		"AwsManaged": id == FullAWSAccessID, "Arn": s.arn("policy/" + s.orgID + "/service_control_policy/" + id)}
}

// checkContent refuses a document as Organizations does: one that is not a policy
// (MalformedPolicyDocumentException) or is over the size quota (ConstraintViolationException).
func (s *Server) checkContent(content string) *apiError {
	if _, err := policy.Parse([]byte(content)); err != nil {
		return known("MalformedPolicyDocumentException")
	}
	if len(content) > s.maxSize {
		return constraint("POLICY_CONTENT_LIMIT_EXCEEDED")
	}
	return nil
}

func (s *Server) createPolicy(in input) (any, *apiError) {
	if in.Type != "SERVICE_CONTROL_POLICY" || in.Name == "" || len(in.Name) > 128 || len(in.Description) > 512 {
		return nil, known("InvalidInputException")
	}
	for _, name := range s.policies {
		if name == in.Name {
			return nil, known("DuplicatePolicyException")
		}
	}
	if e := s.checkContent(in.Content); e != nil {
		return nil, e
	}
	s.created++
	id := fmt.Sprintf("p-rw%06d", s.created)
	s.policies[id], s.contents[id], s.described[id] = in.Name, in.Content, in.Description
	s.policyTags[id] = map[string]string{}
	for _, t := range in.Tags {
		s.policyTags[id][t.Key] = t.Value
	}
	return map[string]any{"Policy": map[string]any{"PolicySummary": s.summary(id), "Content": in.Content}}, nil
}

func (s *Server) updatePolicy(in input) (any, *apiError) {
	if _, ok := s.policies[in.PolicyID]; !ok {
		return nil, known("PolicyNotFoundException")
	}
	if in.PolicyID == FullAWSAccessID {
		return nil, known("AccessDeniedException") // AWS managed
	}
	if in.Content != "" {
		if e := s.checkContent(in.Content); e != nil {
			return nil, e
		}
		s.contents[in.PolicyID] = in.Content
	}
	if in.Name != "" {
		s.policies[in.PolicyID] = in.Name
	}
	if in.Description != "" {
		s.described[in.PolicyID] = in.Description
	}
	return map[string]any{"Policy": map[string]any{"PolicySummary": s.summary(in.PolicyID), "Content": s.contents[in.PolicyID]}}, nil
}

func (s *Server) deletePolicy(id string) (any, *apiError) {
	if _, ok := s.policies[id]; !ok {
		return nil, known("PolicyNotFoundException")
	}
	for _, ps := range s.attached {
		if slices.Contains(ps, id) {
			return nil, known("PolicyInUseException")
		}
	}
	delete(s.policies, id)
	delete(s.contents, id)
	delete(s.described, id)
	delete(s.policyTags, id)
	return map[string]any{}, nil
}

func (s *Server) attach(policy, target string) (any, *apiError) {
	if _, ok := s.policies[policy]; !ok {
		return nil, known("PolicyNotFoundException")
	}
	if !s.targetExists(target) {
		return nil, known("TargetNotFoundException")
	}
	for _, p := range s.attached[target] {
		if p == policy {
			return nil, known("DuplicatePolicyAttachmentException")
		}
	}
	if len(s.attached[target]) >= s.maxPerTarget {
		return nil, constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
	}
	s.attached[target] = append(s.attached[target], policy)
	return map[string]any{}, nil
}

func (s *Server) detach(policy, target string) (any, *apiError) {
	if _, ok := s.policies[policy]; !ok {
		return nil, known("PolicyNotFoundException")
	}
	if !s.targetExists(target) {
		return nil, known("TargetNotFoundException")
	}
	list := s.attached[target]
	for i, p := range list {
		if p != policy {
			continue
		}
		if len(list) <= MinSCPs {
			return nil, constraint("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
		}
		s.attached[target] = append(append([]string(nil), list[:i]...), list[i+1:]...)
		return map[string]any{}, nil
	}
	return nil, known("PolicyNotAttachedException")
}

func (s *Server) targetExists(id string) bool {
	if id == s.rootID {
		return true
	}
	if _, ok := s.ous[id]; ok {
		return true
	}
	_, ok := s.accounts[id]
	return ok
}

func (s *Server) parentOf(id string) (string, bool) {
	if a, ok := s.accounts[id]; ok {
		return a.Parent, true
	}
	p, ok := s.ous[id]
	return p, ok
}

// throttle takes op's token from its own bucket and the shared one; s.mu is held. A call
// refused by one takes none from the other.
func (s *Server) throttle(op string) *apiError {
	now := s.now()
	var own *bucket
	if s.rateOf != nil {
		if s.buckets == nil {
			s.buckets = map[string]*bucket{}
		}
		if own = s.buckets[op]; own == nil {
			own = newBucket(s.rateOf(op), now)
			s.buckets[op] = own
		}
		if !own.take(now) {
			return known("TooManyRequestsException")
		}
	}
	if s.shared != nil && !s.shared.take(now) {
		if own != nil {
			own.tokens++ // not spent: the call was refused
		}
		return known("TooManyRequestsException")
	}
	return nil
}

func (s *Server) fault(op, target, policy string) *apiError {
	for _, f := range s.faults {
		if (f.Op != "" && f.Op != op) || (f.Target != "" && f.Target != target) || (f.Policy != "" && f.Policy != policy) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		if f.Times < 0 {
			continue // used up
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				f.Times = -1
			}
		}
		if f.Code == "ConstraintViolationException" {
			return constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
		}
		if _, ok := messages[f.Code]; ok {
			return known(f.Code)
		}
		return errorf(f.Code, "injected %s", f.Code)
	}
	return nil
}

func (s *Server) arn(resource string) string {
	return "arn:aws:organizations::" + s.management + ":" + resource
}

func (s *Server) accountArn(id string) string {
	return s.arn("account/" + s.orgID + "/" + id)
}

func (s *Server) accountJSON(a *Account) map[string]any {
	status := a.State
	if status == "CLOSED" || status == "PENDING_ACTIVATION" {
		status = "SUSPENDED"
	}
	return map[string]any{
		"Id": a.ID, "Arn": s.accountArn(a.ID), "Name": a.Name, "Email": a.Email,
		"State": a.State, "Status": status, "JoinedMethod": "CREATED", "JoinedTimestamp": 1.7e9,
	}
}

func paginate(items []string, token string, max, pageSize int) ([]string, string) {
	if max <= 0 || max > 20 {
		max = 20
	}
	if pageSize > 0 && pageSize < max {
		max = pageSize
	}
	start, _ := strconv.Atoi(token)
	if start > len(items) {
		start = len(items)
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

func withToken(m map[string]any, next string) map[string]any {
	if next != "" {
		m["NextToken"] = next
	}
	return m
}
