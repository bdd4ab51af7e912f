// Command detach is the rootwindow Lambda that lifts the guardrail SCP from the request's accounts and starts the window.
package main

import "github.com/rootwindow/rootwindow/pkg/workflow"

func main() {
	workflow.Main(func(s *workflow.Steps) any { return s.Detach })
}
