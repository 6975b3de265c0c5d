// Command bench-e2e measures the platform under load on the local control
// plane (test/controlplane): it creates N claims at once and reports the
// time until all are Ready, the p50/p99 of claim-to-Ready, the function's
// CPU time and peak memory, and Crossplane core's peak memory.
//
// The function runs as its own process — function/cmd/function, built
// here, served over mTLS as a function Pod is — so its CPU time (utime +
// stime of /proc/<pid>/stat) and peak RSS (VmHWM of /proc/<pid>/status)
// are its own, not the harness's. Core's peak RSS is read the same way.
//
//	go run ./test/bench-e2e -claims 100
//
// It exits 1 when a target is missed: every claim Ready within -ready-target
// (3m), the function's peak RSS under -fn-rss-target (100 MiB).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

const functionName = "aichatworkspaces-function-aichat-workspace"

type config struct {
	claims      int
	namespace   string
	timeout     time.Duration
	readyTarget time.Duration
	fnRSSTarget int64 // bytes
}

func main() {
	c := config{}
	var fnRSSMiB int64
	flag.IntVar(&c.claims, "claims", 100, "number of claims to create at once")
	flag.StringVar(&c.namespace, "namespace", "bench", "tenant namespace of the claims")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up waiting for Ready after this long")
	flag.DurationVar(&c.readyTarget, "ready-target", 3*time.Minute, "target: every claim Ready within this")
	flag.Int64Var(&fnRSSMiB, "fn-rss-target", 100, "target: the function's peak RSS below this many MiB")
	flag.Parse()
	c.fnRSSTarget = fnRSSMiB << 20
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-e2e:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) (bool, error) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp("", "aichat-bench-e2e-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	fn := filepath.Join(tmp, "function")
	build := exec.CommandContext(ctx, "go", "build", "-o", fn, "./function/cmd/function")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return false, fmt.Errorf("cannot build the function: %w", err)
	}

	cp, err := controlplane.Start(ctx, controlplane.Options{
		FunctionBinary: fn,
		FunctionName:   functionName,
		CrossplaneRBAC: []string{filepath.Join(root, "package", "rbac", "crossplane-aggregate.yaml")},
		Manifests: []string{
			filepath.Join(root, "package", "configuration", "xrd.yaml"),
			filepath.Join(root, "package", "configuration", "composition.yaml"),
		},
	})
	if err != nil {
		return false, err
	}
	defer cp.Stop()
	fnPID, ok := cp.PID("function")
	if !ok {
		return false, fmt.Errorf("the function process is not running")
	}
	corePID, ok := cp.PID("crossplane-core")
	if !ok {
		return false, fmt.Errorf("crossplane core is not running")
	}

	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.namespace}}); err != nil {
		return false, err
	}
	cpuBefore, err := cpuTime(fnPID)
	if err != nil {
		return false, err
	}
	created := make(map[string]time.Time, c.claims)
	start := time.Now()
	for i := range c.claims {
		name := fmt.Sprintf("ws-%03d", i)
		if err := cp.Client.Create(ctx, claim(c.namespace, name)); err != nil {
			return false, fmt.Errorf("cannot create claim %s: %w", name, err)
		}
		created[name] = time.Now()
	}
	fmt.Printf("created %d claims in %s\n", c.claims, time.Since(start).Round(time.Millisecond))

	ready := map[string]time.Time{}
	deadline := time.Now().Add(c.timeout)
	for len(ready) < c.claims {
		if time.Now().After(deadline) {
			return false, fmt.Errorf("only %d of %d claims Ready after %s", len(ready), c.claims, c.timeout)
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion(v1alpha1.APIVersion)
		l.SetKind(v1alpha1.ClaimKind + "List")
		if err := cp.Client.List(ctx, l, client.InNamespace(c.namespace)); err != nil {
			return false, err
		}
		now := time.Now()
		for _, item := range l.Items {
			if _, seen := ready[item.GetName()]; seen {
				continue
			}
			conds := controlplane.Conditions(&item)
			if conds["Ready"].Status == "True" && conds["Synced"].Status == "True" {
				ready[item.GetName()] = now
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	allReady := time.Since(start)
	cpuAfter, err := cpuTime(fnPID)
	if err != nil {
		return false, err
	}
	fnHWM, err := vmHWM(fnPID)
	if err != nil {
		return false, err
	}
	coreHWM, err := vmHWM(corePID)
	if err != nil {
		return false, err
	}

	lat := make([]time.Duration, 0, len(ready))
	for n, t := range ready {
		lat = append(lat, t.Sub(created[n]))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("claims                 %d (one model each, scale to zero, no assistants)\n", c.claims)
	fmt.Printf("all Ready after        %s (target %s)\n", allReady.Round(100*time.Millisecond), c.readyTarget)
	fmt.Printf("claim to Ready p50     %s\n", percentile(lat, 50).Round(100*time.Millisecond))
	fmt.Printf("claim to Ready p99     %s\n", percentile(lat, 99).Round(100*time.Millisecond))
	fmt.Printf("function CPU time      %s (user+system, until all Ready)\n", (cpuAfter - cpuBefore).Round(10*time.Millisecond))
	fmt.Printf("function peak RSS      %.1f MiB (target < %d MiB)\n", mib(fnHWM), c.fnRSSTarget>>20)
	fmt.Printf("crossplane core peak   %.1f MiB\n", mib(coreHWM))

	ok = true
	if allReady > c.readyTarget {
		fmt.Printf("MISSED: all claims Ready after %s, target %s\n", allReady.Round(time.Second), c.readyTarget)
		ok = false
	}
	if fnHWM >= c.fnRSSTarget {
		fmt.Printf("MISSED: function peak RSS %.1f MiB, target < %d MiB\n", mib(fnHWM), c.fnRSSTarget>>20)
		ok = false
	}
	return ok, nil
}

// claim is a small but real workspace: one base model (a pull Job), scale
// to zero (every KEDA object), the default size.
func claim(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.APIVersion,
		"kind":       v1alpha1.ClaimKind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"models": []any{"llama3.2:1b"},
		},
	}}
	return u
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// cpuTime is the user plus system CPU time of a process, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it start
	// after its closing parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ, fixed at 100 on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

// vmHWM is the peak resident set size of a process, from /proc/<pid>/status.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
