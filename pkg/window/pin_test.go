package window_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// The README's pin recipe, run verbatim with the AWS CLI against the emulator, gives the hash
// rootwindow compares with guardrailContentSha256, and a booking under that pin goes through, for
// a document however it ends: as compact JSON, with the newline a file upload leaves, or pretty
// printed with tabs and Windows line ends. (An earlier recipe, text output through $(…), dropped a
// document's own trailing newline and pinned the wrong hash.) It needs the AWS CLI and jq, as the
// recipe does; without them it says so and skips.
func TestTheREADMEPinRecipe(t *testing.T) {
	for _, tool := range []string{"aws", "jq", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's pin recipe needs %s, which is not on this machine's PATH", tool)
		}
	}
	// The CLI must take its endpoint from the environment (AWS_ENDPOINT_URL_<SERVICE>: version
	// 1.29 of the AWS CLI, 2.13 of v2), or the recipe would go to AWS itself.
	version, _ := exec.Command("aws", "--version").CombinedOutput()
	if m := regexp.MustCompile(`aws-cli/(\d+)\.(\d+)`).FindStringSubmatch(string(version)); m == nil ||
		!(m[1] == "1" && atoi(m[2]) >= 29 || m[1] == "2" && atoi(m[2]) >= 13 || atoi(m[1]) > 2) {
		t.Skipf("the AWS CLI here (%s) cannot be pointed at the emulator by AWS_ENDPOINT_URL_ORGANIZATIONS", strings.TrimSpace(string(version)))
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var recipe string
	for _, b := range blocks {
		if strings.Contains(b[1], "describe-policy --policy-id <id>") {
			recipe = b[1]
		}
	}
	if recipe == "" {
		t.Fatal("no sh block in README.md holds the pin recipe (describe-policy --policy-id <id>)")
	}
	recipe = strings.ReplaceAll(dedent(recipe), "<id>", orgemu.GuardrailID)

	compact := strings.Join(strings.Fields(orgemu.GuardrailContent), "")
	for name, doc := range map[string]string{
		"compact":                 compact,
		"with a trailing newline": orgemu.GuardrailContent + "\n",
		"pretty, tabs and CRLF":   strings.ReplaceAll(strings.ReplaceAll(orgemu.GuardrailContent, "\n", "\r\n"), "  ", "\t") + "\r\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.Org.SetContent(orgemu.GuardrailID, doc)
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", recipe)
			// The machine's own AWS settings left out: the emulator's endpoint and test keys only.
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "AWS_") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL_ORGANIZATIONS="+e.Org.Start(), "AWS_ACCESS_KEY_ID=AKIDTEST",
				"AWS_SECRET_ACCESS_KEY=test-secret", "AWS_DEFAULT_REGION=us-east-1",
				"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the recipe failed: %v\n%s%s", err, out, stderr.String())
			}
			got := strings.Fields(string(out))
			sum := sha256.Sum256([]byte(doc))
			if want := hex.EncodeToString(sum[:]); len(got) == 0 || got[0] != want {
				t.Fatalf("the recipe printed %q, want the document's sha256 %s", out, want)
			}
			e.With(func(d *window.Deps) { d.Config.GuardrailSHA256 = got[0] })
			if problem, err := e.Steps.GuardrailProblem(context.Background()); err != nil || problem != "" {
				t.Fatalf("pinned with the recipe's hash: %q, %v", problem, err)
			}
			if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
				t.Errorf("a booking under the recipe's pin: %v", err)
			}
			e.AssertStatus(t, "req-1", "SCHEDULED")
		})
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// dedent takes off the indentation a code block has inside a Markdown list.
func dedent(block string) string {
	lines := strings.Split(block, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, " ")
	}
	return strings.Join(lines, "\n")
}
