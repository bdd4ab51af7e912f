package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
)

// The playground end to end, with the real rootwindow command under the environment it prints
// (started with -approval): alice asks for a window, may not approve it herself, bob approves it,
// alice waits for the lift, reads it and lists it, ends it early and waits for the guardrail to be
// back; a second window closes by the playground's clock; preflight and rollout read and change
// the emulated organization. Nothing here knows the playground's insides but its
// environment.
func TestEveryVerbAgainstThePlayground(t *testing.T) {
	testenv.SkipWithoutNode(t)
	said := &lockedBuffer{b: &bytes.Buffer{}}
	p, err := Start(context.Background(), Options{Speed: 3600, Strategy: "auto", Approval: true, Log: said})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var welcome bytes.Buffer
	p.PrintWelcome(&welcome, "bin/playground.log")
	for _, want := range []string{"export ROOTWINDOW_ENDPOINT=" + p.gatewayURL(), "export AWS_ACCESS_KEY_ID=" + aliceKey, "rootwindow request --accounts 111111111111"} {
		if !strings.Contains(welcome.String(), want) {
			t.Errorf("the welcome lacks %q:\n%s", want, welcome.String())
		}
	}
	alice, bob := p.command(aliceKey, aliceSecret, nil), p.command(bobKey, bobSecret, nil)
	// Started with -approval: each request waits for bob.
	ask := func(account, reason string) string {
		t.Helper()
		code, out, errOut := alice("request", "--accounts", account, "--hours", "1", "--reason", reason, "--output", "json")
		var req struct{ RequestID string }
		if code != cli.ExitOK || json.Unmarshal([]byte(out), &req) != nil || req.RequestID == "" {
			t.Fatalf("request: exit %d, %s %s", code, out, errOut)
		}
		if code, out, errOut := alice("approve", req.RequestID); code == cli.ExitOK {
			t.Errorf("alice approved her own request: %s %s", out, errOut)
		}
		if code, out, errOut := bob("approve", req.RequestID, "--reason", "checked PLAY"); code != cli.ExitOK {
			t.Fatalf("bob approving: exit %d, %s %s", code, out, errOut)
		}
		return req.RequestID
	}
	id := ask("111111111111", "Reset the root password (PLAY-1)")
	code, out, errOut := alice("status", id, "--wait", "--poll", "1s", "--timeout", "1m", "--output", "json")
	if code != cli.ExitOK || last(t, out)["status"] != "OPEN" {
		t.Fatalf("status --wait: exit %d, %s %s", code, out, errOut)
	}
	if code, out, _ := alice("status", id); code != cli.ExitOK || !strings.Contains(out, id) {
		t.Errorf("status: exit %d, %s", code, out)
	}
	if code, out, _ := alice("list"); code != cli.ExitOK || !strings.Contains(out, id) {
		t.Errorf("list: exit %d, %s", code, out)
	}
	if code, out, errOut := alice("end", id); code != cli.ExitOK {
		t.Errorf("end: exit %d, %s %s", code, out, errOut)
	}
	if code, out, errOut := alice("status", id, "--until-closed", "--poll", "1s", "--timeout", "1m", "--output", "json"); code != cli.ExitOK || last(t, out)["status"] != "CLOSED" {
		t.Errorf("status --until-closed after an end: exit %d, %s %s", code, out, errOut)
	}
	// Its report, a quarter of an hour of the playground's clock later: the root sign-in played in it.
	reported := false
	for range 60 {
		code, out, _ := alice("report", id)
		if reported = code == cli.ExitOK && strings.Contains(out, "ConsoleLogin") && strings.Contains(out, "111111111111"); reported {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !reported {
		code, out, errOut := alice("report", id)
		t.Errorf("report: exit %d, %s %s", code, out, errOut)
	}
	// A window left to run closes by the playground's clock (an hour passes in a second).
	second := ask("222222222222", "Enable MFA delete (PLAY-2)")
	code, out, errOut = alice("status", second, "--until-closed", "--poll", "1s", "--timeout", "2m", "--output", "json")
	if code != cli.ExitOK || last(t, out)["status"] != "CLOSED" {
		t.Errorf("a window left to close: exit %d, %s %s", code, out, errOut)
	}

	// The organization's verbs, against the emulated organization.
	if code, out, errOut := alice("preflight", "--policy-id", p.h.PolicyID, "--strategy", "auto"); code != cli.ExitOK ||
		!strings.Contains(out, "555555555555") || !strings.Contains(out, "owner tag missing") || !strings.Contains(out, "guardrail not applied") {
		t.Errorf("preflight: exit %d, %s %s", code, out, errOut)
	}
	if code, out, errOut := alice("rollout", "plan", "--policy-id", p.h.PolicyID, "--accounts", "666666666666", "--owner", "alice@example.com", "--apply"); code != cli.ExitOK ||
		!strings.Contains(out, "Applied 2 call(s).") {
		t.Errorf("rollout --apply: exit %d, %s %s", code, out, errOut)
	}
	// The second window's execution ends a moment after its record says CLOSED (it announces,
	// then leaves its last state), and the playground says so when it has: wait for it.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(said.String(), "SUCCEEDED") && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(said.String(), "SUCCEEDED") {
		t.Errorf("the playground said: %s", said.String())
	}
}

// command is `rootwindow` against the playground, signed with key and secret, under the
// environment it prints; sleep, when given, is how --wait and --until-closed wait between looks.
func (p *Playground) command(key, secret string, sleep func(context.Context, time.Duration) error) func(args ...string) (int, string, string) {
	env := p.Env()
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }, Sleep: sleep,
			AWS: func(ctx context.Context, _, _ string) (aws.Config, error) {
				cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(env["AWS_REGION"]))
				cfg.Credentials = credentials.NewStaticCredentialsProvider(key, secret, "")
				return cfg, err
			}})
		return code, out.String(), errOut.String()
	}
}

// last is the last of the JSON objects the command printed (with --wait: the record as it was
// when the wait ended).
func last(t *testing.T, out string) map[string]any {
	t.Helper()
	var rec map[string]any
	d := json.NewDecoder(strings.NewReader(out))
	for d.More() {
		if err := d.Decode(&rec); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
	}
	return rec
}

type lockedBuffer struct {
	b  *bytes.Buffer
	mu sync.Mutex
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
