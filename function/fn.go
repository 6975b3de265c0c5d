// Package function is the AIChat workspace composition function: from an
// observed XAIChatWorkspace (and what is already composed for it) and the
// platform's input, it returns the desired Namespace, quota, workloads,
// routing, network policies, KEDA objects and model Jobs, their readiness,
// and the workspace's status.
package function

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// Function composes AIChat workspaces.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log    logging.Logger
	random io.Reader
}

// New returns a Function that logs to log.
func New(log logging.Logger) *Function {
	return &Function{log: log, random: rand.Reader}
}

// NewWithRandom returns a Function that draws the workspace's secret keys
// from random, for tests that need the same output on every run.
func NewWithRandom(log logging.Logger, random io.Reader) *Function {
	return &Function{log: log, random: random}
}

// requiredPods names the function's requirement for the model Jobs' pods,
// whose termination messages carry each model's outcome.
const requiredPods = "model-job-pods"

// Condition the function sets on the XR and its claim.
const (
	conditionModelsReady = "ModelsReady"
)

// RunFunction composes one workspace.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	in := &v1beta1.Input{}
	if err := request.GetInput(req, in); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot read the function input"))
		return rsp, nil
	}
	p, err := newPlatform(in)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "invalid function input"))
		return rsp, nil
	}
	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot read the observed composite resource"))
		return rsp, nil
	}
	w, err := newWorkspace(oxr.Resource.Object, oxr.Resource.GetName(), oxr.Resource.GetLabels(), p)
	if err != nil {
		response.Fatal(rsp, errors.Wrapf(err, "invalid %s %s", oxr.Resource.GetKind(), oxr.Resource.GetName()))
		return rsp, nil
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot read the observed composed resources"))
		return rsp, nil
	}
	pods, _, err := request.GetRequiredResource(req, requiredPods)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot read the model Jobs' pods"))
		return rsp, nil
	}

	c, err := f.compose(w, observed, pods)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot compose the workspace"))
		return rsp, nil
	}
	if err := c.writeTo(rsp); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot write the desired resources"))
		return rsp, nil
	}
	if c.namespaceReady {
		requirePods(rsp, w)
	}

	status := c.status(w)
	if err := setStatus(rsp, status); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot write the workspace status"))
		return rsp, nil
	}
	ready := c.ready()
	f.report(rsp, oxr.Resource.Object, w, status, ready)
	f.log.Debug("Composed workspace", "xr", w.xrName, "namespace", w.namespace,
		"resources", len(c.objects), "models-ready", status.ModelsReady, "ready", ready)
	return rsp, nil
}

// newWorkspace reads and checks the XR's spec and derives the workspace's
// identity from the XR and the claim it came from.
func newWorkspace(xr map[string]any, xrName string, labels map[string]string, p *platform) (*workspace, error) {
	spec := v1alpha1.WorkspaceSpec{}
	switch raw := xr["spec"].(type) {
	case nil:
	case map[string]any:
		if err := fromUnstructured(raw, &spec); err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
	default:
		return nil, fmt.Errorf("spec: must be an object, not %T", raw)
	}
	spec = withDefaults(spec)
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	size, ok := p.sizes[spec.Size]
	if !ok {
		return nil, fmt.Errorf("spec.size: %q has no resources in the function input", spec.Size)
	}
	w := &workspace{
		p:              p,
		spec:           spec,
		size:           size,
		xrName:         xrName,
		claimName:      labels[labelClaimName],
		claimNamespace: labels[labelClaimNamespace],
	}
	if xrName == "" {
		return nil, fmt.Errorf("metadata.name is empty")
	}
	w.id = workspaceID(xrName, w.claimName, w.claimNamespace, maxLabel-len(p.namespacePrefix))
	w.namespace = p.namespacePrefix + w.id
	w.host = w.id + "." + p.domain
	w.url = p.scheme + "://" + w.host
	w.apiURL = w.url + "/ollama"
	if p.apiGatewayURL != "" {
		// The portal's gateway serves a workspace by its claim's name.
		name := w.claimName
		if name == "" {
			name = xrName
		}
		w.apiURL = p.apiGatewayURL + "/" + name
	}
	w.models = make([]string, 0, len(spec.Models))
	for _, m := range spec.Models {
		w.models = append(w.models, string(m))
	}
	if len(w.models) == 0 {
		w.models = append(w.models, p.defaultModels...)
	}
	w.scaleToZero = p.kedaEnabled && *spec.ScaleToZero.Enabled
	d, _ := time.ParseDuration(spec.ScaleToZero.IdleAfter) // validateSpec checked it.
	w.idleAfter = int32(d / time.Second)
	return w, nil
}

// requirePods asks Crossplane for the pods of this workspace's model Jobs;
// it sends them with the next call.
func requirePods(rsp *fnv1.RunFunctionResponse, w *workspace) {
	if rsp.Requirements == nil {
		rsp.Requirements = &fnv1.Requirements{}
	}
	if rsp.Requirements.Resources == nil {
		rsp.Requirements.Resources = map[string]*fnv1.ResourceSelector{}
	}
	ns := w.namespace
	rsp.Requirements.Resources[requiredPods] = &fnv1.ResourceSelector{
		ApiVersion: "v1",
		Kind:       "Pod",
		Namespace:  &ns,
		Match: &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{
			labelInstance:  w.id,
			labelComponent: componentModelJob,
		}}},
	}
}

