// Command validate is the rootwindow Lambda that validates a root access window request, checks the requester and the organization, and reserves the accounts.
package main

import "github.com/rootwindow/rootwindow/pkg/workflow"

func main() {
	workflow.Main(func(s *workflow.Steps) any { return s.Validate })
}
