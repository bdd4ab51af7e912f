package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
)

// The README's `rootwindow` examples ("With the `rootwindow` command"), read from the README and
// run verbatim against the playground, in order, as alice: the example request ID (api-3f…)
// stands for the request the first command made. Each answers as a reader of the README would
// expect: the window lifted and followed until the guardrail is back, the listing, the
// help; an end of a window already over answers it as it is; what cannot apply to that request
// (cancelling a window that ran, approving or denying one's own) is refused, exit 1; the
// integration's request the README confirms (evt-…) is a placeholder no playground request
// replaces, refused as a command line, exit 2; the report comes once the sweeper has made it.
func TestTheREADMEsCommandsAgainstThePlayground(t *testing.T) {
	testenv.SkipWithoutNode(t)
	commands := readmeCommands(t)
	if len(commands) < 10 {
		t.Fatalf("found %d commands in the README's block: %q", len(commands), commands)
	}
	var said bytes.Buffer
	p, err := Start(context.Background(), Options{Speed: 3600, Strategy: "auto", Log: &lockedBuffer{b: &said}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// --wait and --until-closed poll every 15 s of the wall clock; the playground's hour is a
	// second of it.
	alice := p.command(aliceKey, aliceSecret, func(ctx context.Context, _ time.Duration) error { time.Sleep(100 * time.Millisecond); return ctx.Err() })
	run := func(args []string) (int, string, string) { return alice(args...) }
	want := map[string]int{"request": cli.ExitOK, "status": cli.ExitOK, "list": cli.ExitOK, "end": cli.ExitOK, "help": cli.ExitOK,
		"cancel": cli.ExitRefused, "confirm": cli.ExitUsage, "approve": cli.ExitRefused, "deny": cli.ExitRefused, "report": cli.ExitOK}
	id := ""
	for _, line := range commands {
		args := shellWords(t, line)
		if args[0] != "rootwindow" {
			t.Fatalf("not a rootwindow command: %q", line)
		}
		args = args[1:]
		for i, a := range args {
			if a == "api-3f…" {
				if id == "" {
					t.Fatalf("%q names the example request before any was made", line)
				}
				args[i] = id
			}
		}
		verb := args[0]
		code, out, errOut := run(args)
		if verb == "report" {
			for range 100 { // the sweeper makes it 15 minutes of the playground's clock after the end
				if code == cli.ExitOK {
					break
				}
				time.Sleep(200 * time.Millisecond)
				code, out, errOut = run(args)
			}
		}
		if expected, known := want[verb]; !known || code != expected {
			t.Errorf("%s\n  exit %d (want %d): %s %s", line, code, expected, out, errOut)
		}
		if verb == "request" && id == "" {
			id = strings.Fields(out + errOut)[1] // "request <id> accepted: ..."
			if !strings.HasPrefix(id, "api-") {
				t.Fatalf("the first request said %q", out+errOut)
			}
		}
	}
}

// readmeCommands are the commands of the README's first shell block after "With the `rootwindow`
// command": continuation lines joined, comments dropped.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### With the `rootwindow` command")
	if !ok {
		t.Fatal("the README has no \"With the `rootwindow` command\" section")
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the section has no shell block")
	}
	var commands []string
	pending := ""
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(uncomment(line))
		if line == "" {
			continue
		}
		if cont, found := strings.CutSuffix(line, `\`); found {
			pending += cont + " "
			continue
		}
		commands = append(commands, pending+line)
		pending = ""
	}
	return commands
}

// uncomment drops a shell comment (a # outside quotes, at the start or after a space).
func uncomment(line string) string {
	quote := rune(0)
	for i, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case quote == 0 && r == '#' && (i == 0 || line[i-1] == ' '):
			return line[:i]
		}
	}
	return line
}

// shellWords splits a command line as a shell would: on spaces, quotes grouping.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unclosed quote in %q", line)
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
