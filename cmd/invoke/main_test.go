package main

import (
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/testenv"
)

func TestInvokeRunsEachStepOnItsSample(t *testing.T) {
	testenv.SkipWithoutNode(t) // dynalite
	var out strings.Builder
	if err := run([]string{"-function", "reattach"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"first validate on events/validate.json", "first detach on events/detach.json", `"status": "OPEN"`, `"status": "CLOSED"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestInvokeNamesABadFunction(t *testing.T) {
	err := run([]string{"-function", "detatch"}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), `-function must be one of api, detach, reattach, sweeper, validate, got "detatch"`) {
		t.Errorf("got %v", err)
	}
}
