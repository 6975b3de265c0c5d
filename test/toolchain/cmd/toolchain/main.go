// Command toolchain builds (once) and prints the paths of the cached tools.
//
//	go run ./test/toolchain/cmd/toolchain path crossplane-cli
//	go run ./test/toolchain/cmd/toolchain build [name ...]   # all when none
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "toolchain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: toolchain path NAME | build [NAME ...]; names: %s", strings.Join(toolchain.Names(), ", "))
	}
	switch args[0] {
	case "path":
		if len(args) != 2 {
			return fmt.Errorf("usage: toolchain path NAME")
		}
		t, err := lookup(args[1])
		if err != nil {
			return err
		}
		p, err := t.Path(ctx, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Println(p)
		return nil
	case "build":
		names := args[1:]
		if len(names) == 0 {
			names = toolchain.Names()
		}
		for _, n := range names {
			t, err := lookup(n)
			if err != nil {
				return err
			}
			p, err := t.Path(ctx, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "toolchain: %-24s %s\n", n, p)
		}
		return nil
	default:
		return fmt.Errorf("unknown command %q: use path or build", args[0])
	}
}

func lookup(name string) (toolchain.Tool, error) {
	t, ok := toolchain.All[name]
	if !ok {
		return t, fmt.Errorf("unknown tool %q; known: %s", name, strings.Join(toolchain.Names(), ", "))
	}
	return t, nil
}
