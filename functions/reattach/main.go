// Command reattach is the rootwindow Lambda that puts the guardrail SCP back and closes the request.
package main

import "github.com/rootwindow/rootwindow/pkg/workflow"

func main() {
	workflow.Main(func(s *workflow.Steps) any { return s.Reattach })
}
