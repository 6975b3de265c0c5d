package web_test

// Journeys through the web front end in a real Chromium (chromedp) against
// the real portal (app.New, as the binary starts it) on SQLite and on
// MariaDB, with a real kube-apiserver (envtest) holding the claims.
// Screenshots of every step, at desktop (1280x800) and phone (390x844)
// sizes, go to test/screenshots/web/ (git-ignored) for people to look at.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/portal/app"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopCluster()
	testenv.StopMySQL()
	os.Exit(code)
}

// One kube-apiserver serves every journey of this package; each portal
// gets its own claim namespace, so they never see each other's claims.
var (
	clusterOnce sync.Once
	cluster     *testenv.Cluster
	clusterErr  error
)

func sharedCluster(t *testing.T) *testenv.Cluster {
	t.Helper()
	clusterOnce.Do(func() { cluster, clusterErr = testenv.StartCluster(context.Background(), os.Stderr) })
	if clusterErr != nil {
		testenv.Unavailable(t, "no kube-apiserver for tests: %v", clusterErr)
	}
	return cluster
}

func stopCluster() {
	if cluster != nil {
		cluster.Stop()
	}
}

const testSecret = "web-test-key-web-test-key-web-test-key!"

type portal struct {
	base      string
	namespace string
	app       *app.App
	cluster   *testenv.Cluster
	logs      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPortal runs the portal on db ("sqlite" or "mariadb") against the
// shared cluster and waits until it is ready.
// before, when set, runs after the portal is built and before it serves
// (the only safe time to add routes).
func startPortal(t *testing.T, db string, edit func(*config.Config), before ...func(*app.App)) *portal {
	t.Helper()
	cl := sharedCluster(t)
	cfg := config.Default()
	cfg.BcryptCost = 4 // the minimum: journeys do not measure bcrypt
	cfg.JWTSecret = testSecret
	cfg.LoginPerIPPerMinute = 1000
	cfg.LoginPerAccount = 1000
	switch db {
	case "sqlite":
		cfg.SQLitePath = filepath.Join(t.TempDir(), "portal.db")
	case "mariadb":
		cfg.DSN = testenv.MySQL(t)
	default:
		t.Fatalf("unknown database %q", db)
	}
	cfg.ClaimNamespace = "web-" + strings.ToLower(rand.Text()[:10])
	if err := cl.Admin.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cfg.ClaimNamespace}}); err != nil {
		t.Fatal(err)
	}
	patterns := t.TempDir()
	for _, p := range []string{"summarize", "extract_wisdom", "improve_writing", "explain_code"} {
		if err := os.MkdirAll(filepath.Join(patterns, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(patterns, p, "system.md"), []byte("# "+p+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg.PatternSource = patterns
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{RestConfig: cl.Config}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for _, f := range before {
		f(a)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	p := &portal{base: "http://" + ln.Addr().String(), namespace: cfg.ClaimNamespace, app: a, cluster: cl, logs: logs}
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
		if t.Failed() {
			t.Logf("portal log:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r, err := http.Get(p.base + "/readyz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal did not become ready: %v", err)
		}
	}
	return p
}

// call is a plain API call from the test (setup and checks, not the UI).
func (p *portal) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	return r.StatusCode, m
}

func (p *portal) register(t *testing.T, email, password string) {
	t.Helper()
	if s, m := p.call(t, "POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": password, "name": "Test User"}); s != 201 {
		t.Fatalf("register: %d %v", s, m)
	}
}

// chromiumPath finds the browser; none is a failure in CI and a skip
// elsewhere. Tests never download a browser of their own.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			testenv.Unavailable(t, "CHROMIUM_PATH: %v", err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	testenv.Unavailable(t, "no Chromium for browser tests (run portal/web/deps.sh, or set CHROMIUM_PATH)")
	return ""
}

// tab is one browser tab on a portal, collecting page errors.
type tab struct {
	t       *testing.T
	ctx     context.Context
	base    string
	journey string
	shots   int
	mu      sync.Mutex
	errs    []string
}

func newTab(t *testing.T, p *portal, journey string) *tab {
	t.Helper()
	// The profile directory is removed by hand after the browser ends:
	// Chromium's helper processes may still write to it for a moment after
	// the main process exits, which t.TempDir's cleanup reports as an error.
	profile, err := os.MkdirTemp("", "portal-web-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp reports CDP events it does not model (such as a <dialog>
	// entering the top layer) as errors; they are not page errors.
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unhandled node event") {
			t.Logf("chromedp: %s", msg)
		}
	}))
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	b := &tab{t: t, ctx: ctx, base: p.base, journey: journey}
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for i := 0; i < 50; i++ {
			if err = os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("leaving the browser profile %s: %v", profile, err)
	})
	// Script errors and CSP/Trusted Types violations fail the journey:
	// they would be broken pages for users.
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.addErr("exception: " + msg)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.LevelError && e.Entry.Source != log.SourceNetwork {
				b.addErr(fmt.Sprintf("console (%s): %s", e.Entry.Source, e.Entry.Text))
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				b.addErr("console.error called")
			}
		}
	})
	start := time.Now()
	// The first Run starts the browser and must use the tab's own context
	// (a per-step deadline context would end the browser with the step).
	if err := chromedp.Run(ctx, log.Enable(), browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeClipboardReadWrite, browser.PermissionTypeClipboardSanitizedWrite}).WithOrigin(p.base)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Logf("browser started in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errs {
			t.Errorf("page error: %s", e)
		}
	})
	return b
}

