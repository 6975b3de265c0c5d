package workspaces

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/apierr"
)

// ClaimGVR is the resource of AIChatWorkspace claims.
var ClaimGVR = schema.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version, Resource: v1alpha1.ClaimPlural}

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

const ownerIndex = "owner"

// Options say where claims live.
type Options struct {
	// Namespace holds every claim (shared mode).
	Namespace string
	// PerUser puts a user's claims in NamespacePrefix+<user id> instead;
	// the portal then creates those namespaces.
	PerUser         bool
	NamespacePrefix string
	// WriteTimeout bounds how long a write waits for the cache to show it.
	WriteTimeout time.Duration
}

// Kube is the Service backed by a kube-apiserver: an informer keeps every
// claim in memory (indexed by owner), so list and show never call the API
// server; create, patch and delete do.
type Kube struct {
	opts     Options
	client   dynamic.Interface
	disc     discovery.DiscoveryInterface
	informer cache.SharedIndexInformer
	log      *slog.Logger

	// views memoises the API view of each claim per resourceVersion, so a
	// read converts an object once, not on every request.
	views sync.Map // types.UID -> view

	pingMu   sync.Mutex
	pingAt   time.Time
	pingErr  error
	pingTTL  time.Duration
	startErr error
}

type view struct {
	rv string
	ws *Workspace
}

var _ Service = (*Kube)(nil)

// NewKube returns a Kube for the cluster at cfg. Call Start to run its cache.
func NewKube(cfg *rest.Config, opts Options, log *slog.Logger) (*Kube, error) {
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "aichat-portal"
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ns := opts.Namespace
	if opts.PerUser {
		ns = metav1.NamespaceAll
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(dc, ClaimGVR, ns, 0, cache.Indexers{
		cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
		ownerIndex: func(obj any) ([]string, error) {
			m, err := metaOf(obj)
			if err != nil {
				return nil, err
			}
			if id := m.GetLabels()[LabelOwnerID]; id != "" {
				return []string{id}, nil
			}
			return nil, nil
		},
	}, nil).Informer()
	k := &Kube{opts: opts, client: dc, disc: disc, informer: inf, log: log, pingTTL: time.Second}
	// Drop memoised views of deleted claims.
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, err := metaOf(obj); err == nil {
			k.views.Delete(m.GetUID())
		}
	}})
	if err != nil {
		return nil, err
	}
	// The informer logs its own list/watch failures (e.g. CRD missing) and
	// retries with backoff; reads answer 503 until it has synced.
	if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		log.Warn("claim watch failed; retrying", "error", err)
	}); err != nil {
		return nil, err
	}
	return k, nil
}

func metaOf(obj any) (metav1.Object, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected object %T in the claim cache", obj)
	}
	return u, nil
}

// Start runs the informer until ctx ends. It does not wait for the sync.
func (k *Kube) Start(ctx context.Context) {
	go k.informer.RunWithContext(ctx)
}

// WaitForSync blocks until the cache has synced or ctx ends.
func (k *Kube) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), k.informer.HasSynced)
}

func (k *Kube) namespace(o Owner) string {
	if k.opts.PerUser {
		return k.opts.NamespacePrefix + strconv.FormatUint(o.ID, 10)
	}
	return k.opts.Namespace
}

func (k *Kube) synced() error {
	if !k.informer.HasSynced() {
		return apierr.Unavailable(nil, "the cluster is not reachable yet (workspace cache not synced); try again shortly")
	}
	return nil
}

func (k *Kube) viewOf(u *unstructured.Unstructured) (*Workspace, error) {
	if v, ok := k.views.Load(u.GetUID()); ok && v.(view).rv == u.GetResourceVersion() {
		return v.(view).ws, nil
	}
	ws, err := toWorkspace(u)
	if err != nil {
		return nil, err
	}
	k.views.Store(u.GetUID(), view{rv: u.GetResourceVersion(), ws: ws})
	return ws, nil
}

