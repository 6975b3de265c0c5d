// Command bench measures what the LLM gateway adds to a call of Ollama: the
// same requests go to a real Ollama directly and through the real portal
// (router, API token checked in the database, workspace from the claim
// cache of a real kube-apiserver, rate limit, usage metering), alternating
// request by request so that both see the same machine noise.
//
//	go run -tags nomsgpack ./portal/gateway/bench -requests 200 -runs 3
//
// It prints p50/p99 of the full request and of the first token for each
// path, the difference and the ratio, per run and as the median of runs.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	ollamaapi "github.com/ollama/ollama/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/app"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/gateway"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
	"github.com/aichatworkspaces/workspaces/test/ollama"
)

const model = "llama3.2:1b"

func main() {
	requests := flag.Int("requests", 200, "requests per path and kind in each run")
	runs := flag.Int("runs", 3, "runs; the median of each figure is reported")
	predict := flag.Int("num-predict", 16, "tokens generated per request")
	flush := flag.Duration("usage-flush", 10*time.Second, "how often the portal writes token usage (--gateway-usage-flush)")
	flag.Parse()
	h := &harness{}
	code := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatal); !ok {
					panic(r)
				}
				code = 1
			}
		}()
		if err := run(h, *requests, *runs, *predict, *flush); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			code = 1
		}
	}()
	h.cleanup()
	os.Exit(code)
}

func run(h *harness, requests, runs, predict int, flush time.Duration) error {
	ctx := context.Background()
	t0 := time.Now()
	srv := ollama.Start(h)
	ollama.InstallTinyModel(h, srv, model)
	fmt.Printf("setup: Ollama with the tiny model in %s\n", time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	cl, err := testenv.StartCluster(ctx, os.Stderr)
	if err != nil {
		return err
	}
	h.Cleanup(cl.Stop)
	const ns = "aichat-workspaces"
	if err := cl.Admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	fmt.Printf("setup: kube-apiserver in %s\n", time.Since(t0).Round(time.Millisecond))

	cfg := config.Default()
	cfg.SQLitePath = filepath.Join(h.TempDir(), "portal.db")
	cfg.ClaimNamespace = ns
	cfg.JWTSecret = rand.Text() + rand.Text()
	cfg.BcryptCost = 10
	// The benchmark measures the gateway, not its rate limit.
	cfg.GatewayRequestsPerMin = 1 << 30
	cfg.GatewayUsageFlush = flush
	ollamaURL, err := url.Parse(srv.URL)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, app.Options{RestConfig: cl.Config,
		GatewayResolver: gateway.ResolverFunc(func(*workspaces.Workspace) (gateway.Upstream, error) {
			return gateway.Upstream{URL: ollamaURL}, nil
		})}, log)
	if err != nil {
		return err
	}
	h.Cleanup(a.Close)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if !a.Kube.WaitForSync(wctx) {
		return fmt.Errorf("the claim cache did not sync")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	h.Cleanup(stop)
	go func() { _ = a.Serve(sctx, ln) }()
	portal := "http://" + ln.Addr().String()

	token, err := tenant(ctx, portal, cl.Admin, ns)
	if err != nil {
		return err
	}
	direct := ollamaapi.NewClient(ollamaURL, http.DefaultClient)
	gwURL, _ := url.Parse(portal + "/llm/dev")
	viaGateway := ollamaapi.NewClient(gwURL, &http.Client{Transport: bearer(token)})

	var all []result
	for i := range runs {
		r, err := measure(ctx, direct, viaGateway, requests, predict)
		if err != nil {
			return err
		}
		fmt.Printf("\nrun %d of %d (%d requests per path, %d tokens each)\n", i+1, runs, requests, predict)
		r.print()
		all = append(all, r)
	}
	fmt.Printf("\nmedian of %d runs\n", runs)
	medianOf(all).print()
	return nil
}

// tenant signs up, creates the workspace "dev", gives its claim the status
// the function would write, and returns an API token for it.
func tenant(ctx context.Context, portal string, admin client.Client, ns string) (string, error) {
	do := func(method, path, tok, body string, want int) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, method, portal+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return "", fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b), nil
	}
	field := func(body, key string) string {
		_, rest, _ := strings.Cut(body, `"`+key+`":"`)
		v, _, _ := strings.Cut(rest, `"`)
		return v
	}
	if _, err := do("POST", "/api/v1/auth/register", "", `{"email":"bench@example.com","password":"bench-passw0rd","name":"Bench"}`, 201); err != nil {
		return "", err
	}
	b, err := do("POST", "/api/v1/auth/login", "", `{"email":"bench@example.com","password":"bench-passw0rd"}`, 200)
	if err != nil {
		return "", err
	}
	jwt := field(b, "access_token")
	if _, err := do("POST", "/api/v1/workspaces", jwt, `{"name":"dev","models":["`+model+`"]}`, 201); err != nil {
		return "", err
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(v1alpha1.APIVersion)
	u.SetKind(v1alpha1.ClaimKind)
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev"}, u); err != nil {
		return "", err
	}
	u.Object["status"] = map[string]any{"namespace": "aichat-ws-dev"}
	if err := admin.Status().Update(ctx, u); err != nil {
		return "", err
	}
	b, err = do("POST", "/api/v1/tokens", jwt, `{"name":"bench","workspace":"dev"}`, 201)
	if err != nil {
		return "", err
	}
	tok := field(b, "token")
	// Wait until the claim cache shows the namespace.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := do("GET", "/llm/dev/api/version", tok, "", 200); err == nil {
			return tok, nil
		} else if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// result holds, per path, the latencies of each kind of request.
