package function

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

func TestHTTPScaledObject(t *testing.T) {
	host := testID + ".aichat.example.com"
	cases := map[string]struct {
		reason string
		in     *v1beta1.Input
		spec   string
		want   HTTPScaledObjectSpec
	}{
		"Example": {
			reason: "Open WebUI scales between zero and one on its host's traffic, idle after the claim's 30m.",
			spec:   exampleSpec,
			want: HTTPScaledObjectSpec{
				Hosts:           []string{host},
				ScaleTargetRef:  HTTPScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "open-webui", Service: "open-webui", Port: 80},
				Replicas:        ReplicaStruct{Min: 0, Max: 1},
				ScaledownPeriod: 1800,
				Timeouts:        HTTPTimeouts{ConditionWait: "5m0s", ResponseHeader: "5m0s"},
			},
		},
		"Input": {
			reason: "The interceptor's timeouts come from the input; idleAfter in fractions.",
			in: &v1beta1.Input{KEDA: v1beta1.KEDA{
				ConditionWait: &metav1.Duration{Duration: 90 * time.Second}, ResponseHeader: &metav1.Duration{Duration: 10 * time.Minute},
			}},
			spec: `{"scaleToZero": {"idleAfter": "1.5h"}}`,
			want: HTTPScaledObjectSpec{
				Hosts:           []string{host},
				ScaleTargetRef:  HTTPScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "open-webui", Service: "open-webui", Port: 80},
				Replicas:        ReplicaStruct{Min: 0, Max: 1},
				ScaledownPeriod: 5400,
				Timeouts:        HTTPTimeouts{ConditionWait: "1m30s", ResponseHeader: "10m0s"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := testWorkspace(t, tc.in, tc.spec).httpScaledObject()
			if diff := cmp.Diff(tc.want, o.Spec); diff != "" {
				t.Errorf("%s\nhttpScaledObject(): -want, +got:\n%s", tc.reason, diff)
			}
			if o.APIVersion != "http.keda.sh/v1alpha1" || o.Kind != "HTTPScaledObject" || o.Name != "open-webui" || o.Namespace != testNamespace {
				t.Errorf("%s\nhttpScaledObject(): %s %s %s/%s", tc.reason, o.APIVersion, o.Kind, o.Namespace, o.Name)
			}
		})
	}
}

func TestFollowerScaledObject(t *testing.T) {
	w := testWorkspace(t, nil, `{"pipelines": {"enabled": true}}`)
	o := w.followerScaledObject(ollamaName, "StatefulSet", componentOllama, w.ollamaUsers())
	want := ScaledObjectSpec{
		ScaleTargetRef:  ScaleTarget{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "ollama"},
		MinReplicaCount: 0, MaxReplicaCount: 1, PollingInterval: 10, CooldownPeriod: 60,
		Triggers: []ScaleTrigger{{Type: "kubernetes-workload", Metadata: map[string]string{
			"podSelector": "app.kubernetes.io/instance=" + testID + ",aichatworkspaces.io/wakes-ollama=true",
			"value":       "1",
		}}},
	}
	if diff := cmp.Diff(want, o.Spec); diff != "" {
		t.Errorf("followerScaledObject(ollama): -want, +got:\n%s", diff)
	}
	if o.APIVersion != "keda.sh/v1alpha1" || o.Kind != "ScaledObject" || o.Namespace != testNamespace || o.Name != "ollama" {
		t.Errorf("followerScaledObject(ollama): %s %s %s/%s", o.APIVersion, o.Kind, o.Namespace, o.Name)
	}
	if got := w.pipelinesUsers(); got != "app.kubernetes.io/instance="+testID+",app.kubernetes.io/component=open-webui" {
		t.Errorf("pipelinesUsers(): got %q", got)
	}
}

// The podSelectors must select the pods that need the workload: Ollama
// follows Open WebUI and the model Jobs, Pipelines follow Open WebUI; no
// workload keeps itself awake.
func TestFollowerSelectorsMatchPods(t *testing.T) {
	w := testWorkspace(t, nil, `{"models": ["m"], "pipelines": {"enabled": true}}`)
	pods := map[string]map[string]string{
		"open-webui": w.webUIDeployment().Spec.Template.Labels,
		"model-job":  w.job(w.jobs()[0]).Spec.Template.Labels,
		"ollama":     w.ollamaStatefulSet().Spec.Template.Labels,
		"pipelines":  w.pipelinesDeployment().Spec.Template.Labels,
	}
	other := testWorkspace(t, nil, `{"models": ["m"]}`)
	other.id = "someone-else-12345678"
	pods["other-workspace-webui"] = other.webUIDeployment().Spec.Template.Labels

	cases := map[string]struct {
		selector string
		want     map[string]bool
	}{
		"Ollama":    {w.ollamaUsers(), map[string]bool{"open-webui": true, "model-job": true}},
		"Pipelines": {w.pipelinesUsers(), map[string]bool{"open-webui": true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sel, err := labels.Parse(tc.selector)
			if err != nil {
				t.Fatalf("podSelector %q: %v", tc.selector, err)
			}
			for pod, l := range pods {
				if got := sel.Matches(labels.Set(l)); got != tc.want[pod] {
					t.Errorf("podSelector %q on %s pods: want %t, got %t", tc.selector, pod, tc.want[pod], got)
				}
			}
		})
	}
}

// Ollama wakes on API calls: the interceptor routes its in-cluster host, KEDA
// creates no ScaledObject of its own for it, and Ollama's ScaledObject takes
// the interceptor's traffic as a second trigger.
func TestOllamaWakesOnAPICalls(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     *v1beta1.Input
		scaler string
	}{
		"Default": {"The external scaler lives next to the interceptor.", nil, "keda-add-ons-http-external-scaler.keda:9090"},
		"Input": {"The platform names its own external scaler.",
			&v1beta1.Input{KEDA: v1beta1.KEDA{ExternalScaler: "http-scaler.autoscaling:9091"}}, "http-scaler.autoscaling:9091"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, tc.in, exampleSpec)
			h := w.ollamaHTTPScaledObject()
			wantSpec := HTTPScaledObjectSpec{
				Hosts:           []string{"ollama." + testNamespace + ".svc"},
				ScaleTargetRef:  HTTPScaleTargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "ollama", Service: "ollama", Port: 11434},
				Replicas:        ReplicaStruct{Min: 0, Max: 1},
				ScaledownPeriod: 1800,
				Timeouts:        HTTPTimeouts{ConditionWait: "5m0s", ResponseHeader: "5m0s"},
			}
			if diff := cmp.Diff(wantSpec, h.Spec); diff != "" {
				t.Errorf("%s\nollamaHTTPScaledObject(): -want, +got:\n%s", tc.reason, diff)
			}
			if h.Annotations["httpscaledobject.keda.sh/skip-scaledobject-creation"] != "true" {
				t.Errorf("%s\nollamaHTTPScaledObject(): want the skip-scaledobject-creation annotation, got %v", tc.reason, h.Annotations)
			}
			so := w.followerScaledObject(ollamaName, "StatefulSet", componentOllama, w.ollamaUsers(), w.ollamaTraffic())
			want := ScaleTrigger{Type: "external-push", Metadata: map[string]string{"httpScaledObject": "ollama", "scalerAddress": tc.scaler}}
			if n := len(so.Spec.Triggers); n != 2 {
				t.Fatalf("%s\nwant the workload trigger and the traffic trigger, got %d triggers", tc.reason, n)
			}
			if diff := cmp.Diff(want, so.Spec.Triggers[1]); diff != "" {
				t.Errorf("%s\ntraffic trigger: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