// toWorkspace converts a claim. It never fails on odd status content
// written by others: a claim the portal cannot read fully still lists.
func toWorkspace(u *unstructured.Unstructured) (*Workspace, error) {
	ws := &Workspace{
		Name: u.GetName(), Namespace: u.GetNamespace(), OwnerID: u.GetLabels()[LabelOwnerID],
		CreatedAt: u.GetCreationTimestamp().UTC(), Deleting: u.GetDeletionTimestamp() != nil,
	}
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &ws.Spec); err != nil {
			return nil, fmt.Errorf("claim %s/%s has an unreadable spec: %w", u.GetNamespace(), u.GetName(), err)
		}
	}
	st, ok := u.Object["status"].(map[string]any)
	if !ok {
		return ws, nil
	}
	var s v1alpha1.WorkspaceStatus
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(st, &s)
	var c struct {
		Conditions []Condition `json:"conditions"`
	}
	if conds, ok := st["conditions"].([]any); ok {
		b, _ := json.Marshal(map[string]any{"conditions": conds})
		_ = json.Unmarshal(b, &c)
	}
	ws.Status = Status{
		Namespace: s.Namespace, URL: s.URL, APIURL: s.APIURL, ModelsReady: s.ModelsReady,
		Models: s.Models, Resources: s.Resources, Conditions: c.Conditions,
	}
	for _, cond := range c.Conditions {
		switch cond.Type {
		case "Ready":
			ws.Status.Ready = cond.Status == "True"
		case "Synced":
			ws.Status.Synced = cond.Status == "True"
		}
	}
	return ws, nil
}

func (k *Kube) list(objs []any) ([]Workspace, error) {
	out := make([]Workspace, 0, len(objs))
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		ws, err := k.viewOf(u)
		if err != nil {
			k.log.Warn("skipping unreadable claim", "error", err)
			continue
		}
		out = append(out, *ws)
	}
	return out, nil
}

func (k *Kube) owned(o Owner) ([]any, error) {
	if err := k.synced(); err != nil {
		return nil, err
	}
	objs, err := k.informer.GetIndexer().ByIndex(ownerIndex, strconv.FormatUint(o.ID, 10))
	if err != nil {
		return nil, err
	}
	// A claim copied into another namespace with someone's label is not
	// theirs: only the namespace the portal writes to counts.
	ns := k.namespace(o)
	mine := objs[:0:0]
	for _, obj := range objs {
		if m, err := metaOf(obj); err == nil && m.GetNamespace() == ns {
			mine = append(mine, obj)
		}
	}
	return mine, nil
}

func (k *Kube) List(_ context.Context, o Owner) ([]Workspace, error) {
	objs, err := k.owned(o)
	if err != nil {
		return nil, err
	}
	return k.list(objs)
}

func (k *Kube) Count(_ context.Context, o Owner) (int, error) {
	objs, err := k.owned(o)
	return len(objs), err
}

func (k *Kube) ListAll(context.Context) ([]Workspace, error) {
	if err := k.synced(); err != nil {
		return nil, err
	}
	return k.list(k.informer.GetIndexer().List())
}

// cached returns the caller's claim from the cache. Someone else's claim is
// reported as not found, so names of other users' workspaces do not leak.
func (k *Kube) cached(o Owner, name string) (*unstructured.Unstructured, error) {
	if err := k.synced(); err != nil {
		return nil, err
	}
	obj, exists, err := k.informer.GetIndexer().GetByKey(k.namespace(o) + "/" + name)
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !exists || !ok || u.GetLabels()[LabelOwnerID] != strconv.FormatUint(o.ID, 10) {
		return nil, apierr.NotFound("workspace %q not found", name)
	}
	return u, nil
}

func (k *Kube) Get(_ context.Context, o Owner, name string) (*Workspace, error) {
	u, err := k.cached(o, name)
	if err != nil {
		return nil, err
	}
	return k.viewOf(u)
}

