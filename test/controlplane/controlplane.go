// Package controlplane is the end-to-end test harness: a real Kubernetes
// control plane (envtest's etcd and kube-apiserver, plus
// kube-controller-manager, kube-scheduler and KWOK so workloads run on a
// fake node) with real Crossplane core and its RBAC manager running under
// the identities and ClusterRoles of a real install, and a composition
// function served from the test binary.
//
// Startup costs seconds, so start it once per test binary with Main (a whole
// TestMain), or Start/Stop, or once per test with StartT:
//
//	var cp *controlplane.ControlPlane
//
//	func TestMain(m *testing.M) {
//		controlplane.Main(m, controlplane.Options{
//			Function:       fn,                // the function under test
//			FunctionName:   "function-aichat", // functionRef name in the Composition
//			CrossplaneRBAC: []string{"../../package/rbac/crossplane-aggregate.yaml"},
//			Manifests:      []string{"../../package/xrd.yaml", "../../compositions"},
//		}, &cp)
//	}
//
//	func TestX(t *testing.T) {
//		controlplane.SkipIfShort(t)
//		cp.DumpOnFailure(t)
//		...
//	}
//
// Every process gets free ports and its own temporary directory, so test
// packages using the harness run in parallel.
//
// The local platform (test/platform, `make run`) sets Options.DataDir
// instead: a fixed directory whose etcd data outlives Stop, so a second
// Start finds the objects of the first.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// Module versions whose files the harness reads from the Go module cache.
const (
	crossplaneModule     = "github.com/crossplane/crossplane/v2"
	crossplaneVersion    = "v2.4.0"
	kedaHTTPAddOnModule  = "github.com/kedacore/http-add-on"
	kedaHTTPAddOnVersion = "v0.15.0"
	kedaModule           = "github.com/kedacore/keda/v2"
	kedaVersion          = "v2.20.2"
	defaultJobPodRunTime = 2 * time.Second
	defaultStartTimeout  = 2 * time.Minute
	processStopGrace     = 10 * time.Second
	defaultLogTailLines  = 40
)

// The envtest users Crossplane core and its RBAC manager run as. Neither is in
// a group with rights: only the ClusterRoles bound to them by name count.
const (
	CrossplaneUser            = "crossplane"
	CrossplaneRBACManagerUser = "crossplane-rbac-manager"
)

// Options configure a control plane. The zero value starts the Kubernetes
// parts and Crossplane with no function and no product manifests.
type Options struct {
	// Function is served in-process over mTLS and registered with Crossplane
	// under FunctionName, the functionRef name Compositions use. Nil serves
	// no function.
	Function     fnv1.FunctionRunnerServiceServer
	FunctionName string

	// FunctionBinary, instead of Function, runs a function binary (e.g.
	// function/cmd/function built) as its own process, served over mTLS
	// with the harness's server certificate (TLS_SERVER_CERTS_DIR) as a
	// function Pod would be: its CPU time and memory are then its own, for
	// benchmarks (PID("function")).
	FunctionBinary string

	// CrossplaneRBAC are manifests (files or directories) applied before
	// Crossplane starts: the product's ClusterRoles labelled
	// rbac.crossplane.io/aggregate-to-crossplane: "true" that grant core
	// the kinds it composes. Core runs with only Crossplane's own roles
	// plus these, so a missing rule fails the test as it would fail a real
	// install.
	CrossplaneRBAC []string

	// Manifests (files or directories) applied server-side once Crossplane
	// runs, in order: typically XRDs then Compositions. XRDs among them are
	// waited for until offered, and their RBAC synced; the garbage
	// collector starts after them, so it knows their kinds from the start.
	Manifests []string

	// CRDs (files or directories) installed with Crossplane's and KEDA's.
	CRDs []string

	// EnforceQuotas runs kube-controller-manager's resourcequota-controller.
	// Without it a ResourceQuota's status stays empty and the API server's
	// quota admission enforces nothing; with it quotas refuse pods as in a
	// real cluster (the ReplicaSet controller's FailedCreate "exceeded
	// quota" events). Off by default so that suites opt in once proven
	// under real quotas.
	EnforceQuotas bool

	// JobPodRunTime is how long a Pod owned by a Job runs on the fake node
	// before it succeeds (default 2s).
	JobPodRunTime time.Duration

	// StartTimeout bounds Start, excluding building missing binaries
	// (default 2m).
	StartTimeout time.Duration

	// Log receives progress: tool builds and startup steps (default
	// os.Stderr).
	Log io.Writer

	// DataDir, when set, is where the control plane lives instead of a
	// fresh temporary directory: etcd's data, logs, kubeconfigs and
	// certificates. Stop keeps it, so the next Start on it finds every
	// object of the last run. Certificates and kubeconfigs are made anew on
	// each start (envtest issues a new CA each time), at the same paths.
	// One control plane at a time may use a DataDir; Start kills what a
	// dead previous owner left running there.
	DataDir string
}