// setStatus writes the workspace status into the desired XR, keeping status
// fields an earlier step of the pipeline set.
func setStatus(rsp *fnv1.RunFunctionResponse, s v1alpha1.WorkspaceStatus) error {
	enc, err := encodeStruct(&s)
	if err != nil {
		return err
	}
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Composite == nil {
		rsp.Desired.Composite = &fnv1.Resource{}
	}
	xr := rsp.Desired.Composite.Resource
	if xr == nil {
		xr = &structpb.Struct{}
		rsp.Desired.Composite.Resource = xr
	}
	if xr.Fields == nil {
		xr.Fields = map[string]*structpb.Value{}
	}
	status := xr.Fields["status"].GetStructValue()
	if status == nil {
		xr.Fields["status"] = structpb.NewStructValue(enc)
		return nil
	}
	if status.Fields == nil {
		status.Fields = make(map[string]*structpb.Value, len(enc.Fields))
	}
	maps.Copy(status.Fields, enc.Fields)
	return nil
}

// report sets the ModelsReady condition, emits events for transitions only
// (a model became ready or failed, the workspace became ready) and picks
// the TTL: short while converging, long once everything is ready.
func (f *Function) report(rsp *fnv1.RunFunctionResponse, oxr map[string]any, w *workspace, s v1alpha1.WorkspaceStatus, ready bool) {
	prev := previousStates(oxr)
	var failed, waiting []string
	for _, m := range s.Models {
		switch m.State {
		case v1alpha1.ModelReady:
			if prev[m.Name] != v1alpha1.ModelReady {
				response.Normalf(rsp, "Model %s is ready: %s", m.Name, m.Message).TargetCompositeAndClaim().WithReason("ModelReady")
			}
		case v1alpha1.ModelFailed:
			failed = append(failed, m.Name+": "+m.Message)
			if prev[m.Name] != v1alpha1.ModelFailed {
				response.Warning(rsp, fmt.Errorf("model %s failed: %s", m.Name, m.Message)).TargetCompositeAndClaim().WithReason("ModelFailed")
			}
		default:
			waiting = append(waiting, m.Name)
		}
	}
	switch {
	case len(failed) > 0:
		response.ConditionFalse(rsp, conditionModelsReady, "ModelFailed").
			WithMessage(truncate(strings.Join(failed, "; "), maxMessage)).TargetCompositeAndClaim()
	case len(waiting) > 0:
		response.ConditionFalse(rsp, conditionModelsReady, "ModelsPending").
			WithMessage(truncate(s.ModelsReady+" models ready; waiting for "+strings.Join(waiting, ", "), maxMessage)).TargetCompositeAndClaim()
	default:
		response.ConditionTrue(rsp, conditionModelsReady, "AllModelsReady").
			WithMessage(s.ModelsReady + " models ready").TargetCompositeAndClaim()
	}

	if ready {
		if c, ok := condition(oxr, "Ready"); !ok || c.status != "True" {
			response.Normalf(rsp, "Workspace is ready at %s", w.url).TargetCompositeAndClaim().WithReason("WorkspaceReady")
		}
		rsp.Meta.Ttl = durationpb.New(w.p.ttlReady)
		return
	}
	rsp.Meta.Ttl = durationpb.New(w.p.ttlConverging)
}

// truncate shortens s to at most n bytes on a rune boundary: a status or
// condition message that is not valid UTF-8 cannot be sent over gRPC.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// composition is the desired state of one workspace.
type composition struct {
	objects        []desiredObject
	observed       map[resource.Name]resource.ObservedComposed
	namespaceReady bool
	models         []v1alpha1.ModelStatus
}

// desiredObject is one composed resource with its readiness.
type desiredObject struct {
	name    resource.Name
	obj     any
	ready   bool
	message string
}

func (c *composition) add(name string, obj any) {
	var o *composed.Unstructured
	if oc, ok := c.observed[resource.Name(name)]; ok {
		o = oc.Resource
	}
	ready, msg := readiness(o)
	c.objects = append(c.objects, desiredObject{name: resource.Name(name), obj: obj, ready: ready, message: msg})
}

