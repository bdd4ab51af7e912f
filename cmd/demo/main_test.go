package main

import (
	"strings"
	"testing"
)

// Every bad make variable is refused before anything is built, started or synthesized, naming
// the variable (the checks return before the harness exists, so each case takes microseconds).
func TestBadVariablesAreRefusedByName(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-hours", "5"}, "(HOURS) must be a whole number of hours from 1 to 4, got 5"},
		{[]string{"-hours", "0"}, "(HOURS) must be a whole number of hours from 1 to 4, got 0"},
		{[]string{"-hours", "two"}, `HOURS must be a whole number, got "two"`},
		{[]string{"-hours", "1.5"}, `HOURS must be a whole number, got "1.5"`},
		{[]string{"-accounts", "0"}, "(ACCOUNTS) must be from 1 to 50, got 0"},
		{[]string{"-accounts", "51"}, "(ACCOUNTS) must be from 1 to 50, got 51"},
		{[]string{"-accounts", "3x"}, `ACCOUNTS must be a whole number, got "3x"`},
		{[]string{"-start-in", "-5m"}, "(START_IN) must not be negative"},
		{[]string{"-start-in", "30"}, "START_IN must be a duration with its unit"},
		{[]string{"-fault", "bogus"}, "(FAULT) must be one of none, throttle"},
		{[]string{"-layout", "tree"}, "(LAYOUT) must be direct, ou, root or mixed"},
		{[]string{"-strategy", "swap"}, "(STRATEGY) must be detach, exempt or auto"},
		{[]string{"-channel", "web"}, "(CHANNEL) must be console or cli"},
	} {
		err := run(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
}
