package function

import (
	"encoding/json"
	"testing"

	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/google/go-cmp/cmp"
)

// observedJSON is an observed composed resource as Crossplane sends it
// (numbers as float64, as from a protobuf Struct).
func observedJSON(t *testing.T, j string) *composed.Unstructured {
	t.Helper()
	o := composed.New()
	if err := json.Unmarshal([]byte(j), &o.Object); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestReadiness(t *testing.T) {
	type want struct {
		ready bool
		msg   string
	}
	cases := map[string]struct {
		reason string
		obj    string // "" for nil
		want   want
	}{
		"Nil": {"A resource not observed yet is not ready.", "", want{false, "not created yet"}},

		"NamespaceActive":      {"An Active namespace is ready.", `{"kind": "Namespace", "status": {"phase": "Active"}}`, want{true, ""}},
		"NamespaceNoPhase":     {"A namespace without a phase yet is ready.", `{"kind": "Namespace"}`, want{true, ""}},
		"NamespaceTerminating": {"A terminating namespace is not.", `{"kind": "Namespace", "status": {"phase": "Terminating"}}`, want{false, "namespace is Terminating"}},

		"DeploymentReady": {"A rolled out Deployment is ready.",
			`{"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 1}, "status": {"observedGeneration": 2, "readyReplicas": 1, "updatedReplicas": 1}}`,
			want{true, ""}},
		"DeploymentScaledToZero": {"A Deployment KEDA scaled to zero is asleep, not broken.",
			`{"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 0}, "status": {"observedGeneration": 3}}`,
			want{true, "scaled to zero"}},
		"StatefulSetScaledToZero": {"So is a StatefulSet.",
			`{"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 0}, "status": {"observedGeneration": 1, "replicas": 0}}`,
			want{true, "scaled to zero"}},
		"DeploymentGenerationLag": {"A spec the controller has not seen yet is not ready, even with ready replicas.",
			`{"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 1}, "status": {"observedGeneration": 2, "readyReplicas": 1, "updatedReplicas": 1}}`,
			want{false, "waiting for the controller to observe the latest spec"}},
		"DeploymentNoStatus": {"A Deployment without status is not ready.",
			`{"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1}}`,
			want{false, "waiting for the controller to observe the latest spec"}},
		"DeploymentNotReady": {"Too few ready replicas.",
			`{"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "readyReplicas": 0, "updatedReplicas": 1}}`,
			want{false, "0 of 1 replicas ready"}},
		"DeploymentNotUpdated": {"Ready but old replicas are not the latest spec.",
			`{"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 0}}`,
			want{false, "1 of 1 replicas ready"}},
		"StatefulSetDefaultReplicas": {"Without spec.replicas one replica is wanted.",
			`{"kind": "StatefulSet", "metadata": {"generation": 1}, "status": {"observedGeneration": 1}}`,
			want{false, "0 of 1 replicas ready"}},
		"StatefulSetReady": {"A StatefulSet with its replica ready.",
			`{"kind": "StatefulSet", "metadata": {"generation": 1}, "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1}}`,
			want{true, ""}},

		"JobComplete": {"A complete Job is ready.", `{"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}}`, want{true, ""}},
		"JobFailed": {"A failed Job is not, and says why.",
			`{"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "message": "Job has reached the specified backoff limit"}]}}`,
			want{false, "failed: Job has reached the specified backoff limit"}},
		"JobRunning":       {"A running Job is not ready.", `{"kind": "Job", "status": {"active": 1}}`, want{false, "running"}},
		"JobCompleteFalse": {"A Complete condition that is False is not complete.", `{"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "False"}]}}`, want{false, "running"}},

		"PVCBound":   {"A bound claim is ready.", `{"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}`, want{true, ""}},
		"PVCPending": {"A pending claim waits for its first consumer: ready.", `{"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}`, want{true, ""}},
		"PVCLost":    {"A lost volume is not.", `{"kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}}`, want{false, "volume lost"}},

		"ScaledObjectReady":    {"A ScaledObject without a problem is ready.", `{"kind": "ScaledObject", "status": {"conditions": [{"type": "Ready", "status": "True"}]}}`, want{true, ""}},
		"ScaledObjectNoStatus": {"A ScaledObject KEDA has not looked at yet is ready.", `{"kind": "ScaledObject"}`, want{true, ""}},
		"ScaledObjectNotReady": {"A ScaledObject KEDA rejects is not.",
			`{"kind": "ScaledObject", "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "ScaledObjectCheckFailed", "message": "no target"}]}}`,
			want{false, "KEDA: ScaledObjectCheckFailed no target"}},
		"HTTPScaledObjectNotReady": {"Nor an HTTPScaledObject.",
			`{"kind": "HTTPScaledObject", "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Err", "message": "bad host"}]}}`,
			want{false, "KEDA: Err bad host"}},

		"HTTPRouteAccepted": {"An accepted route is ready.",
			`{"kind": "HTTPRoute", "status": {"parents": [{"conditions": [{"type": "Accepted", "status": "True"}]}]}}`, want{true, ""}},
		"HTTPRouteNoStatus": {"A route no gateway has looked at yet is ready.", `{"kind": "HTTPRoute"}`, want{true, ""}},
		"HTTPRouteRejected": {"A route a gateway refused is not ready, and says why.",
			`{"kind": "HTTPRoute", "status": {"parents": [{"conditions": [{"type": "Accepted", "status": "False", "message": "NotAllowedByListeners"}]}]}}`,
			want{false, "gateway did not accept the route: NotAllowedByListeners"}},
		"Ingress":   {"An Ingress without a load balancer address is ready.", `{"kind": "Ingress", "status": {"loadBalancer": {}}}`, want{true, ""}},
		"Service":   {"Anything else is ready once it exists.", `{"kind": "Service"}`, want{true, ""}},
		"Malformed": {"Malformed fields never panic.", `{"kind": "Deployment", "metadata": "x", "spec": [], "status": 3}`, want{false, "waiting for the controller to observe the latest spec"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var o *composed.Unstructured
			if tc.obj != "" {
				o = observedJSON(t, tc.obj)
			}
			ready, msg := readiness(o)
			if diff := cmp.Diff(tc.want, want{ready, msg}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nreadiness(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestNum(t *testing.T) {
	obj := map[string]any{"a": map[string]any{"f": 2.0, "i": int64(3), "n": 4, "i32": int32(5), "s": "6"}}
	cases := map[string]struct {
		path []string
		want int64
		ok   bool
	}{
		"Float64": {[]string{"a", "f"}, 2, true},
		"Int64":   {[]string{"a", "i"}, 3, true},
		"Int":     {[]string{"a", "n"}, 4, true},
		"Int32":   {[]string{"a", "i32"}, 5, true},
		"String":  {[]string{"a", "s"}, 0, false},
		"Missing": {[]string{"a", "x", "y"}, 0, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := num(obj, tc.path...)
			if got != tc.want || ok != tc.ok {
				t.Errorf("num(%v): want %d, %t; got %d, %t", tc.path, tc.want, tc.ok, got, ok)
			}
		})
	}
}
