// Package platform is the whole product on one machine, for developers
// (`make run`): the local control plane of test/controlplane (kube-apiserver,
// etcd, controllers, a fake node, Crossplane core and its RBAC manager) with
// our composition function in-process, the packages we ship installed on
// it, and the portal on embedded SQLite, talking to the cluster as the
// least-privileged identity of portal/deploy/rbac.yaml.
//
// It lives under test/ beside the harness it drives: it is a development
// tool, never shipped, and shares the harness's cached binaries.
//
// Everything that must outlive a run sits in one data directory: etcd's data
// (so claims survive), the portal's SQLite database, the JWT signing key and
// the process logs. Nothing secret has a default: the signing key and the
// admin's password are generated on the first run.
package platform

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/crossplane/function-sdk-go/logging"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/portal/app"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// FunctionName is the functionRef of our Composition: the name Crossplane
// gives the function package when it installs it as the Configuration's
// dependency.
const FunctionName = "aichatworkspaces-function-aichat-workspace"

// The portal's identity, as portal/deploy/rbac.yaml names it. A client
// certificate with this user name is authorized exactly as the
// ServiceAccount is, by the RoleBinding of that file and nothing else.
const (
	portalNamespace      = "aichat-system"
	portalServiceAccount = "aichat-portal"
	claimNamespace       = "aichat-workspaces"
)

// DefaultAdminEmail is the admin account created on the first run.
const DefaultAdminEmail = "admin@aichat.localhost"

// Options configure a local platform.
type Options struct {
	// DataDir holds everything kept between runs (required).
	DataDir string
	// Addr is the portal's listen address (default 127.0.0.1:8080;
	// 127.0.0.1:0 picks a free port).
	Addr string
	// AdminEmail is the admin created on the first run (default
	// DefaultAdminEmail).
	AdminEmail string
	// ResetAdmin gives an existing admin a new generated password.
	ResetAdmin bool
	// BcryptCost of password hashes (default 12, the portal's default;
	// tests use bcrypt.MinCost).
	BcryptCost int
	// Log receives progress (default os.Stderr). The portal's own JSON log
	// goes to DataDir/portal.log.
	Log io.Writer
}

// A Platform is a running local platform.
type Platform struct {
	ControlPlane *controlplane.ControlPlane
	// URL is the portal's base URL.
	URL string
	// Kubeconfig is an admin kubeconfig (kubectl).
	Kubeconfig string
	// PortalKubeconfig is the portal's own, claims-only kubeconfig.
	PortalKubeconfig string
	// AdminEmail is the admin account; AdminPassword is set only when this
	// run created it or reset its password (it is never stored in clear).
	AdminEmail    string
	AdminPassword string

	portal    *app.App
	portalLog *os.File
	cancel    context.CancelFunc
	done      chan struct{} // closed when the portal stopped serving
	serveErr  error         // why, valid after done
}