// A ControlPlane is a running harness. Its fields are read-only.
type ControlPlane struct {
	// Dir is the directory holding process logs, kubeconfigs, certificates
	// and etcd's data: a temporary one Stop removes, or Options.DataDir,
	// which Stop keeps.
	Dir string
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file, for kubectl, the
	// portal or chainsaw.
	Kubeconfig string
	// Client is an admin controller-runtime client. Its scheme knows the
	// built-in kinds and CRDs; use unstructured objects for the rest.
	Client client.Client
	// Function is the in-process function server, nil without
	// Options.Function.
	Function *FunctionServer

	opts     Options
	tools    map[string]string // tool name -> binary path
	env      *envtest.Environment
	users    map[string]string // envtest user -> kubeconfig path
	pki      functionPKI
	mu       sync.Mutex
	procs    []*process
	gc       *process // the garbage collector's controller manager
	stopped  bool
	stopOnce sync.Once
	// stopBackground ends the goroutines the harness runs itself (the
	// volume provisioner).
	stopBackground context.CancelFunc
	dumped         atomic.Bool // a failed test printed the logs already
}

// Start builds missing binaries (printing progress), then starts and wires
// every part. On error it stops whatever it started.
func Start(ctx context.Context, o Options) (_ *ControlPlane, err error) {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.JobPodRunTime == 0 {
		o.JobPodRunTime = defaultJobPodRunTime
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if (o.Function != nil || o.FunctionBinary != "") && o.FunctionName == "" {
		return nil, errors.New("options: Function needs a FunctionName (the functionRef name of the Compositions)")
	}
	if o.Function != nil && o.FunctionBinary != "" {
		return nil, errors.New("options: Function and FunctionBinary exclude each other")
	}
	tools, err := buildTools(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	reapOrphans()
	dir, err := controlPlaneDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: dir, opts: o, tools: tools, users: map[string]string{}}
	defer func() {
		if err != nil {
			fmt.Fprintf(o.Log, "controlplane: start failed: %v\n", err)
			cp.DumpLogs(o.Log, defaultLogTailLines)
			cp.Stop()
		}
	}()
	if err := writeOwner(dir); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	started := time.Now()
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"kube-apiserver and etcd", cp.startAPIServer},
		{"CRDs", cp.installCRDs},
		{"kube-controller-manager, kube-scheduler, KWOK", cp.startWorkloadControllers},
		{"Crossplane RBAC", cp.installCrossplaneRBAC},
		{"composition function", cp.startFunction},
		{"Crossplane core", cp.startCrossplane},
		{"fake node ready", cp.waitWorkloadControllers},
		{"volume provisioner", cp.startVolumeProvisioner},
		{"manifests", cp.applyManifests},
		{"garbage collector", cp.restartGarbageCollector},
	} {
		t := time.Now()
		if err := step.run(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", step.name, err)
		}
		slog.Info("controlplane: step done", "step", step.name, "took", time.Since(t).Round(time.Millisecond))
	}
	fmt.Fprintf(o.Log, "controlplane: ready in %s (kubeconfig %s)\n", time.Since(started).Round(time.Millisecond), cp.Kubeconfig)
	return cp, nil
}

// buildTools resolves every binary by its toolchain name, building the
// missing ones once into the user cache; a cold build takes minutes and says
// so on log.
func buildTools(ctx context.Context, log io.Writer) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range []string{
		"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "crossplane-core",
	} {
		p, err := toolchain.All[name].Path(ctx, log)
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	return out, nil
}