func (b *tab) addErr(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, s)
}

func (b *tab) run(actions ...chromedp.Action) {
	b.t.Helper()
	// Each step gets its own deadline, so a missing element fails in
	// seconds with a screenshot instead of eating the whole test's time.
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.shoot("failure")
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *tab) location() string {
	var loc string
	_ = chromedp.Run(b.ctx, chromedp.Location(&loc))
	return loc
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+path), chromedp.WaitReady("main h1", chromedp.ByQuery))
}

// js quotes a Go string for JavaScript.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// control finds a form control by its label's text, as a person would; the
// test fails if the label is not tied to a control, which is itself an
// accessibility check.
func control(label string) string {
	return `(() => { const l = [...document.querySelectorAll('label')].find((l) => l.textContent.trim() === ` + js(label) +
		` && l.offsetParent !== null); return l ? (l.control || document.getElementById(l.htmlFor)) : null; })()`
}

// button finds a visible button, or else a link, by its text. Buttons come
// first: "Log in" is both the form's button and a navigation link.
func button(text string) string {
	return `[...document.querySelectorAll('button'), ...document.querySelectorAll('a')].find((e) => e.textContent.trim() === ` + js(text) + ` && e.offsetParent !== null)`
}

func (b *tab) fill(label, value string) {
	b.t.Helper()
	// Empty the field the way the app sees a user do it (an input event),
	// then type.
	b.run(chromedp.Evaluate(`(() => { const c = `+control(label)+`; c.value = ''; c.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil),
		chromedp.SendKeys(control(label), value, chromedp.ByJSPath))
}

func (b *tab) click(text string) {
	b.t.Helper()
	b.run(chromedp.Click(button(text), chromedp.ByJSPath))
}

func (b *tab) eval(expr string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(expr, out))
}

// waitFor waits until a JavaScript condition holds.
func (b *tab) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, chromedp.Poll(cond, nil, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.shoot("failure")
		var text string
		_ = chromedp.Run(b.ctx, chromedp.Evaluate(`document.querySelector('main') ? document.querySelector('main').innerText : ''`, &text))
		b.t.Fatalf("waiting for %s: %v\nat %s, page text:\n%s", what, err, b.location(), text)
	}
}

func (b *tab) waitText(text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("text %q", text), `document.querySelector('main') && document.querySelector('main').innerText.includes(`+js(text)+`)`, 15*time.Second)
}

func (b *tab) waitPath(path string) {
	b.t.Helper()
	b.waitFor("path "+path, `(() => { const m = document.querySelector('main'); return location.pathname + location.search === `+js(path)+
		` && m.dataset.route === `+js(path)+` && !m.hasAttribute('aria-busy'); })()`, 15*time.Second)
}

// shoot saves the page at desktop and phone size. The layout is given a
// moment to settle after each resize.
func (b *tab) shoot(name string) {
	dir, err := screenshotDir()
	if err != nil {
		b.t.Logf("no screenshots: %v", err)
		return
	}
	b.shots++
	for _, v := range []struct {
		suffix string
		w, h   int64
		opts   []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 800, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}},
	} {
		var png []byte
		err := chromedp.Run(b.ctx, chromedp.EmulateViewport(v.w, v.h, v.opts...), chromedp.Sleep(150*time.Millisecond), chromedp.FullScreenshot(&png, 100))
		if err != nil {
			b.t.Logf("screenshot %s: %v", name, err)
			continue
		}
		f := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s-%s.png", b.journey, b.shots, name, v.suffix))
		if err := os.WriteFile(f, png, 0o644); err != nil {
			b.t.Logf("screenshot %s: %v", name, err)
		}
	}
	_ = chromedp.Run(b.ctx, chromedp.EmulateViewport(1280, 800))
}

func screenshotDir() (string, error) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "test", "screenshots", "web")
	return dir, os.MkdirAll(dir, 0o755)
}
