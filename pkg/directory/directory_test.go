package directory_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/directory"
)

func groupID(i int) string { return fmt.Sprintf("9067000000-a1b2c3d4-5678-90ab-cdef-%012d", i) }

func newDirectory(t *testing.T, store string) (*directory.Directory, *awsemu.Server) {
	t.Helper()
	emu := awsemu.New()
	url := emu.Start()
	t.Cleanup(emu.Close)
	cfg := testenv.AWSConfig()
	cfg.Retryer = testenv.ConnectionRetries
	return directory.FromConfig(cfg, aws.String(url), store), emu
}

// More groups than one IsMemberInGroups call takes (100) are asked in several calls; the answer
// is the groups the user is in, and only those.
func TestMemberOfManyGroups(t *testing.T) {
	d, emu := newDirectory(t, "d-1234567890")
	var groups []string
	for i := range 230 {
		groups = append(groups, groupID(i))
	}
	emu.AddToGroup("d-1234567890", groupID(7), "alice@example.com")
	emu.AddToGroup("d-1234567890", groupID(199), "alice@example.com")
	emu.AddToGroup("d-1234567890", groupID(3), "bob@example.com")
	in, err := d.MemberOf(context.Background(), "alice@example.com", groups)
	if err != nil || !slices.Equal(in, []string{groupID(7), groupID(199)}) {
		t.Fatalf("got %v %v", in, err)
	}
	if n := emu.DirectoryCalls(); n != 4 { // the user, then 100 + 100 + 30 groups
		t.Errorf("%d calls", n)
	}
}

// A user the identity store does not know is in no group; an identity store that does not exist
// is an error, never "no member" (a wrong identityStoreId must be seen).
func TestUnknownUserAndUnknownStore(t *testing.T) {
	d, emu := newDirectory(t, "d-1234567890")
	emu.AddUser("d-1234567890", "alice@example.com")
	if in, err := d.MemberOf(context.Background(), "mallory@example.com", []string{groupID(1)}); err != nil || len(in) != 0 {
		t.Errorf("unknown user: %v %v", in, err)
	}
	wrong, _ := newDirectory(t, "d-0000000000")
	if _, err := wrong.MemberOf(context.Background(), "alice@example.com", []string{groupID(1)}); err == nil {
		t.Error("an identity store that does not exist answered")
	}
}