// Start starts everything and returns once the portal answers /readyz with
// the cluster reachable. On error, whatever started is stopped.
func Start(ctx context.Context, o Options) (_ *Platform, err error) {
	if o.DataDir == "" {
		return nil, errors.New("options: DataDir is required")
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.AdminEmail == "" {
		o.AdminEmail = DefaultAdminEmail
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = config.Default().BcryptCost
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Check the portal's port first: a busy port should fail in a second,
	// not after the control plane has started. It is not held meanwhile:
	// Crossplane's RBAC manager binds :8080 for its metrics while the
	// control plane starts (it has no flag to move it), and with the
	// portal's default 127.0.0.1:8080 already held it would fail.
	probe, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("portal address: %w (choose another with -addr)", err)
	}
	_ = probe.Close()
	root, err := toolchain.RepoRoot()
	if err != nil {
		return nil, err
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{
		// The function logs every call at debug level only.
		Function:       function.New(logging.NewNopLogger()),
		FunctionName:   FunctionName,
		CrossplaneRBAC: []string{filepath.Join(root, "package", "rbac", "crossplane-aggregate.yaml")},
		Manifests: []string{
			filepath.Join(root, "package", "configuration", "xrd.yaml"),
			filepath.Join(root, "package", "configuration", "composition.yaml"),
		},
		Log:     o.Log,
		DataDir: filepath.Join(dir, "cluster"),
		// A local cluster on a busy laptop may take longer than a test's.
		StartTimeout: 5 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	p := &Platform{ControlPlane: cp, Kubeconfig: cp.Kubeconfig, AdminEmail: o.AdminEmail}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()
	if p.PortalKubeconfig, err = installPortalIdentity(ctx, cp, root); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("portal address: %w (choose another with -addr)", err)
	}
	if err := p.startPortal(ctx, o, dir, ln); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return p, nil
}

// installPortalIdentity applies the portal's RBAC as shipped and returns
// a kubeconfig authorized only by it.
func installPortalIdentity(ctx context.Context, cp *controlplane.ControlPlane, root string) (string, error) {
	for _, ns := range []string{portalNamespace, claimNamespace} {
		err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("cannot create namespace %s: %w", ns, err)
		}
	}
	if err := cp.Apply(ctx, filepath.Join(root, "portal", "deploy", "rbac.yaml")); err != nil {
		return "", err
	}
	// No groups: the RoleBinding to the ServiceAccount's user name is all
	// it gets (plus what every authenticated user may do, e.g. /readyz).
	return cp.AddUser("system:serviceaccount:" + portalNamespace + ":" + portalServiceAccount)
}

func (p *Platform) startPortal(ctx context.Context, o Options, dir string, ln net.Listener) error {
	secretFile := filepath.Join(dir, "jwt-secret")
	if err := ensureSecret(secretFile); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "portal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.portalLog = logFile
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := config.Default()
	cfg.Addr = ln.Addr().String()
	cfg.SQLitePath = filepath.Join(dir, "portal.db")
	cfg.JWTSecretFile = secretFile
	cfg.Kubeconfig = p.PortalKubeconfig
	cfg.ClaimNamespace = claimNamespace
	cfg.BcryptCost = o.BcryptCost
	a, err := app.New(ctx, cfg, app.Options{}, log)
	if err != nil {
		return fmt.Errorf("cannot start the portal: %w", err)
	}
	p.portal = a
	if p.AdminPassword, err = ensureAdmin(ctx, a.Store, o.AdminEmail, o.BcryptCost, o.ResetAdmin); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.done = make(chan struct{})
	go func() {
		p.serveErr = a.Serve(sctx, ln)
		close(p.done)
	}()
	p.URL = "http://" + ln.Addr().String()
	return p.waitReady(ctx)
}

// ensureSecret writes a random 32-byte HS256 key to path unless it exists,
// so sessions survive a restart and no key is ever a default.
func ensureSecret(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(base64.RawURLEncoding.EncodeToString(b)+"\n"), 0o600)
}

// ensureAdmin creates the admin with a generated password unless it exists
// (or gives it a new one with reset) and returns the password, or "" when
// nothing changed.
func ensureAdmin(ctx context.Context, st *store.GormStore, email string, cost int, reset bool) (string, error) {
	email, err := auth.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	u, err := st.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return "", err
	case !reset:
		return "", nil
	}
	pw := rand.Text() // 26 base32 characters, ~130 bits, as `portal admin create`
	h, err := auth.NewHasher(cost)
	if err != nil {
		return "", err
	}
	hash, err := h.Hash(pw)
	if err != nil {
		return "", err
	}
	if u == nil {
		err = st.CreateUser(ctx, &store.User{Email: email, Name: "Administrator", PasswordHash: hash, Role: store.RoleAdmin})
	} else {
		role := store.RoleAdmin
		_, err = st.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash, Role: &role})
		if err == nil {
			// Sessions opened with the old password end.
			err = st.RevokeUserTokens(ctx, u.ID, time.Now())
		}
	}
	if err != nil {
		return "", fmt.Errorf("cannot set up the admin %s: %w", email, err)
	}
	return pw, nil
}

// waitReady polls the portal's /readyz until it answers 200 (database and
// cluster reachable, claim cache synced).
func (p *Platform) waitReady(ctx context.Context) error {
	url := p.URL + "/readyz"
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		select {
		case <-p.done:
			return fmt.Errorf("the portal stopped serving: %v", p.serveErr)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if rsp, err := c.Do(req); err != nil {
			last = err.Error()
		} else {
			b, _ := io.ReadAll(rsp.Body)
			_ = rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", rsp.StatusCode, b)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the portal is not ready at %s: %s", url, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the portal (draining requests, writing pending usage) and then
// the control plane, which stops every process it started. Safe on a partly
// started platform.
func (p *Platform) Stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
		p.cancel = nil
	}
	if p.portal != nil {
		p.portal.Close()
		p.portal = nil
	}
	if p.portalLog != nil {
		_ = p.portalLog.Close()
		p.portalLog = nil
	}
	if p.ControlPlane != nil {
		p.ControlPlane.Stop()
	}
}

// Done is closed when the portal stops serving, through Stop or on its
// own (Err says why).
func (p *Platform) Done() <-chan struct{} { return p.done }

// Err is why the portal stopped serving, once Done is closed.
func (p *Platform) Err() error { return p.serveErr }