func (k *Kube) Create(ctx context.Context, o Owner, name string, spec v1alpha1.WorkspaceSpec) (*Workspace, error) {
	if err := k.synced(); err != nil {
		return nil, err
	}
	spec.Owner = o.Email
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		return nil, err
	}
	ns := k.namespace(o)
	if k.opts.PerUser {
		if err := k.ensureNamespace(ctx, ns, o); err != nil {
			return nil, err
		}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": m}}
	u.SetAPIVersion(v1alpha1.APIVersion)
	u.SetKind(v1alpha1.ClaimKind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(map[string]string{LabelOwnerID: strconv.FormatUint(o.ID, 10), LabelManagedBy: ManagedBy})
	got, err := k.client.Resource(ClaimGVR).Namespace(ns).Create(ctx, u, metav1.CreateOptions{FieldManager: ManagedBy})
	if err != nil {
		return nil, fromKube(err, name)
	}
	return k.waitFor(ctx, got)
}

func (k *Kube) ensureNamespace(ctx context.Context, ns string, o Owner) error {
	n := &unstructured.Unstructured{}
	n.SetAPIVersion("v1")
	n.SetKind("Namespace")
	n.SetName(ns)
	n.SetLabels(map[string]string{LabelOwnerID: strconv.FormatUint(o.ID, 10), LabelManagedBy: ManagedBy})
	_, err := k.client.Resource(namespaceGVR).Create(ctx, n, metav1.CreateOptions{FieldManager: ManagedBy})
	if err != nil && !kerrors.IsAlreadyExists(err) {
		return fromKube(err, "")
	}
	return nil
}

// PatchableFields are the spec fields a user may change; owner is the
// portal's, the rest of a claim's spec is Crossplane's.
var PatchableFields = []string{"size", "models", "assistants", "scaleToZero", "storage", "pipelines"}

func (k *Kube) Patch(ctx context.Context, o Owner, name string, patch json.RawMessage) (*Workspace, error) {
	var p map[string]any
	if err := json.Unmarshal(patch, &p); err != nil || p == nil {
		return nil, apierr.BadRequest("malformed_json", "the body must be a JSON object of spec fields to change")
	}
	for f := range p {
		if !contains(PatchableFields, f) {
			return nil, apierr.Invalid(f, "%q cannot be changed; changeable fields are %v", f, PatchableFields)
		}
	}
	u, err := k.cached(o, name)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		next := u.DeepCopy()
		old, _ := toWorkspace(u)
		spec, _ := next.Object["spec"].(map[string]any)
		merged, _ := mergePatch(spec, p).(map[string]any)
		if merged == nil {
			merged = map[string]any{}
		}
		var s v1alpha1.WorkspaceSpec
		if err := decodeSpec(merged, &s); err != nil {
			return nil, err
		}
		if err := ValidateSpec(s, &old.Spec); err != nil {
			return nil, err
		}
		next.Object["spec"] = merged
		got, err := k.client.Resource(ClaimGVR).Namespace(next.GetNamespace()).Update(ctx, next, metav1.UpdateOptions{FieldManager: ManagedBy})
		if err == nil {
			return k.waitFor(ctx, got)
		}
		// Crossplane writes to claims too; a conflict means our copy was
		// stale, so re-read from the API server and apply the patch again.
		if !kerrors.IsConflict(err) || attempt == 3 {
			return nil, fromKube(err, name)
		}
		u, err = k.client.Resource(ClaimGVR).Namespace(next.GetNamespace()).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fromKube(err, name)
		}
		if u.GetLabels()[LabelOwnerID] != strconv.FormatUint(o.ID, 10) {
			return nil, apierr.NotFound("workspace %q not found", name)
		}
	}
}

func decodeSpec(m map[string]any, s *v1alpha1.WorkspaceSpec) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return apierr.Invalid(te.Field, "%s must be a %s", te.Field, te.Type)
		}
		return apierr.BadRequest("malformed_json", "the patch does not fit the workspace spec")
	}
	return nil
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(out[k], v)
	}
	return out
}

func (k *Kube) Delete(ctx context.Context, o Owner, name string) error {
	u, err := k.cached(o, name)
	if err != nil {
		return err
	}
	uid := u.GetUID()
	// The UID precondition makes sure we delete the claim we checked the
	// owner of, not one recreated under the same name meanwhile.
	err = k.client.Resource(ClaimGVR).Namespace(u.GetNamespace()).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil {
		return fromKube(err, name)
	}
	// Wait until the cache shows the deletion (gone or being deleted).
	key := u.GetNamespace() + "/" + name
	k.poll(ctx, func() bool {
		obj, exists, _ := k.informer.GetIndexer().GetByKey(key)
		if !exists {
			return true
		}
		c, ok := obj.(*unstructured.Unstructured)
		return !ok || c.GetUID() != uid || c.GetDeletionTimestamp() != nil
	})
	return nil
}

// waitFor waits until the cache holds got's resourceVersion, so a read right
// after a write sees it, and returns the view.
func (k *Kube) waitFor(ctx context.Context, got *unstructured.Unstructured) (*Workspace, error) {
	key := got.GetNamespace() + "/" + got.GetName()
	k.poll(ctx, func() bool {
		obj, exists, _ := k.informer.GetIndexer().GetByKey(key)
		if !exists {
			return false
		}
		c, ok := obj.(*unstructured.Unstructured)
		return ok && c.GetUID() == got.GetUID() && rvAtLeast(c.GetResourceVersion(), got.GetResourceVersion())
	})
	return k.viewOf(got)
}

