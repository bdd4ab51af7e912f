//go:build !linux

package testenv

import "os/exec"

// dieWithParent: only Linux has a parent-death signal; elsewhere the test's cleanup stops cmd.
func dieWithParent(*exec.Cmd) {}
