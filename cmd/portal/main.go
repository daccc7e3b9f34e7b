// Command portal is the OpenSMD Secure Message Delivery portal: web UI, SMD
// provider endpoints, workers and operator tools in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/opensmd/portal/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