func (cp *ControlPlane) logFile(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(cp.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

func (cp *ControlPlane) startAPIServer(_ context.Context) error {
	apiLog, err := cp.logFile("kube-apiserver")
	if err != nil {
		return err
	}
	etcdLog, err := cp.logFile("etcd")
	if err != nil {
		return err
	}
	cp.env = &envtest.Environment{
		BinaryAssetsDirectory: filepath.Dir(cp.tools["kube-apiserver"]),
	}
	// Directories inside Dir, so Stop (or reapOrphans) removes them and
	// their paths identify this control plane's etcd and kube-apiserver.
	certDir, dataDir := filepath.Join(cp.Dir, "apiserver-certs"), filepath.Join(cp.Dir, "etcd-data")
	// envtest keeps serving certificates it finds but then knows no CA for
	// them: start every run with an empty certificate directory. etcd's
	// data is what a DataDir keeps.
	if err := os.RemoveAll(certDir); err != nil {
		return err
	}
	for _, d := range []string{certDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	cp.env.ControlPlane.APIServer = &envtest.APIServer{Out: apiLog, Err: apiLog, CertDir: certDir}
	cp.env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog, DataDir: dataDir}
	// envtest looks for both binaries in one directory; KUBEBUILDER_ASSETS
	// overrides it (toolchain honours the same variable).
	cp.env.ControlPlane.APIServer.Path = cp.tools["kube-apiserver"]
	cp.env.ControlPlane.Etcd.Path = cp.tools["etcd"]
	if _, err := cp.env.Start(); err != nil {
		return fmt.Errorf("cannot start envtest: %w", err)
	}
	recordChildren(cp.Dir, certDir, dataDir)
	admin, err := cp.addUser("admin", "system:masters")
	if err != nil {
		return err
	}
	cp.Kubeconfig = cp.users["admin"]
	// Crossplane's identities: no groups, so only the ClusterRoles bound to
	// them by name count.
	for _, u := range []string{CrossplaneUser, CrossplaneRBACManagerUser} {
		if _, err := cp.addUser(u); err != nil {
			return err
		}
	}
	cp.Config = admin.Config()
	// The harness talks a lot while waiting; don't let the default client
	// throttle make waits slower than the cluster.
	cp.Config.QPS, cp.Config.Burst = 100, 200
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	cp.Client, err = client.New(cp.Config, client.Options{Scheme: scheme})
	return err
}

// AddUser adds a user authenticated by a client certificate (CN name,
// O groups) and returns the path of its kubeconfig. It has no rights but
// those bound to its name or groups: e.g. the name
// system:serviceaccount:NS:SA is authorized as that ServiceAccount.
func (cp *ControlPlane) AddUser(name string, groups ...string) (string, error) {
	if _, err := cp.addUser(name, groups...); err != nil {
		return "", err
	}
	return cp.users[name], nil
}

// addUser adds an envtest user (a client certificate) and writes its
// kubeconfig to Dir/<name>.kubeconfig (colons in name become dashes).
func (cp *ControlPlane) addUser(name string, groups ...string) (*envtest.AuthenticatedUser, error) {
	u, err := cp.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot add user %s: %w", name, err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cp.Dir, strings.ReplaceAll(name, ":", "-")+".kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	cp.users[name] = path
	return u, nil
}

func (cp *ControlPlane) installCRDs(ctx context.Context) error {
	xp, err := toolchain.GoModDir(ctx, crossplaneModule, crossplaneVersion)
	if err != nil {
		return err
	}
	httpAddOn, err := toolchain.GoModDir(ctx, kedaHTTPAddOnModule, kedaHTTPAddOnVersion)
	if err != nil {
		return err
	}
	keda, err := toolchain.GoModDir(ctx, kedaModule, kedaVersion)
	if err != nil {
		return err
	}
	paths := append([]string{
		filepath.Join(xp, "cluster", "crds"),
		filepath.Join(httpAddOn, "config", "crd", "bases", "http.keda.sh_httpscaledobjects.yaml"),
		filepath.Join(keda, "config", "crd", "bases", "keda.sh_scaledobjects.yaml"),
	}, cp.opts.CRDs...)
	objs, err := ReadManifests(paths...)
	if err != nil {
		return err
	}
	var names []string
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("%s %s is not a CRD", o.GetKind(), o.GetName())
		}
		names = append(names, o.GetName())
	}
	if err := ApplyObjects(ctx, cp.Client, objs...); err != nil {
		return err
	}
	return WaitCRDsEstablished(ctx, cp.Client, time.Minute, names...)
}

