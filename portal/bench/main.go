// Command bench measures the portal's read path (list and show workspaces)
// under load, against real parts: MariaDB holding 1,000 users, a
// kube-apiserver holding their claims, and the portal serving from its
// watch-backed cache. The load generator runs in the same process (the
// target is stated "load generator included") and is closed-loop: each
// connection sends its next request when the last one is answered.
//
//	go run -tags nomsgpack ./portal/bench -users 1000 -duration 10s -runs 3
//
// It prints requests/s and latency percentiles per run and the median of the
// runs, and exits 1 when the median misses -min-rps or -max-p99.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/app"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

type options struct {
	users, perUser, conns, runs int
	duration, maxP99            time.Duration
	minRPS                      float64
}

func main() {
	var o options
	flag.IntVar(&o.users, "users", 1000, "users in the database")
	flag.IntVar(&o.perUser, "workspaces", 2, "workspaces (claims) per user")
	flag.IntVar(&o.conns, "connections", 16, "concurrent connections")
	flag.IntVar(&o.runs, "runs", 3, "measured runs; the median is reported")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each run")
	flag.Float64Var(&o.minRPS, "min-rps", 2000, "fail when the median requests/s is below this")
	flag.DurationVar(&o.maxP99, "max-p99", 30*time.Millisecond, "fail when the median p99 is above this")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	step := func(what string, start time.Time) {
		fmt.Printf("setup: %s in %s\n", what, time.Since(start).Round(time.Millisecond))
	}

	t0 := time.Now()
	srvDSN, err := testenv.MySQLServer(ctx)
	if err != nil {
		return err
	}
	defer testenv.StopMySQL()
	dsn, drop, err := testenv.NewDatabase(ctx, srvDSN)
	if err != nil {
		return err
	}
	defer drop()
	step("MariaDB", t0)

	t0 = time.Now()
	cl, err := testenv.StartCluster(ctx, os.Stderr)
	if err != nil {
		return err
	}
	defer cl.Stop()
	step("kube-apiserver (envtest)", t0)

	const ns = "aichat-workspaces"
	if err := cl.Admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	cfg := config.Default()
	cfg.DSN, cfg.ClaimNamespace, cfg.LogLevel = dsn, ns, "warn"
	cfg.JWTSecret = rand.Text() + rand.Text()
	cfg.BcryptCost = 10
	a, err := app.New(ctx, cfg, app.Options{RestConfig: cl.Config}, log)
	if err != nil {
		return err
	}
	defer a.Close()

	t0 = time.Now()
	tokens, err := seed(ctx, o, cfg, a.Store, cl.Config)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("seeded %d users and %d claims", o.users, o.users*o.perUser), t0)

	t0 = time.Now()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if !a.Kube.WaitForSync(sctx) {
		return errors.New("claim cache did not sync")
	}
	for {
		all, err := a.Kube.ListAll(ctx)
		if err == nil && len(all) == o.users*o.perUser {
			break
		}
		if sctx.Err() != nil {
			return fmt.Errorf("cache holds %d claims, want %d", len(all), o.users*o.perUser)
		}
		time.Sleep(100 * time.Millisecond)
	}
	step("claim cache synced", t0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx2, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = a.Serve(sctx2, ln) }()
	base := "http://" + ln.Addr().String()

	// Warm up connections and the memoised claim views.
	if _, err := load(base, tokens, o, 2*time.Second); err != nil {
		return err
	}
	var results []result
	for i := range o.runs {
		r, err := load(base, tokens, o, o.duration)
		if err != nil {
			return err
		}
		fmt.Printf("run %d: %s\n", i+1, r)
		results = append(results, r)
	}
	med := median(results)
	fmt.Printf("median of %d runs: %.0f req/s, p50 %s, p99 %s (%d users, %d claims, %d connections, %d CPUs)\n",
		o.runs, med.rps, med.p50, med.p99, o.users, o.users*o.perUser, o.conns, runtime.NumCPU())
	if med.rps < o.minRPS || med.p99 > o.maxP99 {
		return fmt.Errorf("target missed: want >= %.0f req/s and p99 <= %s", o.minRPS, o.maxP99)
	}
	fmt.Println("target met")
	return nil
}

type user struct {
	token string
	names []string
}

