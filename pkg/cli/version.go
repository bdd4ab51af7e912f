package cli

import "runtime/debug"

// version is the release this binary was built as: set at build time
// (-ldflags "-X github.com/rootwindow/rootwindow/pkg/cli.version=v1.2.3"); otherwise Version reads
// what Go recorded of the build.
var version string

// Version is the binary's version: the release it was built as, else the module's version and the
// source revision Go recorded, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	v, revision, modified := "devel", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	switch {
	case revision != "" && modified:
		v += " (" + revision + ", modified)"
	case revision != "":
		v += " (" + revision + ")"
	}
	return v
}
