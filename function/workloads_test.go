package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func env(vars []corev1.EnvVar) map[string]string {
	out := map[string]string{}
	for _, v := range vars {
		out[v.Name] = v.Value
		if v.ValueFrom != nil && v.ValueFrom.SecretKeyRef != nil {
			out[v.Name] = "secret:" + v.ValueFrom.SecretKeyRef.Name + "/" + v.ValueFrom.SecretKeyRef.Key
		}
	}
	return out
}

func TestReplicas(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   string
		want   *int32
	}{
		"ScaleToZero": {"KEDA owns spec.replicas: the function leaves it out.", `{"pipelines": {"enabled": true}}`, nil},
		"AlwaysOn":    {"Without scale to zero one replica.", `{"pipelines": {"enabled": true}, "scaleToZero": {"enabled": false}}`, ptr(int32(1))},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, nil, tc.spec)
			got := map[string]*int32{
				"ollama": w.ollamaStatefulSet().Spec.Replicas, "open-webui": w.webUIDeployment().Spec.Replicas,
				"pipelines": w.pipelinesDeployment().Spec.Replicas,
			}
			want := map[string]*int32{"ollama": tc.want, "open-webui": tc.want, "pipelines": tc.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\nreplicas: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStorage(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   string
		class  *string
	}{
		"DefaultClass": {"Without a class the cluster default applies.", `{"storage": {"models": "30Gi", "data": "3Gi"}}`, nil},
		"Class":        {"A class applies to both volumes.", `{"storage": {"models": "30Gi", "data": "3Gi", "storageClassName": "fast"}}`, ptr("fast")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, nil, tc.spec)
			models := w.ollamaStatefulSet().Spec.VolumeClaimTemplates[0]
			data := w.webUIDataClaim()
			got := []any{models.Name, models.Spec.StorageClassName, models.Spec.Resources.Requests.Storage().String(),
				data.Name, data.Spec.StorageClassName, data.Spec.Resources.Requests.Storage().String()}
			want := []any{"models", tc.class, "30Gi", "open-webui-data", tc.class, "3Gi"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestWebUIEnv(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   string
		want   map[string]string
	}{
		"Assistant": {
			reason: "A new chat starts with the first assistant; no OpenAI API without Pipelines.",
			spec:   exampleSpec,
			want:   map[string]string{"DEFAULT_MODELS": "summarizer", "ENABLE_OPENAI_API": "false"},
		},
		"Model": {
			reason: "Without assistants, with the first model.",
			spec:   `{"models": ["qwen2.5-coder:1.5b", "llama3.2:1b"]}`,
			want:   map[string]string{"DEFAULT_MODELS": "qwen2.5-coder:1.5b", "ENABLE_OPENAI_API": "false"},
		},
		"Pipelines": {
			reason: "Pipelines are Open WebUI's OpenAI API, with the shared key.",
			spec:   `{"pipelines": {"enabled": true}}`,
			want: map[string]string{
				"DEFAULT_MODELS": DefaultModel, "ENABLE_OPENAI_API": "true",
				"OPENAI_API_BASE_URLS": "http://pipelines." + testNamespace + ".svc:9099",
				"OPENAI_API_KEYS":      "secret:workspace-keys/PIPELINES_API_KEY",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, nil, tc.spec)
			got := env(w.webUIDeployment().Spec.Template.Spec.Containers[0].Env)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s\n%s: want %q, got %q", tc.reason, k, v, got[k])
				}
			}
			common := map[string]string{
				"OLLAMA_BASE_URL":  "http://ollama." + testNamespace + ".svc:11434",
				"WEBUI_URL":        "https://" + testID + ".aichat.example.com",
				"WEBUI_SECRET_KEY": "secret:workspace-keys/WEBUI_SECRET_KEY",
				"OFFLINE_MODE":     "true",
			}
			for k, v := range common {
				if got[k] != v {
					t.Errorf("%s\n%s: want %q, got %q", tc.reason, k, v, got[k])
				}
			}
			if _, ok := got["OPENAI_API_KEYS"]; ok != (tc.want["OPENAI_API_KEYS"] != "") {
				t.Errorf("%s\nOPENAI_API_KEYS present %t", tc.reason, ok)
			}
		})
	}
}

// Every pod of a workspace meets the restricted Pod Security Standard the
// namespace enforces.
func TestPodsAreRestricted(t *testing.T) {
	w := testWorkspace(t, nil, `{"pipelines": {"enabled": true}, "models": ["m"]}`)
	pods := map[string]corev1.PodSpec{
		"ollama":     w.ollamaStatefulSet().Spec.Template.Spec,
		"open-webui": w.webUIDeployment().Spec.Template.Spec,
		"pipelines":  w.pipelinesDeployment().Spec.Template.Spec,
		"model-job":  w.job(w.jobs()[0]).Spec.Template.Spec,
	}
	for name, p := range pods {
		if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot ||
			p.SecurityContext.SeccompProfile == nil || p.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %v", name, p.SecurityContext)
		}
		if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
			t.Errorf("%s: mounts a service account token", name)
		}
		if p.ServiceAccountName == "" || p.ServiceAccountName == "default" {
			t.Errorf("%s: runs as the default service account", name)
		}
		for _, c := range p.Containers {
			s := c.SecurityContext
			if s == nil || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation ||
				s.Capabilities == nil || !cmp.Equal(s.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("%s/%s: container security context %v", name, c.Name, s)
			}
			if len(c.Resources.Limits) == 0 || len(c.Resources.Requests) == 0 {
				t.Errorf("%s/%s: no resources", name, c.Name)
			}
		}
	}
	// Only Open WebUI's (and the model Jobs') pods wake Ollama.
	for name, l := range map[string]map[string]string{
		"ollama": w.ollamaStatefulSet().Spec.Template.Labels, "pipelines": w.pipelinesDeployment().Spec.Template.Labels,
	} {
		if _, ok := l[labelWakesOllama]; ok {
			t.Errorf("%s pods wake Ollama", name)
		}
	}
}

func TestServices(t *testing.T) {
	w := testWorkspace(t, nil, `{}`)
	s := w.service(webUIName, componentWebUI, webUIServPort, webUIPort)
	if s.Spec.Type != corev1.ServiceTypeClusterIP || s.Spec.Ports[0].Port != 80 || s.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("service(open-webui): %v", s.Spec)
	}
	if diff := cmp.Diff(w.selector(componentWebUI), s.Spec.Selector); diff != "" {
		t.Errorf("service(open-webui): selector: -want, +got:\n%s", diff)
	}
	sa := w.serviceAccount(ollamaName, componentOllama)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken || sa.Namespace != testNamespace {
		t.Errorf("serviceAccount(ollama): %v", sa)
	}
}
