// Command sweeper is rootwindow's safety net: it restores the guardrail for an execution that
// ended without closing its window (Step Functions status change), and on a schedule restores
// every window that is over, sends pending notifications and reports drift.
package main

import "github.com/rootwindow/rootwindow/pkg/workflow"

func main() {
	workflow.Main(func(s *workflow.Steps) any { return s.SafetyNet })
}
