package release_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/internal/release"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

func spec(template []byte) release.Spec {
	s := release.Spec{Version: "v1.4.0", Template: template, Functions: map[string][]byte{}, CLIs: map[string][]byte{}}
	for _, f := range contract.Functions {
		s.Functions[f] = []byte("bootstrap of " + f)
	}
	for _, p := range release.Platforms {
		s.CLIs[p] = []byte("rootwindow for " + p)
	}
	return s
}

// A release built from the template the CDK synthesizes (through jsii) holds the packaged template,
// each function's zip with its bootstrap, the rootwindow binaries for four platforms, the version,
// and SHA256SUMS naming every other file with its digest; the template's functions name their zip,
// and nothing of the CDK's assets or bootstrap is left in it.
func TestAReleaseOfTheSynthesizedTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack through jsii (Node)")
	}
	testenv.SkipWithoutNode(t)
	tmpl, err := cdktest.Template(awscdk.StackProps{}, config.Settings{GuardrailPolicyID: "p-rootguard01", OrganizationID: "o-exampleorg1",
		AdminPrincipals: []string{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_*/*"}, OwnerTagKey: "owner", BookingHorizonDays: 7, MaxAccountsPerRequest: 50})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(tmpl)
	if !strings.Contains(string(raw), "cdk-hnb659fds-assets-") {
		t.Fatal("the synthesized template refers to no asset: the check proves nothing")
	}
	dir := filepath.Join(t.TempDir(), "rootwindow-1.4.0")
	files, err := release.Build(dir, spec(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SHA256SUMS", "VERSION", "bin/rootwindow-darwin-amd64", "bin/rootwindow-darwin-arm64", "bin/rootwindow-linux-amd64", "bin/rootwindow-linux-arm64",
		"functions/api.zip", "functions/detach.zip", "functions/reattach.zip", "functions/sweeper.zip", "functions/validate.zip", "template.json"}
	slices.Sort(files)
	if !slices.Equal(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if v := read("VERSION"); string(v) != "1.4.0\n" {
		t.Errorf("VERSION %q", v)
	}
	sums := strings.Split(strings.TrimSpace(string(read("SHA256SUMS"))), "\n")
	if len(sums) != len(want)-1 {
		t.Errorf("%d checksums for %d files", len(sums), len(want)-1)
	}
	for _, line := range sums {
		sum, name, ok := strings.Cut(line, "  ")
		got := sha256.Sum256(read(name))
		if !ok || hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS says %q for %s", sum, name)
		}
	}
	template := read("template.json")
	if strings.Contains(string(template), "cdk-hnb659fds-assets") || strings.Contains(string(template), "BootstrapVersion") || strings.Contains(string(template), "aws:asset:") {
		t.Error("the packaged template still refers to the CDK's assets or bootstrap")
	}
	var packaged struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(template, &packaged); err != nil {
		t.Fatal(err)
	}
	functions := 0
	for id, r := range packaged.Resources {
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		functions++
		path, _ := r.Properties["Code"].(string)
		zr, err := zip.OpenReader(filepath.Join(dir, path))
		if err != nil {
			t.Errorf("%s's code %q: %v", id, path, err)
			continue
		}
		f, err := zr.File[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		name := strings.TrimSuffix(filepath.Base(path), ".zip")
		if zr.File[0].Name != "bootstrap" || zr.File[0].Mode()&0o111 == 0 || !bytes.Equal(b, []byte("bootstrap of "+name)) || !strings.HasPrefix(strings.ToLower(id), "functions"+name) {
			t.Errorf("%s's zip %s holds %s (%v): %q", id, path, zr.File[0].Name, zr.File[0].Mode(), b)
		}
		_ = zr.Close()
	}
	if functions != 5 {
		t.Errorf("%d functions in the packaged template", functions)
	}
	// Built again, the same bytes (the zips carry fixed times): checksums can be reproduced.
	again := filepath.Join(t.TempDir(), "again")
	if _, err := release.Build(again, spec(raw)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(again, "SHA256SUMS")); !bytes.Equal(b, read("SHA256SUMS")) {
		t.Error("the same release built twice differs")
	}
}

// A release is refused, saying why, for a version that is not semantic, a binary missing, a
// folder that exists, or a template whose functions and zips do not match.
func TestAReleaseRefusesWhatIsWrong(t *testing.T) {
	tmpl := []byte(`{"Resources":{"FunctionsValidate1A2B":{"Type":"AWS::Lambda::Function","Properties":{"Code":{"S3Bucket":{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},"S3Key":"x.zip"}}}},"Parameters":{"BootstrapVersion":{"Type":"AWS::SSM::Parameter::Value<String>"}}}`)
	s := spec(tmpl)
	for _, f := range contract.Functions[1:] {
		delete(s.Functions, f)
	}
	if _, err := release.Build(filepath.Join(t.TempDir(), "ok"), s); err != nil {
		t.Errorf("a template with one function and its zip: %v", err)
	}
	for name, change := range map[string]func(*release.Spec) string{
		"not a semantic version": func(s *release.Spec) string { s.Version = "1.4"; return "not a semantic version" },
		"a platform missing":     func(s *release.Spec) string { delete(s.CLIs, "darwin-arm64"); return "rootwindow for darwin-arm64" },
		"a zip too many":         func(s *release.Spec) string { s.Functions["api"] = []byte("x"); return "no function for" },
		"a function without its zip": func(s *release.Spec) string {
			delete(s.Functions, "validate")
			return "has no zip"
		},
		"another asset left": func(s *release.Spec) string {
			s.Template = []byte(strings.Replace(string(tmpl), `"Parameters"`, `"Outputs":{"X":{"Value":"cdk-hnb659fds-assets-1"}},"Parameters"`, 1))
			return "still refers to the CDK's assets"
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := spec(tmpl)
			for _, f := range contract.Functions[1:] {
				delete(s.Functions, f)
			}
			want := change(&s)
			if _, err := release.Build(filepath.Join(t.TempDir(), "r"), s); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want %q", err, want)
			}
		})
	}
	dir := t.TempDir() // exists
	if _, err := release.Build(dir, s); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("into a folder that exists: %v", err)
	}
}
