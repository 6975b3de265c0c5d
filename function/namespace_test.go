package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

func TestNamespaceObject(t *testing.T) {
	w := testWorkspace(t, nil, exampleSpec)
	ns := w.namespaceObject()
	if ns.Name != testNamespace || ns.Namespace != "" {
		t.Errorf("namespaceObject(): name %q, namespace %q", ns.Name, ns.Namespace)
	}
	want := w.labels("workspace")
	want["pod-security.kubernetes.io/enforce"] = "restricted"
	want["pod-security.kubernetes.io/enforce-version"] = "latest"
	want["pod-security.kubernetes.io/warn"] = "restricted"
	if diff := cmp.Diff(want, ns.Labels); diff != "" {
		t.Errorf("namespaceObject(): labels: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"aichatworkspaces.io/owner": "ada@example.com"}, ns.Annotations); diff != "" {
		t.Errorf("namespaceObject(): annotations: -want, +got:\n%s", diff)
	}
}

// serialisedSpec is an object's spec as the response carries it.
func serialisedSpec(t *testing.T, obj any) map[string]any {
	t.Helper()
	s, err := toStruct(obj)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := s.AsMap()["spec"].(map[string]any)
	return spec
}

func TestResourceQuota(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     *v1beta1.Input
		spec   string
		jobs   int
		want   map[string]any
	}{
		"SmallFourJobs": {
			reason: "Ollama + Open WebUI + 4 model Jobs of size small; storage is models + data.",
			spec:   exampleSpec, jobs: 4,
			want: map[string]any{
				// 500m + 200m + 4*10m; 2Gi + 768Mi + 4*32Mi; 4 + 1 + 4*500m; 6Gi + 1536Mi + 4*128Mi
				"requests.cpu": "740m", "requests.memory": "2944Mi", "limits.cpu": "7", "limits.memory": "8Gi",
				"requests.storage": "22Gi", "persistentvolumeclaims": "2", "pods": "6",
				"services.loadbalancers": "0", "services.nodeports": "0",
			},
		},
		"Pipelines": {
			reason: "Pipelines add their container and a pod.",
			spec:   `{"pipelines": {"enabled": true}, "storage": {"models": "50Gi", "data": "1536Mi"}}`, jobs: 1,
			want: map[string]any{
				// + 100m, 256Mi, 1, 1Gi
				"requests.cpu": "810m", "requests.memory": "3104Mi", "limits.cpu": "6500m", "limits.memory": "8832Mi",
				"requests.storage": "52736Mi", "persistentvolumeclaims": "2", "pods": "4",
				"services.loadbalancers": "0", "services.nodeports": "0",
			},
		},
		"NoJobs": {
			reason: "Without Jobs the quota is the two workloads of size large.",
			spec:   `{"size": "large"}`, jobs: 0,
			want: map[string]any{
				"requests.cpu": "2500m", "requests.memory": "17Gi", "limits.cpu": "18", "limits.memory": "43Gi",
				"requests.storage": "22Gi", "persistentvolumeclaims": "2", "pods": "2",
				"services.loadbalancers": "0", "services.nodeports": "0",
			},
		},
		"InputSizes": {
			reason: "A size from the input is summed as given, in canonical form.",
			in: &v1beta1.Input{Sizes: v1beta1.Sizes{XSmall: &v1beta1.SizeProfile{
				Ollama: rr("0.25", "1.5Gi", "1.5", "3.5Gi"), OpenWebUI: rr("100m", "512Mi", "500m", "0.5Gi"),
			}}},
			spec: `{"size": "xsmall"}`, jobs: 2,
			want: map[string]any{
				"requests.cpu": "370m", "requests.memory": "2112Mi", "limits.cpu": "3", "limits.memory": "4352Mi",
				"requests.storage": "22Gi", "persistentvolumeclaims": "2", "pods": "4",
				"services.loadbalancers": "0", "services.nodeports": "0",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, tc.in, tc.spec)
			q := w.resourceQuota(tc.jobs)
			if q.Name != "workspace" || q.Namespace != w.namespace {
				t.Errorf("%s\nresourceQuota(): %s/%s", tc.reason, q.Namespace, q.Name)
			}
			if diff := cmp.Diff(tc.want, serialisedSpec(t, q)["hard"]); diff != "" {
				t.Errorf("%s\nresourceQuota(%d): hard: -want, +got:\n%s", tc.reason, tc.jobs, diff)
			}
		})
	}
}

func TestLimitRange(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   string
		want   map[string]any
	}{
		"Small": {
			reason: "Containers are capped at Ollama's limits, default to the model Job's; volumes at the larger volume.",
			spec:   exampleSpec,
			want: map[string]any{"limits": []any{
				map[string]any{
					"type":           "Container",
					"default":        map[string]any{"cpu": "500m", "memory": "128Mi"},
					"defaultRequest": map[string]any{"cpu": "10m", "memory": "32Mi"},
					"max":            map[string]any{"cpu": "4", "memory": "6Gi"},
				},
				map[string]any{"type": "PersistentVolumeClaim", "max": map[string]any{"storage": "20Gi"}},
			}},
		},
		"DataLarger": {
			reason: "A data volume larger than the model volume sets the volume cap.",
			spec:   `{"size": "medium", "storage": {"models": "1Gi", "data": "5Gi"}}`,
			want: map[string]any{"limits": []any{
				map[string]any{
					"type":           "Container",
					"default":        map[string]any{"cpu": "500m", "memory": "128Mi"},
					"defaultRequest": map[string]any{"cpu": "10m", "memory": "32Mi"},
					"max":            map[string]any{"cpu": "8", "memory": "16Gi"},
				},
				map[string]any{"type": "PersistentVolumeClaim", "max": map[string]any{"storage": "5Gi"}},
			}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, serialisedSpec(t, testWorkspace(t, nil, tc.spec).limitRange())); diff != "" {
				t.Errorf("%s\nlimitRange(): spec: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// A container larger than Ollama (here Pipelines) raises the cap.
func TestLimitRangeCoversWorkloads(t *testing.T) {
	w := testWorkspace(t, &v1beta1.Input{Sizes: v1beta1.Sizes{Small: &v1beta1.SizeProfile{Pipelines: rr("1", "1Gi", "12", "20Gi")}}},
		`{"pipelines": {"enabled": true}}`)
	max := w.limitRange().Spec.Limits[0].Max
	if got := max["cpu"]; got.String() != "12" {
		t.Errorf("limitRange(): max cpu: want the Pipelines limit 12, got %s", got.String())
	}
	if got := max["memory"]; got.String() != "20Gi" {
		t.Errorf("limitRange(): max memory: want the Pipelines limit 20Gi, got %s", got.String())
	}
}

func TestCanonical(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"FractionGi":   {"1.5Gi", "1536Mi"},
		"FractionCPU":  {"0.5", "500m"},
		"Already":      {"8Gi", "8Gi"},
		"DecimalBytes": {"1000M", "1G"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := canonical(resource.MustParse(tc.in))
			b, _ := got.MarshalJSON()
			if string(b) != `"`+tc.want+`"` {
				t.Errorf("canonical(%s) serialises as %s, want %q", tc.in, b, tc.want)
			}
		})
	}
}
