// Command model-job runs in a workspace's model Jobs: it pulls base models
// into the workspace's Ollama and creates assistant models from fabric
// patterns. See package modeljob for the arguments, exit codes and the
// summary it writes to the termination log.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aichatworkspaces/workspaces/function/modeljob"
)

func main() {
	// The kubelet sends SIGTERM when the Job is deleted or times out; the
	// context ends the Ollama requests so a Failed summary is still written.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := modeljob.Run(ctx, os.Args[1:], modeljob.Options{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
