package controlplane_test

import (
	"context"
	"sync/atomic"
	"time"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// smokeFunction is the composition function of the harness smoke test: it
// composes, for an XSmoke, a Namespace named after the XR and in it a
// ConfigMap holding spec.message, a Deployment and a Job. Each is Ready when
// its workload is (Deployment Available, Job Complete), so the claim
// becomes Ready only when KWOK ran the Pods.
type smokeFunction struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
	calls atomic.Int64
}

func (f *smokeFunction) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	f.calls.Add(1)
	desired, ready, err := compose(req)
	// Converging: ask to be called again soon; converged: rarely.
	ttl := time.Second
	if ready {
		ttl = time.Minute
	}
	rsp := response.To(req, ttl)
	if err == nil {
		err = response.SetDesiredComposedResources(rsp, desired)
	}
	if err != nil {
		response.Fatal(rsp, err)
	}
	return rsp, nil
}

func compose(req *fnv1.RunFunctionRequest) (map[resource.Name]*resource.DesiredComposed, bool, error) {
	xr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		return nil, false, err
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		return nil, false, err
	}
	msg, _ := xr.Resource.GetString("spec.message")
	ns := xr.Resource.GetName()
	labels := map[string]string{"app.kubernetes.io/name": "smoke", "app.kubernetes.io/instance": ns}
	podSpec := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "smoke.invalid/app:v1"}}},
	}
	job := podSpec.DeepCopy()
	job.Spec.RestartPolicy = corev1.RestartPolicyNever
	job.Labels = map[string]string{"app.kubernetes.io/name": "smoke-job"}
	objs := map[resource.Name]runtime.Object{
		"namespace": &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns},
		},
		"configmap": &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "smoke"},
			Data:       map[string]string{"message": msg},
		},
		"deployment": &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "smoke"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: podSpec,
			},
		},
		"job": &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "smoke"},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: *job},
		},
	}
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		return nil, false, err
	}
	// Namespaced objects only once the Namespace exists: core applies the
	// desired objects in no set order, and one applied before its
	// Namespace fails the whole reconcile, which core then retries with a
	// growing backoff (over a minute was seen here).
	if _, ok := observed["namespace"]; !ok {
		objs = map[resource.Name]runtime.Object{"namespace": objs["namespace"]}
	}
	allReady := len(objs) == 4
	for name, o := range objs {
		// Not composed.From: it needs the kinds registered in the SDK's
		// global scheme; the objects carry their apiVersion and kind.
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, false, err
		}
		cd := composed.New()
		cd.Object = m
		ready := resource.ReadyFalse
		if oc, ok := observed[name]; ok && isReady(name, &oc.Resource.Unstructured) {
			ready = resource.ReadyTrue
		}
		allReady = allReady && ready == resource.ReadyTrue
		desired[name] = &resource.DesiredComposed{Resource: cd, Ready: ready}
	}
	return desired, allReady, nil
}

// isReady says whether an observed composed resource is ready to use.
func isReady(name resource.Name, u *unstructured.Unstructured) bool {
	cond := func(t string) bool {
		list, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range list {
			m, _ := c.(map[string]any)
			if m["type"] == t && m["status"] == "True" {
				return true
			}
		}
		return false
	}
	switch name {
	case "namespace":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return phase == "Active"
	case "deployment":
		return cond("Available")
	case "job":
		return cond("Complete")
	default:
		return true // a ConfigMap is ready once it exists
	}
}
