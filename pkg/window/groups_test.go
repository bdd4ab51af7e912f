package window_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/directory"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

const (
	identityStore = "d-1234567890"
	teamGroup     = "9067000000-a1b2c3d4-5678-90ab-cdef-000000000001"
	otherGroup    = "9067000000-a1b2c3d4-5678-90ab-cdef-000000000002"
)

// withGroups answers group membership from the emulator's identity store through the real
// identity store client.
func (e *env) withGroups() {
	cfg := testenv.AWSConfig()
	cfg.Retryer = testenv.ConnectionRetries
	e.With(func(d *window.Deps) {
		d.Groups = directory.FromConfig(cfg, aws.String(e.Emu.URL()), identityStore)
	})
}

// Owners by IAM Identity Center group: an owner tag naming a group (group:<ID>) lets its members
// ask for a window; a requester in no group it names is refused, naming the tag; a member removed
// after the booking is refused at the lift, and nothing is lifted.
func TestOwnersByIdentityCenterGroup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.withGroups()
	e.Emu.AddToGroup(identityStore, teamGroup, "alice@example.com")
	e.Emu.AddToGroup(identityStore, otherGroup, "bob@example.com")
	e.Org.SetTag(members[0], "owner", "carol@example.com group:"+otherGroup+" group:"+teamGroup)
	e.Org.SetTag(members[1], "owner", "group:"+teamGroup)

	w, err := e.validate(t, "req-1", validRequest(members[0], members[1]))
	if err != nil {
		t.Fatalf("a member of the owning group: %v", err)
	}
	calls := e.Emu.DirectoryCalls()
	if calls != 2 { // the user once, its groups once: each account's groups asked once per check
		t.Errorf("%d identity store calls for two accounts", calls)
	}

	req := validRequest(members[2])
	e.Org.SetTag(members[2], "owner", "group:"+teamGroup)
	req["requester"] = bob
	_, err = e.validate(t, "req-2", req)
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, `accountIds[0]: "`+bob+`" is not an owner of `+members[2]+` (not listed in its "owner" tag, nor a member of a group it names)`) {
		t.Errorf("a requester outside the group: %s", got)
	}

	e.Emu.RemoveFromGroup(identityStore, teamGroup, "alice@example.com")
	_, err = e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours})
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), `"`+alice+`" is not an owner of `+members[0]) {
		t.Fatalf("a member removed since the booking: %v", err)
	}
	if n := e.Org.CountCalls("DetachPolicy", ""); n != 0 {
		t.Errorf("%d accounts lifted", n)
	}
	e.AssertGuardrail(t, true, members[0], members[1], members[2])
	e.AssertStatus(t, "req-1", ledger.Failed)
}

// A group owns nothing for a principal that cannot be a member of one (not an Identity Center
// user), nor where no identity store is configured; each refusal says why.
func TestGroupsOwnOnlyWhereTheyCan(t *testing.T) {
	e := newEnv(t)
	e.Emu.AddToGroup(identityStore, teamGroup, "alice@example.com")
	e.Org.SetTag(members[0], "owner", "group:"+teamGroup)
	_, err := e.validate(t, "req-1", validRequest(members[0]))
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, "whose groups only count where identityStoreId is set") {
		t.Errorf("no identity store configured: %s", got)
	}
	e.withGroups()
	const user = "arn:aws:iam::999999999999:user/alice@example.com"
	e.With(func(d *window.Deps) {
		d.Config.AdminPrincipals = append(d.Config.AdminPrincipals, "arn:aws:iam::999999999999:user/*")
	})
	req := validRequest(members[0])
	req["requester"] = user
	_, err = e.validate(t, "req-2", req)
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, "whose groups have only IAM Identity Center users as members") {
		t.Errorf("an IAM user named like a member: %s", got)
	}
	if e.Emu.DirectoryCalls() != 0 {
		t.Errorf("%d identity store calls for requests no group could allow", e.Emu.DirectoryCalls())
	}
	if _, err := e.validate(t, "req-3", validRequest(members[0])); err != nil {
		t.Errorf("the member, once the identity store is configured: %v", err)
	}
}