// installCrossplaneRBAC applies Crossplane's own RBAC from its chart, bound
// to the users core and the RBAC manager run as, and the caller's
// aggregated ClusterRoles.
func (cp *ControlPlane) installCrossplaneRBAC(ctx context.Context) error {
	xp, err := toolchain.GoModDir(ctx, crossplaneModule, crossplaneVersion)
	if err != nil {
		return err
	}
	objs, err := renderCrossplaneRBAC(filepath.Join(xp, "cluster", "charts", "crossplane"), CrossplaneUser, CrossplaneRBACManagerUser)
	if err != nil {
		return err
	}
	product, err := ReadManifests(cp.opts.CrossplaneRBAC...)
	if err != nil {
		return err
	}
	return ApplyObjects(ctx, cp.Client, append(objs, product...)...)
}

func (cp *ControlPlane) startFunction(ctx context.Context) error {
	pki, err := newFunctionPKI(filepath.Join(cp.Dir, "pki"))
	if err != nil {
		return err
	}
	cp.pki = pki
	if cp.opts.FunctionBinary != "" {
		return cp.startFunctionProcess(ctx)
	}
	if cp.opts.Function == nil {
		return nil
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	fs, err := newFunctionServer(cp.opts.Function, pki.ServerDir, port)
	if err != nil {
		return err
	}
	if err := fs.Start(); err != nil {
		return err
	}
	cp.Function = fs
	return registerFunction(ctx, cp.Client, cp.opts.FunctionName, fs.Endpoint())
}

// startFunctionProcess runs Options.FunctionBinary on a free port and
// registers it once it listens.
func (cp *ControlPlane) startFunctionProcess(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := cp.start("function", cp.opts.FunctionBinary, []string{
		"--address=" + addr,
		// No metrics server: its fixed default port would clash between
		// harnesses.
		"--metrics-address=",
	}, []string{"TLS_SERVER_CERTS_DIR=" + cp.pki.ServerDir})
	if err != nil {
		return err
	}
	if err := WaitFor(ctx, time.Minute, "the function process to listen on "+addr, func(context.Context) (bool, string, error) {
		if done, err := p.exited(); done {
			return false, "", fmt.Errorf("function exited (%v); last log lines:\n%s", err, p.tail(30))
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error(), nil
		}
		_ = c.Close()
		return true, "", nil
	}); err != nil {
		return err
	}
	// The server certificate names localhost.
	return registerFunction(ctx, cp.Client, cp.opts.FunctionName, fmt.Sprintf("dns:///localhost:%d", port))
}

// PID returns the process id of a process the harness started, by its name
// (see LogPath), while it runs.
func (cp *ControlPlane) PID(name string) (int, bool) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, p := range cp.procs {
		if p.name == name {
			if done, _ := p.exited(); done {
				return 0, false
			}
			return p.cmd.Process.Pid, true
		}
	}
	return 0, false
}

// startCrossplane starts core out of cluster, as the package runtime
// "External" expects, with the client certificate functions trust.
func (cp *ControlPlane) startCrossplane(ctx context.Context) error {
	probePort, err := freePort()
	if err != nil {
		return err
	}
	args := []string{
		"core", "start",
		"--enable-webhooks=false",
		"--package-runtime=External",
		"--xpkg-cache-dir=" + filepath.Join(cp.Dir, "xpkg-cache"),
		"--metrics-port=0",
		fmt.Sprintf("--health-probe-port=%d", probePort),
		// The XR circuit breaker and poll interval default to values tuned
		// for big clusters; keep the defaults so tests see what users see.
	}
	env := []string{
		"KUBECONFIG=" + cp.users[CrossplaneUser],
		"TLS_CLIENT_CERTS_DIR=" + cp.pki.ClientDir,
	}
	p, err := cp.start("crossplane-core", cp.tools["crossplane-core"], args, env)
	if err != nil {
		return err
	}
	return waitHTTPOK(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort))
}

