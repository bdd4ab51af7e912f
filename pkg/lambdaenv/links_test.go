package lambdaenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/testenv"
)

// ARCHITECTURE.md's table of what each function links is what `go list -deps` says: a function
// that comes to link a service it does not call (an import reaching an adapter, or an SDK service
// back in a package every function imports) fails here, as does a table out of date.
func TestEachFunctionLinksWhatItCalls(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(doc), "## What each function links")
	if !found {
		t.Fatal(`ARCHITECTURE.md has no "What each function links" section`)
	}
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.Contains(cells[2], "---") || strings.TrimSpace(cells[1]) == "function" {
			if strings.HasPrefix(line, "## ") {
				break
			}
			continue
		}
		fn := strings.TrimSpace(cells[1])
		var want []string
		for s := range strings.SplitSeq(cells[2], ",") {
			want = append(want, strings.TrimSpace(s))
		}
		slices.Sort(want)
		out, err := exec.Command("go", "list", "-deps", "github.com/rootwindow/rootwindow/functions/"+fn).Output()
		if err != nil {
			t.Fatalf("go list -deps functions/%s: %v", fn, err)
		}
		var got []string
		for dep := range strings.SplitSeq(string(out), "\n") {
			if service, ok := strings.CutPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/"); ok && !strings.Contains(service, "/") {
				got = append(got, service)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s links %v; ARCHITECTURE.md says %v", fn, got, want)
		}
		rows++
	}
	if rows != 5 {
		t.Errorf("the table has %d functions, want the five", rows)
	}
}