type result struct {
	figures [][2]time.Duration // rows x {direct, gateway}
}

var rows = []string{
	"generate: full request p50", "generate: full request p99",
	"generate: first token p50", "generate: first token p99",
	"version (no model): p50", "version (no model): p99",
}

func measure(ctx context.Context, direct, gw *ollamaapi.Client, n, predict int) (result, error) {
	type samples struct{ full, first, small []time.Duration }
	var s [2]samples
	clients := [2]*ollamaapi.Client{direct, gw}
	req := &ollamaapi.GenerateRequest{Model: model, Prompt: "Hello there",
		Options: map[string]any{"num_predict": predict, "temperature": 0, "seed": 1}}
	// Load the model and warm connections on both paths.
	for _, c := range clients {
		for range 3 {
			if err := c.Generate(ctx, req, func(ollamaapi.GenerateResponse) error { return nil }); err != nil {
				return result{}, err
			}
		}
	}
	for i := range n {
		// Alternate which path goes first, so neither always follows the
		// other's cache effects.
		order := []int{0, 1}
		if i%2 == 1 {
			order = []int{1, 0}
		}
		for _, p := range order {
			c := clients[p]
			start := time.Now()
			var first time.Duration
			err := c.Generate(ctx, req, func(ollamaapi.GenerateResponse) error {
				if first == 0 {
					first = time.Since(start)
				}
				return nil
			})
			if err != nil {
				return result{}, err
			}
			s[p].full = append(s[p].full, time.Since(start))
			s[p].first = append(s[p].first, first)
			start = time.Now()
			if _, err := c.Version(ctx); err != nil {
				return result{}, err
			}
			s[p].small = append(s[p].small, time.Since(start))
		}
	}
	var r result
	for _, kind := range []func(samples) []time.Duration{
		func(s samples) []time.Duration { return s.full },
		func(s samples) []time.Duration { return s.first },
		func(s samples) []time.Duration { return s.small },
	} {
		for _, q := range []float64{.5, .99} {
			r.figures = append(r.figures, [2]time.Duration{pct(kind(s[0]), q), pct(kind(s[1]), q)})
		}
	}
	return r, nil
}

func pct(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (r result) print() {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\tdirect\tgateway\tadded\tratio\t")
	for i, f := range r.figures {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.2f\t\n", rows[i], ms(f[0]), ms(f[1]), ms(f[1]-f[0]), float64(f[1])/float64(f[0]))
	}
	_ = w.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func medianOf(rs []result) result {
	out := result{figures: make([][2]time.Duration, len(rs[0].figures))}
	for i := range out.figures {
		for p := range 2 {
			var v []time.Duration
			for _, r := range rs {
				v = append(v, r.figures[i][p])
			}
			slices.Sort(v)
			out.figures[i][p] = v[len(v)/2]
		}
	}
	return out
}

// harness lets the test/ollama helpers, written for tests, run in this
// program: it implements the few testing.TB methods they call. Embedding
// the interface satisfies testing.TB's unexported method; any other method
// would panic, and none is called.
type harness struct {
	testing.TB
	cleanups []func()
	failed   bool
}

type fatal struct{}

func (h *harness) Helper()                    {}
func (h *harness) Cleanup(f func())           { h.cleanups = append(h.cleanups, f) }
func (h *harness) Logf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...) }
func (h *harness) Failed() bool               { return h.failed }
func (h *harness) Fatal(args ...any)          { h.Fatalf("%s", fmt.Sprint(args...)) }
func (h *harness) Skipf(f string, args ...any) {
	h.Fatalf(f, args...)
}
func (h *harness) Fatalf(f string, args ...any) {
	h.failed = true
	fmt.Fprintf(os.Stderr, "bench: "+f+"\n", args...)
	panic(fatal{})
}

func (h *harness) TempDir() string {
	d, err := os.MkdirTemp("", "gateway-bench-")
	if err != nil {
		h.Fatal(err)
	}
	h.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// cleanup runs the cleanups last-in first-out, as testing does.
func (h *harness) cleanup() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
}
