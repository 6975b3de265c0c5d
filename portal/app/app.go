// Package app wires the portal together from its configuration: database,
// migrations, token keys, the cluster client and the HTTP server. The portal
// binary, the load benchmark and end-to-end tests all start the portal
// through it, so they run the same thing.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"gorm.io/gorm"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/aichatworkspaces/workspaces/portal/api"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/gateway"
	"github.com/aichatworkspaces/workspaces/portal/patterns"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/web"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

// App is a configured portal.
type App struct {
	Server *api.Server
	Store  *store.GormStore
	Kube   *workspaces.Kube // nil without a cluster
	log    *slog.Logger
	stop   context.CancelFunc

	stopUsage context.CancelFunc
	flushed   chan struct{}
}

// Options are what the configuration cannot carry.
type Options struct {
	// RestConfig overrides --kubeconfig / in-cluster discovery.
	RestConfig *rest.Config
	// GatewayResolver overrides where the LLM gateway finds a workspace's
	// Ollama (tests and the gateway benchmark point it at a local one).
	GatewayResolver gateway.Resolver
}

// OpenStore opens the configured database (MySQL when a DSN is given, the
// embedded SQLite file otherwise) and applies the pending migrations, which
// every entry point (serve, migrate, admin) needs before anything else. It
// returns the versions it applied.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.GormStore, *gorm.DB, []int, error) {
	dsn, err := cfg.Database()
	if err != nil {
		return nil, nil, nil, err
	}
	st, db, err := store.Open(dsn, cfg.SQLitePath, log)
	if err != nil {
		return nil, nil, nil, err
	}
	applied, err := store.Migrate(ctx, db)
	if err != nil {
		_ = st.Close()
		return nil, nil, nil, err
	}
	return st, db, applied, nil
}

// New opens the database (migrating it), and connects to the cluster. The
// claim cache starts in the background; workspace reads answer 503 until it
// has synced.
func New(ctx context.Context, cfg config.Config, opts Options, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, generated, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	if generated {
		log.Warn("dev mode: generated a random JWT secret; tokens will not survive a restart (set PORTAL_JWT_SECRET_FILE)")
	}
	st, _, applied, err := OpenStore(ctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("database migrated", "applied", applied)
	}
	hasher, err := auth.NewHasher(cfg.BcryptCost)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a := &App{Store: st, log: log}
	var svc workspaces.Service = workspaces.Disabled{}
	rc, err := restConfig(cfg, opts)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if rc != nil {
		klog.SetSlogLogger(log.With("component", "client-go"))
		k, err := workspaces.NewKube(rc, workspaces.Options{
			Namespace: cfg.ClaimNamespace, PerUser: cfg.NamespacePerUser, NamespacePrefix: cfg.NamespacePrefix,
		}, log)
		if err != nil {
			_ = st.Close()
			return nil, err
		}
		kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		a.stop = cancel
		k.Start(kctx)
		a.Kube, svc = k, k
		log.Info("watching AIChatWorkspace claims", "host", rc.Host, "namespace", map[bool]string{true: "per user", false: cfg.ClaimNamespace}[cfg.NamespacePerUser])
	} else {
		log.Info("no cluster configured: workspace endpoints answer 503")
	}
	ui, err := web.New()
	if err != nil {
		a.Close()
		return nil, err
	}
	srv, err := api.New(api.Deps{
		Config: cfg, Store: st, Hasher: hasher, Workspaces: svc, Log: log, Web: ui,
		Tokens:          auth.NewTokens(key, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTTL, nil),
		Patterns:        patterns.New(cfg.PatternSource, cfg.PatternCatalog, cfg.PatternTTL),
		GatewayResolver: opts.GatewayResolver,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Server = srv
	// Token usage is written in batches until Close, which writes the rest.
	gctx, gcancel := context.WithCancel(context.WithoutCancel(ctx))
	a.flushed = make(chan struct{})
	a.stopUsage = gcancel
	go func() {
		defer close(a.flushed)
		srv.Gateway().Run(gctx, cfg.GatewayUsageFlush)
	}()
	return a, nil
}

func restConfig(cfg config.Config, opts Options) (*rest.Config, error) {
	switch {
	case opts.RestConfig != nil:
		return opts.RestConfig, nil
	case cfg.Kubeconfig != "":
		rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("cannot load the kubeconfig: %w", err)
		}
		return rc, nil
	}
	rc, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, nil
	}
	return rc, err
}

// Serve answers on ln until ctx ends, then drains in-flight requests.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           a.Server,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	a.log.Info("portal listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

// Close stops the claim cache, writes pending token usage and closes the
// database.
func (a *App) Close() {
	if a.stop != nil {
		a.stop()
	}
	if a.stopUsage != nil {
		a.stopUsage()
		<-a.flushed
	}
	if err := a.Store.Close(); err != nil {
		a.log.Warn("closing the database", "error", err)
	}
}

// Logger builds the portal's JSON logger.
func Logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad log level %q", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
