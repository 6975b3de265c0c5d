// Command render prints the desired resources of an XR, rendered by the real
// Crossplane engine with our function. It is what `make render` runs.
//
//	go run ./test/render/cmd/render [-xr examples/xr.yaml] [-observed ...] [-required ...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	sdk "github.com/crossplane/function-sdk-go"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/test/render"
)

func main() {
	o := render.Options{}
	flag.StringVar(&o.XR, "xr", "examples/xr.yaml", "the XR to render")
	flag.StringVar(&o.Composition, "composition", "compositions/aichatworkspace.yaml", "the Composition")
	flag.StringVar(&o.Functions, "functions", "examples/functions.yaml", "the Functions file")
	flag.StringVar(&o.Observed, "observed", "", "observed composed resources (optional)")
	flag.StringVar(&o.Required, "required", "", "resources the function requires, e.g. model Job pods (optional)")
	flag.BoolVar(&o.IncludeResults, "results", false, "also print the function's results")
	flag.BoolVar(&o.IncludeFullXR, "full-xr", false, "print the XR's spec too")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log, err := sdk.NewLogger(false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := render.Run(ctx, function.New(log), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
}
