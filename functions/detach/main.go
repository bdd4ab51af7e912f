// Command detach is the rootwindow Lambda that lifts the guardrail SCP from the request's accounts and starts the window.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	steps, err := workflow.FromEnvironment(context.Background(), workflow.Wiring{Getenv: os.Getenv})
	if err != nil {
		workflow.Fatal(err)
		os.Exit(1)
	}
	lambda.Start(steps.Detach)
}
