package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/rootwindow/rootwindow/pkg/request"
)

// helpTasks lists the root tasks a request may name (rootwindow help tasks).
func helpTasks(env Env) int {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tWHAT\tWITHOUT A WINDOW")
	for _, t := range request.Tasks {
		alt := "-"
		if t.TaskPolicy != "" {
			alt = "sts:AssumeRoot, task policy " + t.TaskPolicy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.What, alt)
	}
	_ = tw.Flush()
	return ExitOK
}
