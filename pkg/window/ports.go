package window

import (
	"context"
	"errors"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/identity"
)

// The ports: what the window service asks of the world beyond Organizations, DynamoDB and the
// notifications, in its own words. Adapters implement them with the AWS SDK (pkg/stepfunctions,
// pkg/trail, pkg/rootaccess, pkg/directory); this package imports no SDK service, so a function links only the
// services its main wires (ARCHITECTURE.md, "What each function links").

// Executions says what Step Functions knows of an execution: whether it still runs (the sweep),
// and, for a step binding itself to the execution that invoked it, which state machine runs it
// and with what input; and stops one (an early end: the api).
type Executions interface {
	// Status is the execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), or
	// ErrNoExecution if there is none.
	Status(ctx context.Context, executionARN string) (string, error)
	// Describe is the execution, or ErrNoExecution.
	Describe(ctx context.Context, executionARN string) (Execution, error)
	// RoleOf is the IAM role a state machine runs as.
	RoleOf(ctx context.Context, stateMachineARN string) (string, error)
	// Stop stops a running execution with errorName and cause; stopping one that is not running
	// changes nothing. ErrNoExecution if there is none.
	Stop(ctx context.Context, executionARN, errorName, cause string) error
}

// Execution is what Step Functions says of one execution.
type Execution struct {
	StateMachineARN, Name, Status string
	Input                         []byte // the execution's input, JSON
}

// Decisions sends an approver's decision to the execution waiting on a task token. Both answer
// ErrTaskGone when no execution waits on the token any more (it timed out or ended).
type Decisions interface {
	Approve(ctx context.Context, token string, approval contract.Approval) error
	Deny(ctx context.Context, token, errorName, cause string) error
}

// Starters says who started an execution, from a record the starter cannot forge (CloudTrail's
// StartExecution event): identity.ErrNotYetRecorded until the record is there.
type Starters interface {
	StarterOf(ctx context.Context, executionARN string, startedAt time.Time) (identity.Starter, error)
}

// RootAccess audits and prepares signing in as a member account's root user (centralized root
// access, sts:AssumeRoot).
type RootAccess interface {
	Audit(ctx context.Context, account, email string) contract.SignIn
	AllowPasswordRecovery(ctx context.Context, account string) (bool, error)
	// DeletePassword deletes the root user's password again once the window is over.
	DeletePassword(ctx context.Context, account string) error
	DeleteCommand(account string) string
}

// Groups says which IAM Identity Center groups a user is a member of (the identity store), for
// owners named by group (authz.GroupPrefix), and who a user is: the user ID, which a person keeps
// when their user name changes, for the four-eyes rule.
type Groups interface {
	// MemberOf is the subset of groupIDs that the Identity Center user userName is a direct
	// member of; none for a user the identity store does not know.
	MemberOf(ctx context.Context, userName string, groupIDs []string) ([]string, error)
	// UserID is the user ID of the Identity Center user userName; "" for a user the identity
	// store does not know.
	UserID(ctx context.Context, userName string) (string, error)
}

// RootSessions says which sts:AssumeRoot sessions rootwindow's own roles opened, from
// CloudTrail's record of the calls (pkg/trail), so that what those sessions did (a booking's root
// sign-in audit, a password allowed or deleted) is not taken for root activity outside windows.
type RootSessions interface {
	// RootSessionsOpenedBy are the access key IDs of the AssumeRoot sessions that sessions of
	// roles opened from from to to.
	RootSessionsOpenedBy(ctx context.Context, roles []string, from, to time.Time) (map[string]bool, error)
}

// RootActivity reads what member accounts' root users did, from CloudTrail Lake or an
// organization trail's log group (pkg/rootevents): what root did in a window (its report), and
// root activity outside any window.
type RootActivity interface {
	// Source names where the events come from: the event data store's or the log group's ARN.
	Source() string
	// RootEvents are the root users' events from from to to, inclusive, on accounts (every
	// account when none), in time order, with the query that found them.
	RootEvents(ctx context.Context, accounts []string, from, to time.Time) (RootQuery, error)
}

// RootQuery is one query of root activity: its ID and statement (a person can run it again) and
// the events it found.
type RootQuery struct {
	ID, Statement string
	Events        []contract.RootEvent
}

// Errors the ports answer.
var (
	ErrNoExecution = errors.New("no such execution")
	ErrTaskGone    = errors.New("no execution waits on the task token any more")
)
