package modeljob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/ollama/ollama/api"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/function/version"
)

// cli is model-job's command line. Flags override the environment.
type cli struct {
	OllamaHost     string        `name:"ollama-host" env:"OLLAMA_HOST" placeholder:"URL" help:"Ollama server, e.g. http://ollama.tenant.svc.cluster.local:11434 (default 127.0.0.1:11434, as the ollama client)."`
	WaitTimeout    time.Duration `default:"10m" help:"How long to wait for Ollama to answer (a scaled-to-zero Ollama takes a while to wake)."`
	Timeout        time.Duration `default:"2h" help:"Bound on the pull or create once Ollama answers."`
	TerminationLog string        `default:"/dev/termination-log" type:"path" help:"Where the one-line JSON summary goes."`
	// Pattern settings are global so a Job may give them before or after
	// the command; pull ignores them.
	PatternSource  string        `env:"PATTERN_SOURCE" default:"${pattern_source}" help:"Where create finds patterns: a base URL (http/https) or an absolute directory / file:// URL holding <name>/system.md."`
	PatternTimeout time.Duration `default:"30s" help:"Time limit for fetching one pattern."`

	// Version names the image the Job runs (stamped by the package build).
	Version kong.VersionFlag `help:"Print the version and exit."`

	Pull   pullCmd   `cmd:"" help:"Pull a base model and wait until Ollama lists it."`
	Create createCmd `cmd:"" help:"Create an assistant model from a base model and fabric patterns."`
}

type pullCmd struct {
	Model    string `arg:"" help:"Model to pull, e.g. llama3.2:1b."`
	Insecure bool   `help:"Allow a registry over plain http (an in-cluster mirror)."`
}

type createCmd struct {
	Name    string   `arg:"" help:"Name of the assistant model."`
	From    string   `required:"" help:"Base model the assistant is built on."`
	Pattern []string `required:"" sep:"none" help:"Fabric pattern whose system.md goes into the system prompt; repeat for more, in order."`
	Var     []string `sep:"none" placeholder:"K=V" help:"Value for {{K}} in the patterns; repeatable."`
	Param   []string `sep:"none" placeholder:"K=V" help:"Model parameter as in a Modelfile PARAMETER line (${params}); repeatable (stop more than once)."`
}

// Options are the parts of a run tests change; zero values mean the
// defaults.
type Options struct {
	Stdout, Stderr io.Writer
	// Backoff between attempts to reach Ollama.
	Backoff Backoff
}

// exitRequest carries kong's Exit (after --help) out of the parser.
type exitRequest int

