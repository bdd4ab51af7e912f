package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// newFlags is a command's flag set: errors are returned, never printed by the flag package.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args strictly: a flag given twice, or given an empty value, is a mistake (the
// flag package would keep the last value, and an empty --start would book a window starting now).
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		if _, done := f.Value.(*onceValue); !done {
			f.Value = &onceValue{Value: f.Value}
		}
	})
	return fs.Parse(args)
}

// onceValue is a flag's value that may be set once, and not to nothing.
type onceValue struct {
	flag.Value
	set bool
}

func (v *onceValue) Set(s string) error {
	switch {
	case v.set:
		return errors.New("given more than once: give each flag once")
	case strings.TrimSpace(s) == "":
		return errors.New("empty: give a value, or leave the flag out")
	}
	v.set = true
	return v.Value.Set(s)
}

// IsBoolFlag lets a boolean flag stand alone (--wait), as the flag package's own do.
func (v *onceValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagError answers a command line the flag package refused: --help shows the usage (exit 0);
// anything else is a usage error naming the flag as it is typed (--hours).
func flagError(env Env, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	msg := err.Error()
	if m := badValue.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("--%s: %s", m[2], m[3])
		if !strings.Contains(m[3], "given more than once") && !strings.HasPrefix(m[3], "empty") {
			msg = fmt.Sprintf("--%s: %s is not a value it takes (%s)", m[2], m[1], m[3])
		}
	} else if m := badBool.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("--%s: %s", m[1], m[2])
	} else if m := undefined.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("--%s is not a flag of %s", m[1], strings.TrimPrefix(fs.Name(), "rootwindow "))
	}
	return usageError(env, "%s", msg)
}

// How the flag package words its refusals.
var (
	badValue  = regexp.MustCompile(`^invalid value ("(?:[^"\\]|\\.)*") for flag -(\S+): (.*)$`)
	badBool   = regexp.MustCompile(`^invalid boolean flag (\S+): (.*)$`)
	undefined = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
)
