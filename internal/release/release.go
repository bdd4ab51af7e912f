// Package release writes a versioned release of rootwindow for one deployment's configuration: the
// CloudFormation template the CDK synthesized, its Lambda assets turned into local zip files that
// `aws cloudformation package` uploads and `aws cloudformation deploy` deploys (no Go, Node or CDK
// where it is deployed, nor the CDK's bootstrap), the five functions' zips, the `rootwindow`
// binaries for linux and darwin on amd64 and arm64, and SHA256SUMS of everything. The template is
// the configuration's: rootwindow's settings decide its roles' permissions and resource policies,
// so a release is built for a configuration (make release CONFIG=... VERSION=...), reviewed, and
// deployed with the tools a team already has.
package release

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Spec is what a release is made of.
type Spec struct {
	Version string // semantic version: 1.4.0, 1.5.0-rc.1 (a leading v is dropped)
	// Template is the synthesized template (cdk.out/RootWindow.template.json).
	Template []byte
	// Functions are the Lambda bootstraps (linux/arm64) by function folder name (validate, ...).
	Functions map[string][]byte
	// CLIs are the rootwindow binaries by platform (linux-amd64, darwin-arm64, ...).
	CLIs map[string][]byte
}

// Platforms are the platforms a release carries the rootwindow command for.
var Platforms = []string{"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64"}

var semver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// Version checks a semantic version and returns it without a leading v.
func Version(v string) (string, error) {
	v = strings.TrimPrefix(v, "v")
	if !semver.MatchString(v) {
		return "", fmt.Errorf("version %q is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0 or 1.5.0-rc.1)", v)
	}
	return v, nil
}

// zipTime stamps every file in a zip: the same inputs make the same bytes, so a release's
// checksums can be reproduced.
var zipTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Build writes the release into dir (which must not exist yet) and returns the files it wrote,
// relative to dir.
func Build(dir string, s Spec) ([]string, error) {
	version, err := Version(s.Version)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range Platforms {
		if len(s.CLIs[p]) == 0 {
			missing = append(missing, "rootwindow for "+p)
		}
	}
	for name, b := range s.Functions {
		if len(b) == 0 {
			missing = append(missing, "the "+name+" function's bootstrap")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the release lacks %s", strings.Join(missing, ", "))
	}
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%s exists already: a release is written once", dir)
	}
	files := map[string][]byte{}
	code := map[string]string{}
	for name, bootstrap := range s.Functions {
		z, err := zipOf("bootstrap", bootstrap)
		if err != nil {
			return nil, err
		}
		path := "functions/" + name + ".zip"
		files[path], code[name] = z, path
	}
	template, err := Package(s.Template, code)
	if err != nil {
		return nil, err
	}
	files["template.json"] = template
	for _, p := range Platforms {
		files["bin/rootwindow-"+p] = s.CLIs[p]
	}
	files["VERSION"] = []byte(version + "\n")
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var sums strings.Builder
	for _, name := range names {
		sum := sha256.Sum256(files[name])
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	files["SHA256SUMS"] = []byte(sums.String())
	names = append(names, "SHA256SUMS")
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(path, files[name], mode); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// zipOf is a zip holding one executable file.
func zipOf(name string, content []byte) ([]byte, error) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	f, err := w.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(content); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Package turns the synthesized template into one `aws cloudformation package` can upload: each
// Lambda function's code, an object in the CDK's asset bucket, becomes the local zip code names
// for it (matched by the asset's folder, which is the function's name), and what only the CDK's
// bootstrap provides (the BootstrapVersion parameter, the rule checking it, the assets' metadata)
// is taken out. Every function must have its zip, and no reference to the CDK's assets may be
// left.
func Package(template []byte, code map[string]string) ([]byte, error) {
	var t map[string]any
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, fmt.Errorf("the template is not JSON: %w", err)
	}
	resources, _ := t["Resources"].(map[string]any)
	if len(resources) == 0 {
		return nil, errors.New("the template has no resources")
	}
	used := map[string]bool{}
	for id, r := range resources {
		res, _ := r.(map[string]any)
		meta, _ := res["Metadata"].(map[string]any)
		for k := range meta {
			if strings.HasPrefix(k, "aws:asset:") {
				delete(meta, k)
			}
		}
		if len(meta) == 0 {
			delete(res, "Metadata")
		}
		if res["Type"] != "AWS::Lambda::Function" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		name := functionOf(id)
		path, ok := code[name]
		if !ok {
			return nil, fmt.Errorf("function %s (%s) has no zip in the release", id, name)
		}
		props["Code"] = path
		used[name] = true
	}
	for name := range code {
		if !used[name] {
			return nil, fmt.Errorf("the release has a zip for %s, which the template has no function for", name)
		}
	}
	if params, ok := t["Parameters"].(map[string]any); ok {
		delete(params, "BootstrapVersion")
		if len(params) == 0 {
			delete(t, "Parameters")
		}
	}
	if rules, ok := t["Rules"].(map[string]any); ok {
		delete(rules, "CheckBootstrapVersion")
		if len(rules) == 0 {
			delete(t, "Rules")
		}
	}
	out, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return nil, err
	}
	if left := assetReferences(out); len(left) > 0 {
		return nil, fmt.Errorf("the packaged template still refers to the CDK's assets: %s", strings.Join(left, ", "))
	}
	return append(out, '\n'), nil
}

// functionOf is the function folder a function's logical ID names ("FunctionsValidate1A2B3C4D" →
// "validate").
func functionOf(logicalID string) string {
	id := strings.TrimPrefix(logicalID, "Functions")
	for _, name := range contract.Functions {
		if strings.HasPrefix(strings.ToLower(id), name) {
			return name
		}
	}
	return logicalID
}

var assetRef = regexp.MustCompile(`cdk-[a-z0-9]+-assets-|AssetParameters|BootstrapVersion|aws:asset:`)

// assetReferences are the references to the CDK's assets and bootstrap left in a template.
func assetReferences(template []byte) []string {
	var left []string
	for _, m := range assetRef.FindAll(template, -1) {
		if s := string(m); !slices.Contains(left, s) {
			left = append(left, s)
		}
	}
	return left
}