// seed writes users straight into the database and claims straight into
// the cluster (as the portal would), and mints access tokens for them, so
// the measured traffic is only list and show.
func seed(ctx context.Context, o options, cfg config.Config, st store.Store, rc *rest.Config) ([]user, error) {
	h, err := auth.NewHasher(4)
	if err != nil {
		return nil, err
	}
	hash, err := h.Hash("bench-passw0rd")
	if err != nil {
		return nil, err
	}
	key, _, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	tok := auth.NewTokens(key, cfg.JWTIssuer, cfg.JWTAudience, time.Hour, nil)
	users := make([]user, o.users)
	type job struct {
		id    uint64
		email string
		name  string
	}
	jobs := make(chan job)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				spec := map[string]any{"owner": j.email, "size": "small", "models": []any{"llama3.2:1b"},
					"assistants": []any{map[string]any{"name": "summarizer", "from": "llama3.2:1b", "patterns": []any{"summarize"}}}}
				u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
				u.SetAPIVersion(v1alpha1.APIVersion)
				u.SetKind(v1alpha1.ClaimKind)
				u.SetName(j.name)
				u.SetNamespace(cfg.ClaimNamespace)
				u.SetLabels(map[string]string{workspaces.LabelOwnerID: strconv.FormatUint(j.id, 10), workspaces.LabelManagedBy: workspaces.ManagedBy})
				if _, err := dc.Resource(workspaces.ClaimGVR).Namespace(cfg.ClaimNamespace).Create(ctx, u, metav1.CreateOptions{}); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for i := range users {
		u := &store.User{Email: fmt.Sprintf("user%04d@example.com", i), Name: fmt.Sprintf("User %d", i), PasswordHash: hash}
		if err := st.CreateUser(ctx, u); err != nil {
			close(jobs)
			return nil, err
		}
		t, _, err := tok.Issue(auth.Principal{UserID: u.ID, Email: u.Email, Role: store.RoleUser})
		if err != nil {
			close(jobs)
			return nil, err
		}
		users[i].token = t
		for w := range o.perUser {
			name := fmt.Sprintf("ws-%04d-%d", i, w)
			users[i].names = append(users[i].names, name)
			jobs <- job{id: u.ID, email: u.Email, name: name}
		}
	}
	close(jobs)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	return users, nil
}

type result struct {
	rps           float64
	n, errors     int
	p50, p99, max time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%d requests, %d errors, %.0f req/s, p50 %s, p99 %s, max %s", r.n, r.errors, r.rps, r.p50, r.p99, r.max)
}

// load runs o.conns closed-loop clients for d. Half the requests list the
// user's workspaces, half show one of them.
func load(base string, users []user, o options, d time.Duration) (result, error) {
	tr := &http.Transport{MaxIdleConns: o.conns, MaxIdleConnsPerHost: o.conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	lat := make([][]time.Duration, o.conns)
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), 42))
			l := make([]time.Duration, 0, 1<<16)
			for i := 0; time.Now().Before(deadline); i++ {
				u := users[rng.IntN(len(users))]
				path := "/api/v1/workspaces"
				if i%2 == 1 {
					path += "/" + u.names[rng.IntN(len(u.names))]
				}
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.Header.Set("Authorization", "Bearer "+u.token)
				t := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = errors.New(resp.Status)
					}
				}
				l = append(l, time.Since(t))
				if err != nil {
					errs.Add(1)
				}
			}
			lat[w] = l
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		return result{}, errors.New("no requests completed")
	}
	pct := func(p float64) time.Duration { return all[int(math.Ceil(p*float64(len(all))))-1] }
	r := result{rps: float64(len(all)) / elapsed.Seconds(), n: len(all), errors: int(errs.Load()),
		p50: pct(0.50), p99: pct(0.99), max: all[len(all)-1]}
	if r.errors > 0 {
		return r, fmt.Errorf("%d of %d requests failed", r.errors, r.n)
	}
	return r, nil
}

func median(rs []result) result {
	rps := make([]float64, len(rs))
	p99 := make([]time.Duration, len(rs))
	p50 := make([]time.Duration, len(rs))
	for i, r := range rs {
		rps[i], p99[i], p50[i] = r.rps, r.p99, r.p50
	}
	slices.Sort(rps)
	slices.Sort(p99)
	slices.Sort(p50)
	m := len(rs) / 2
	return result{rps: rps[m], p99: p99[m], p50: p50[m]}
}
