// Command caseflow is the command line for care-management operations staff:
// open cases, record each step, inspect and list cases. Run "caseflow --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/caseflow/caseflow/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