// start starts a process and tracks it for Stop and DumpLogs.
func (cp *ControlPlane) start(name, bin string, args, env []string) (*process, error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.stopped {
		return nil, errStopped
	}
	p, err := startProcess(cp.Dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, p)
	recordPID(cp.Dir, p.cmd.Process.Pid)
	return p, nil
}

// applyManifests applies the caller's manifests and, when they hold XRDs,
// waits until Crossplane serves them.
func (cp *ControlPlane) applyManifests(ctx context.Context) error {
	objs, err := ReadManifests(cp.opts.Manifests...)
	if err != nil {
		return err
	}
	if err := ApplyObjects(ctx, cp.Client, objs...); err != nil {
		return err
	}
	return cp.syncXRDs(ctx)
}

// Apply applies the objects of YAML files or directories server-side, in
// order.
func (cp *ControlPlane) Apply(ctx context.Context, paths ...string) error {
	objs, err := ReadManifests(paths...)
	if err != nil {
		return err
	}
	return ApplyObjects(ctx, cp.Client, objs...)
}

// ApplyYAML applies the objects of a multi-document YAML string
// server-side, in order.
func (cp *ControlPlane) ApplyYAML(ctx context.Context, doc string) error {
	objs, err := DecodeManifests(strings.NewReader(doc))
	if err != nil {
		return err
	}
	return ApplyObjects(ctx, cp.Client, objs...)
}

// Stop stops every process (SIGTERM to its process group, SIGKILL after a
// grace period), the function server and envtest, and removes Dir. It is
// safe to call more than once and on a partly started control plane.
func (cp *ControlPlane) Stop() {
	cp.stopOnce.Do(func() {
		cp.mu.Lock()
		cp.stopped = true
		procs := cp.procs
		cp.mu.Unlock()
		if cp.Function != nil {
			cp.Function.Stop()
		}
		if cp.stopBackground != nil {
			cp.stopBackground()
		}
		// Stop in reverse start order: Crossplane before the API server it
		// talks to, so nothing logs connection errors on the way down.
		var wg sync.WaitGroup
		for i := len(procs) - 1; i >= 0; i-- {
			wg.Add(1)
			go func(p *process) {
				defer wg.Done()
				p.stop(processStopGrace)
			}(procs[i])
		}
		wg.Wait()
		if cp.env != nil {
			if err := cp.env.Stop(); err != nil {
				slog.Warn("cannot stop envtest", "error", err)
			}
		}
		killRecorded(cp.Dir)
		if cp.opts.DataDir != "" {
			// Everything has stopped: the next Start owns the directory.
			_ = os.Remove(filepath.Join(cp.Dir, "pids"))
			_ = os.Remove(filepath.Join(cp.Dir, "owner"))
			return
		}
		if os.Getenv("AICHAT_KEEP_CONTROLPLANE_DIR") != "" {
			fmt.Fprintf(cp.opts.Log, "controlplane: kept %s\n", cp.Dir)
			return
		}
		_ = os.RemoveAll(cp.Dir)
	})
}

// DumpLogs writes the last lines of every process log to w: the processes
// the harness started, and envtest's kube-apiserver and etcd.
func (cp *ControlPlane) DumpLogs(w io.Writer, lines int) {
	entries, err := filepath.Glob(filepath.Join(cp.Dir, "*.log"))
	if err != nil || len(entries) == 0 {
		fmt.Fprintf(w, "controlplane: no process logs in %s\n", cp.Dir)
		return
	}
	for _, f := range entries {
		fmt.Fprintf(w, "----- %s (last %d lines) -----\n%s\n", filepath.Base(f), lines, tailFile(f, lines))
	}
}

// LogPath returns the log file of a process by name: kube-apiserver, etcd,
// kube-controller-manager, kube-garbage-collector, kube-scheduler, kwok,
// crossplane-core, crossplane-rbac-manager.
func (cp *ControlPlane) LogPath(name string) string { return filepath.Join(cp.Dir, name+".log") }

func (cp *ControlPlane) startVolumeProvisioner(context.Context) error {
	// Not the start context: the provisioner runs until Stop.
	ctx, cancel := context.WithCancel(context.Background())
	cp.mu.Lock()
	cp.stopBackground = cancel
	cp.mu.Unlock()
	go cp.provisionVolumes(ctx)
	return nil
}
