// Command sre is the platform's SRE assistant: it watches workspace
// namespaces, groups what goes wrong into incidents and writes a diagnosis
// (the LLM's, and a rule-based hint) on the workspace's claim. It is its own
// program in the function's image, run as its own Deployment with its own
// read-mostly RBAC (sre/deploy), so a bug in it can never stop composition.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	"k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aichatworkspaces/workspaces/function/version"
	"github.com/aichatworkspaces/workspaces/sre/controller"
	"github.com/aichatworkspaces/workspaces/sre/llm"
	"github.com/aichatworkspaces/workspaces/sre/prompt"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sre:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg        llm.Config
		tokenFile  string
		metrics    = flag.String("metrics-address", ":8080", "address of /metrics")
		health     = flag.String("health-address", ":8081", "address of /healthz and /readyz")
		window     = flag.Duration("history-window", 24*time.Hour, "an incident seen again within this window is not diagnosed again")
		maxHist    = flag.Int("history-size", 4096, "incidents remembered at most")
		maxPrompt  = flag.Int("prompt-max-bytes", prompt.DefaultMaxBytes, "bound of the prompt")
		globalRate = flag.Duration("llm-global-interval", 10*time.Second, "at most one LLM request per interval across all workspaces (after a burst)")
		globalB    = flag.Int("llm-global-burst", 5, "burst of the global LLM limit")
		wsRate     = flag.Duration("llm-workspace-interval", 5*time.Minute, "at most one LLM request per interval per workspace (after a burst)")
		wsB        = flag.Int("llm-workspace-burst", 3, "burst of the per-workspace LLM limit")
	)
	flag.StringVar(&cfg.URL, "llm-url", os.Getenv("SRE_LLM_URL"), "Ollama API base URL (or the portal's /llm/<workspace>); empty: rule-based hints only")
	flag.StringVar(&cfg.Model, "llm-model", os.Getenv("SRE_LLM_MODEL"), "model to ask")
	flag.StringVar(&tokenFile, "llm-token-file", "", "file holding a bearer token for the LLM (the portal gateway's API token)")
	flag.DurationVar(&cfg.Timeout, "llm-timeout", 2*time.Minute, "bound of one LLM request")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return nil
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
	opts := controller.Options{
		History:        controller.NewHistory(*window, *maxHist),
		PromptMaxBytes: *maxPrompt,
		Limiter: llm.NewLimiter(llm.Limits{
			Global: rate.Every(*globalRate), GlobalBurst: *globalB,
			PerWorkspace: rate.Every(*wsRate), Burst: *wsB,
		}),
		Log: log,
	}
	if cfg.URL != "" {
		if tokenFile != "" {
			b, err := os.ReadFile(tokenFile)
			if err != nil {
				return err
			}
			cfg.Token = strings.TrimSpace(string(b))
		}
		c, err := llm.New(cfg)
		if err != nil {
			return err
		}
		opts.LLM = c
	} else {
		log.Info("no LLM configured: diagnoses are rule-based hints")
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme.Scheme,
		Cache:                  controller.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: *metrics, ExtraHandlers: map[string]http.Handler{"/incidents": opts.History}},
		HealthProbeBindAddress: *health,
	})
	if err != nil {
		return err
	}
	if err := controller.Setup(mgr, opts); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
