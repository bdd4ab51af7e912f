// Command api is the rootwindow Lambda behind the REST API: it validates and reserves a request
// synchronously, starts its workflow, and reads, ends or cancels requests.
package main

import (
	"errors"
	"os"

	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	workflow.MainWith(func(s *workflow.Steps) (any, error) {
		if s.Config.StateMachineARN == "" {
			return nil, errors.New(config.EnvStateMachineARN + " is required")
		}
		return api.New(s, api.NewStepFunctionsClient(s.AWS, os.Getenv), s.Config.StateMachineARN).Handle, nil
	})
}