// compose builds every desired object. Namespaced objects wait for the
// Namespace: applying them earlier only fails and fills the events with
// "namespace not found".
func (f *Function) compose(w *workspace, observed map[resource.Name]resource.ObservedComposed, pods []resource.Required) (*composition, error) {
	c := &composition{observed: observed}
	c.add("namespace", w.namespaceObject())
	if oc, ok := observed["namespace"]; ok {
		c.namespaceReady, _ = readiness(oc.Resource)
	}
	jobs := w.jobs()
	if !c.namespaceReady {
		for _, j := range jobs {
			c.models = append(c.models, modelStatus(j, nil, true, nil))
		}
		return c, nil
	}

	var observedSecret *composed.Unstructured
	if oc, ok := observed["secret"]; ok {
		observedSecret = oc.Resource
	}
	secret, err := w.workspaceSecret(observedSecret, f.random)
	if err != nil {
		return nil, err
	}
	c.add("secret", secret)
	c.add("resource-quota", w.resourceQuota(len(jobs)))
	c.add("limit-range", w.limitRange())
	c.add("sa-ollama", w.serviceAccount(ollamaName, componentOllama))
	c.add("sa-open-webui", w.serviceAccount(webUIName, componentWebUI))
	c.add("sa-model-job", w.serviceAccount(modelJobSA, componentModelJob))
	c.add("ollama", w.ollamaStatefulSet())
	c.add("ollama-service", w.service(ollamaName, componentOllama, ollamaPort, ollamaPort))
	c.add("open-webui-data", w.webUIDataClaim())
	c.add("open-webui", w.webUIDeployment())
	c.add("open-webui-service", w.service(webUIName, componentWebUI, webUIServPort, webUIPort))
	if w.spec.Pipelines.Enabled {
		c.add("sa-pipelines", w.serviceAccount(pipelinesName, componentPipelines))
		c.add("pipelines", w.pipelinesDeployment())
		c.add("pipelines-service", w.service(pipelinesName, componentPipelines, pipelinesPort, pipelinesPort))
	}
	if w.p.gatewayMode() {
		c.add("http-route", w.httpRoute())
		if w.scaleToZero {
			c.add("reference-grant", w.referenceGrant())
		}
	} else {
		c.add("ingress", w.ingress())
		if w.scaleToZero {
			c.add("interceptor-service", w.interceptorService())
		}
	}
	if w.scaleToZero {
		c.add("http-scaled-object", w.httpScaledObject())
		c.add("ollama-http-scaled-object", w.ollamaHTTPScaledObject())
		c.add("ollama-scaled-object", w.followerScaledObject(ollamaName, "StatefulSet", componentOllama, w.ollamaUsers(), w.ollamaTraffic()))
		if w.spec.Pipelines.Enabled {
			c.add("pipelines-scaled-object", w.followerScaledObject(pipelinesName, "Deployment", componentPipelines, w.pipelinesUsers()))
		}
	}
	for _, np := range w.networkPolicies() {
		c.add("network-policy-"+np.Name, np)
	}

	// An assistant's Job starts only once its base model is pulled: run
	// earlier, it would fail (or worse, make Ollama pull the base model
	// itself, outside the Job's bounds). A Job that exists stays.
	summaries := jobSummaries(pods)
	pulled := map[string]bool{}
	for _, j := range jobs {
		var o *composed.Unstructured
		if oc, ok := observed[resource.Name(j.name)]; ok {
			o = oc.Resource
		}
		emit := j.kind == v1alpha1.ModelKindBase || o != nil || pulled[j.from]
		if emit {
			c.add(j.name, w.job(j))
		}
		st := modelStatus(j, o, emit, summaries)
		if j.kind == v1alpha1.ModelKindBase && st.State == v1alpha1.ModelReady {
			pulled[j.model] = true
		}
		c.models = append(c.models, st)
	}
	return c, nil
}

// ready is true when every desired object is ready and every model is.
func (c *composition) ready() bool {
	if !c.namespaceReady {
		return false
	}
	for _, o := range c.objects {
		if !o.ready {
			return false
		}
	}
	for _, m := range c.models {
		if m.State != v1alpha1.ModelReady {
			return false
		}
	}
	return true
}

// status reports what is observed: the namespace once it exists, the URLs
// once the route to them does.
func (c *composition) status(w *workspace) v1alpha1.WorkspaceStatus {
	_, count := readyCount(c.models)
	s := v1alpha1.WorkspaceStatus{
		ModelsReady: count,
		Models:      c.models,
		Resources:   make([]v1alpha1.ResourceStatus, 0, len(c.objects)),
	}
	if c.namespaceReady {
		s.Namespace = w.namespace
	}
	_, ingress := c.observed["ingress"]
	_, route := c.observed["http-route"]
	if ingress || route {
		s.URL, s.APIURL = w.url, w.apiURL
	}
	for _, o := range c.objects {
		kind, name := kindAndName(o.obj)
		s.Resources = append(s.Resources, v1alpha1.ResourceStatus{Kind: kind, Name: name, Ready: o.ready, Message: o.message})
	}
	return s
}

// writeTo adds the desired objects to the response, keeping what earlier
// functions in the pipeline put there.
func (c *composition) writeTo(rsp *fnv1.RunFunctionResponse) error {
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = make(map[string]*fnv1.Resource, len(c.objects))
	}
	for _, o := range c.objects {
		s, err := toStruct(o.obj)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		r := &fnv1.Resource{Resource: s, Ready: fnv1.Ready_READY_FALSE}
		if o.ready {
			r.Ready = fnv1.Ready_READY_TRUE
		}
		rsp.Desired.Resources[string(o.name)] = r
	}
	return nil
}