// Run executes model-job with args (without the program name) and returns
// the exit code. It writes the summary to the termination log whenever it
// knows which command it runs.
func Run(ctx context.Context, args []string, o Options) (code int) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Backoff == (Backoff{}) {
		o.Backoff = Backoff{Initial: time.Second, Max: 15 * time.Second}
	}
	log := slog.New(slog.NewJSONHandler(o.Stderr, nil))

	var c cli
	parser, err := kong.New(&c,
		kong.Name("model-job"),
		kong.Description("Pulls base models and creates assistant models in a workspace's Ollama. Exit codes: 0 ready, 1 internal error, 2 usage, 3 Ollama unreachable, 4 model failed."),
		kong.Writers(o.Stdout, o.Stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.Vars{"pattern_source": DefaultPatternSource, "params": fmt.Sprint(ParameterNames()), "version": version.Version},
	)
	if err != nil {
		fmt.Fprintln(o.Stderr, "model-job:", err)
		return ExitInternal
	}
	defer func() {
		if r := recover(); r != nil {
			ec, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = int(ec)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		// Without a parsed command we still know the kind from the first
		// argument, and the function wants a summary for every Job.
		fmt.Fprintf(o.Stderr, "model-job: %v\n", err)
		writeParseFailure(args, c, usageError{err}, log)
		return ExitUsage
	}

	var (
		name string
		kind v1alpha1.ModelKind
		op   operation
	)
	switch kctx.Command() {
	case "pull <model>":
		name, kind = c.Pull.Model, v1alpha1.ModelKindBase
		op, err = c.pull(log)
	case "create <name>":
		name, kind = c.Create.Name, v1alpha1.ModelKindAssistant
		op, err = c.create(log)
	default:
		err = usageError{fmt.Errorf("unknown command %q", kctx.Command())}
	}
	var msg string
	if err == nil {
		msg, err = c.run(ctx, op, o.Backoff, log)
	}
	s := NewSummary(name, kind, msg, err)
	code = ExitCode(err)
	if err != nil {
		log.Error("model job failed", "model", name, "kind", kind, "exit_code", code, "error", err.Error())
	} else {
		log.Info("model job succeeded", "model", name, "kind", kind, "message", msg)
	}
	if werr := WriteSummary(c.TerminationLog, s); werr != nil {
		log.Error("cannot write summary", "path", c.TerminationLog, "error", werr.Error())
		if code == ExitOK {
			code = ExitInternal
		}
	}
	return code
}

// An operation is the command's work once Ollama answers.
type operation func(context.Context, *api.Client) (string, error)

// run waits for Ollama, then runs op within the operation timeout.
func (c *cli) run(ctx context.Context, op operation, b Backoff, log *slog.Logger) (string, error) {
	base, err := ParseHost(c.OllamaHost)
	if err != nil {
		return "", usageError{err}
	}
	client := NewClient(base)
	log.Info("connecting to ollama", "host", base.Redacted(), "wait_timeout", c.WaitTimeout.String())
	if _, err := WaitForOllama(ctx, client, c.WaitTimeout, b, log); err != nil {
		return "", fmt.Errorf("ollama at %s: %w", base.Redacted(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	msg, err := op(ctx, client)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return "", fmt.Errorf("%w (gave up after --timeout %s)", err, c.Timeout)
	}
	return msg, err
}

func (c *cli) pull(log *slog.Logger) (operation, error) {
	if err := ValidateModelName(c.Pull.Model); err != nil {
		return nil, usageError{err}
	}
	return func(ctx context.Context, client *api.Client) (string, error) {
		return Pull(ctx, client, c.Pull.Model, PullOptions{Insecure: c.Pull.Insecure, ProgressStep: 10}, log)
	}, nil
}

func (c *cli) create(log *slog.Logger) (operation, error) {
	cc := c.Create
	for _, n := range []string{cc.Name, cc.From} {
		if err := ValidateModelName(n); err != nil {
			return nil, usageError{err}
		}
	}
	for _, p := range cc.Pattern {
		if err := ValidatePatternName(p); err != nil {
			return nil, usageError{err}
		}
	}
	vars, err := ParseVariables(cc.Var)
	if err != nil {
		return nil, usageError{err}
	}
	params, err := ParseParameters(cc.Param)
	if err != nil {
		return nil, usageError{err}
	}
	if c.PatternTimeout <= 0 {
		return nil, usageError{fmt.Errorf("--pattern-timeout must be positive, got %s", c.PatternTimeout)}
	}
	src, err := NewPatternSource(c.PatternSource, c.PatternTimeout, log)
	if err != nil {
		return nil, usageError{err}
	}
	a := Assistant{Name: cc.Name, From: cc.From, Patterns: cc.Pattern, Vars: vars, Params: params}
	return func(ctx context.Context, client *api.Client) (string, error) {
		return CreateAssistant(ctx, client, src, a, log)
	}, nil
}

// writeParseFailure writes a Failed summary for arguments kong rejected,
// reading what it can from the raw arguments (kong may not have set any
// field before it failed).
func writeParseFailure(args []string, c cli, err error, log *slog.Logger) {
	var (
		kind v1alpha1.ModelKind
		name string
	)
	path := c.TerminationLog
	for i, a := range args {
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch {
		case kind == "" && a == "pull":
			kind, name = v1alpha1.ModelKindBase, next
		case kind == "" && a == "create":
			kind, name = v1alpha1.ModelKindAssistant, next
		case a == "--termination-log":
			path = next
		case strings.HasPrefix(a, "--termination-log="):
			path = strings.TrimPrefix(a, "--termination-log=")
		}
	}
	if strings.HasPrefix(name, "-") {
		name = ""
	}
	if path == "" {
		path = "/dev/termination-log"
	}
	if werr := WriteSummary(path, NewSummary(name, kind, "", err)); werr != nil {
		log.Error("cannot write summary", "path", path, "error", werr.Error())
	}
}
