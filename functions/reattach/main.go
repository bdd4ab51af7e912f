// Command reattach is the rootwindow Lambda that puts the guardrail SCP back and closes the request.
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
	lambda.Start(steps.Reattach)
}