// rvAtLeast reports whether resourceVersion have is at least want. They are
// opaque strings in general; etcd-backed servers use increasing integers, and
// anything else falls back to equality.
func rvAtLeast(have, want string) bool {
	h, err1 := strconv.ParseUint(have, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	if err1 != nil || err2 != nil {
		return have == want
	}
	return h >= w
}

func (k *Kube) poll(ctx context.Context, done func() bool) {
	ctx, cancel := context.WithTimeout(ctx, k.opts.WriteTimeout)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			k.log.Warn("the claim cache did not catch up with a write in time")
			return
		case <-t.C:
		}
	}
}

// Ready pings the API server's /readyz (at most once a second) and checks
// the cache has synced.
func (k *Kube) Ready(ctx context.Context) error {
	k.pingMu.Lock()
	defer k.pingMu.Unlock()
	if time.Since(k.pingAt) > k.pingTTL {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := k.disc.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		k.pingAt, k.pingErr = time.Now(), err
	}
	if k.pingErr != nil {
		return apierr.Unavailable(k.pingErr, "the cluster is not reachable")
	}
	return k.synced()
}

// fromKube maps an API server error to the portal's error. Validation
// rejections name the field as the user sent it (without "spec.").
func fromKube(err error, name string) error {
	var se kerrors.APIStatus
	switch {
	case kerrors.IsAlreadyExists(err):
		return apierr.Conflict("name", "a workspace named %q already exists", name)
	case kerrors.IsConflict(err):
		return apierr.Conflict("", "the workspace changed meanwhile; try again")
	case kerrors.IsInvalid(err):
		field, msg := "", err.Error()
		if errors.As(err, &se) && se.Status().Details != nil {
			for _, c := range se.Status().Details.Causes {
				field, msg = userField(c.Field), c.Message
				break
			}
		}
		return apierr.Unprocessable(field, "the cluster rejected the workspace: "+msg, err)
	case kerrors.IsBadRequest(err):
		return apierr.Unprocessable("", "the cluster rejected the request: "+statusMessage(err), err)
	case kerrors.IsNotFound(err):
		// On create this means the claim type (CRD) or the namespace is missing.
		return apierr.Unavailable(err, "the cluster does not serve AIChatWorkspace claims here (CRD or namespace missing)")
	case kerrors.IsForbidden(err):
		return apierr.Unavailable(err, "the portal's cluster identity is not allowed to do this; check its RBAC")
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || kerrors.IsTimeout(err) || kerrors.IsServerTimeout(err) ||
		kerrors.IsServiceUnavailable(err) || kerrors.IsTooManyRequests(err) || kerrors.IsInternalError(err) {
		return apierr.Unavailable(err, "the cluster is not reachable")
	}
	return apierr.Unavailable(err, "the cluster request failed")
}

func statusMessage(err error) string {
	var se kerrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Message
	}
	return err.Error()
}

func userField(f string) string {
	switch {
	case strings.HasPrefix(f, "spec."):
		return strings.TrimPrefix(f, "spec.")
	case f == "metadata.name":
		return "name"
	}
	return f
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Disabled is the Service when no cluster is configured.
type Disabled struct{}

var errNoCluster = apierr.Unavailable(nil, "no cluster is configured: start the portal with --kubeconfig or inside a cluster")

func (Disabled) List(context.Context, Owner) ([]Workspace, error)       { return nil, errNoCluster }
func (Disabled) ListAll(context.Context) ([]Workspace, error)           { return nil, errNoCluster }
func (Disabled) Count(context.Context, Owner) (int, error)              { return 0, errNoCluster }
func (Disabled) Get(context.Context, Owner, string) (*Workspace, error) { return nil, errNoCluster }
func (Disabled) Create(context.Context, Owner, string, v1alpha1.WorkspaceSpec) (*Workspace, error) {
	return nil, errNoCluster
}
func (Disabled) Patch(context.Context, Owner, string, json.RawMessage) (*Workspace, error) {
	return nil, errNoCluster
}
func (Disabled) Delete(context.Context, Owner, string) error { return errNoCluster }
func (Disabled) Ready(context.Context) error                 { return errNoCluster }

var _ Service = Disabled{}
