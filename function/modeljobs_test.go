package function

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

func TestJobName(t *testing.T) {
	longModel := "registry.example.com:5000/some-team/" + strings.Repeat("very-long-model-name", 4) + ":q4_K_M"
	cases := map[string]struct {
		reason      string
		verb, model string
		what        []string
		want        string // "" to check only the shape
		wantPrefix  string
	}{
		"Pull": {
			reason: "A pull reads pull-<model as a DNS label>-<hash>; the example's name is that of examples/observed.yaml.",
			verb:   "pull", model: "llama3.2:1b", what: []string{"pull", "llama3.2:1b"},
			want: jobPullLlama,
		},
		"Create": {
			reason: "A create reads create-<assistant>-<hash>.",
			verb:   "create", model: "reviewer", what: []string{"create", "reviewer"},
			wantPrefix: "create-reviewer-",
		},
		"Long": {
			reason: "A long model name is cut to fit 63 characters, the hash kept whole.",
			verb:   "pull", model: longModel, what: []string{"pull", longModel},
			wantPrefix: "pull-registry-example-com-5000-some-team-very-",
		},
		"LongCreate": {
			reason: "The longest assistant name still fits.",
			verb:   "create", model: strings.Repeat("a", 63), what: []string{"x"},
			wantPrefix: "create-" + strings.Repeat("a", 45) + "-",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := jobName(tc.verb, tc.model, tc.what)
			if tc.want != "" && got != tc.want {
				t.Errorf("%s\njobName(...): want %q, got %q", tc.reason, tc.want, got)
			}
			if !strings.HasPrefix(got, tc.wantPrefix) {
				t.Errorf("%s\njobName(...): %q does not start with %q", tc.reason, got, tc.wantPrefix)
			}
			if len(got) > 63 {
				t.Errorf("%s\njobName(...): %q is %d characters", tc.reason, got, len(got))
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Errorf("%s\njobName(...): %q: %v", tc.reason, got, errs)
			}
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Errorf("%s\njobName(...): %q is no label value: %v", tc.reason, got, errs)
			}
			if again := jobName(tc.verb, tc.model, tc.what); again != got {
				t.Errorf("%s\njobName(...) is not deterministic: %q then %q", tc.reason, got, again)
			}
		})
	}
}

// jobNames maps every model of a workspace to its Job's name.
func jobNames(w *workspace) map[string]string {
	out := map[string]string{}
	for _, j := range w.jobs() {
		out[j.model] = j.name
	}
	return out
}

func TestJobNameChanges(t *testing.T) {
	base := jobNames(testWorkspace(t, nil, exampleSpec))
	cases := map[string]struct {
		reason  string
		in      *v1beta1.Input
		spec    string
		changed []string // models whose Job name changes
	}{
		"Same": {
			reason: "The same claim gives the same Jobs.",
			spec:   exampleSpec,
		},
		"Image": {
			reason: "A new model Job image (a platform upgrade) must not run any Job again.",
			in:     &v1beta1.Input{Images: v1beta1.Images{ModelJob: "registry.example.com/model-job:v9", Ollama: "ollama/ollama:9"}},
			spec:   exampleSpec,
		},
		"PatternSource": {
			reason:  "A new pattern source changes every assistant's prompt, so its Job, but no pull.",
			in:      &v1beta1.Input{Patterns: v1beta1.Patterns{Source: "https://patterns.example.com/v2"}},
			spec:    exampleSpec,
			changed: []string{"summarizer", "reviewer"},
		},
		"Variable": {
			reason:  "A changed variable makes a new Job for that assistant only.",
			spec:    strings.Replace(exampleSpec, `"engineers"`, `"managers"`, 1),
			changed: []string{"summarizer"},
		},
		"Parameter": {
			reason:  "A changed parameter makes a new Job for that assistant only.",
			spec:    strings.Replace(exampleSpec, `"0.2"`, `"0.3"`, 1),
			changed: []string{"summarizer"},
		},
		"PatternOrder": {
			reason:  "Patterns are joined in order: another order is another prompt.",
			spec:    strings.Replace(exampleSpec, `["extract_wisdom", "summarize"]`, `["summarize", "extract_wisdom"]`, 1),
			changed: []string{"summarizer"},
		},
		"From": {
			reason:  "Another base model is another assistant.",
			spec:    strings.Replace(exampleSpec, `"from": "qwen2.5-coder:1.5b"`, `"from": "llama3.2:1b"`, 1),
			changed: []string{"reviewer"},
		},
		"OtherFields": {
			reason: "Size, owner, storage and scale to zero do not touch the Jobs.",
			spec: strings.NewReplacer(`"small"`, `"large"`, `ada@`, `bob@`, `"30m"`, `"1h"`, `"20Gi"`, `"40Gi"`).
				Replace(exampleSpec),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := jobNames(testWorkspace(t, tc.in, tc.spec))
			for model, n := range base {
				changed := got[model] != n
				want := false
				for _, c := range tc.changed {
					want = want || c == model
				}
				if changed != want {
					t.Errorf("%s\nJob of %s: want changed %t, got %q -> %q", tc.reason, model, want, n, got[model])
				}
			}
		})
	}
}

func TestJobs(t *testing.T) {
	w := testWorkspace(t, nil, exampleSpec)
	want := []modelJob{
		{name: jobPullLlama, model: "llama3.2:1b", kind: v1alpha1.ModelKindBase, args: []string{"pull", "llama3.2:1b"}},
		{name: jobPullQwen, model: "qwen2.5-coder:1.5b", kind: v1alpha1.ModelKindBase, args: []string{"pull", "qwen2.5-coder:1.5b"}},
		{
			name: jobSummarizer, model: "summarizer", kind: v1alpha1.ModelKindAssistant, from: "llama3.2:1b",
			args: []string{
				"create", "summarizer", "--from", "llama3.2:1b",
				"--pattern", "extract_wisdom", "--pattern", "summarize",
				"--var", "audience=engineers",
				"--param", "num_ctx=8192", "--param", "temperature=0.2",
			},
		},
		{
			name: jobReviewer, model: "reviewer", kind: v1alpha1.ModelKindAssistant, from: "qwen2.5-coder:1.5b",
			args: []string{"create", "reviewer", "--from", "qwen2.5-coder:1.5b", "--pattern", "review_code"},
		},
	}
	if diff := cmp.Diff(want, w.jobs(), cmp.AllowUnexported(modelJob{})); diff != "" {
		t.Errorf("jobs(): -want, +got:\n%s", diff)
	}

	// Keys are sorted whatever the order in the claim.
	sorted := testWorkspace(t, nil, `{"models": ["m"], "assistants": [{"name": "a", "from": "m", "patterns": ["p"],
		"variables": {"z": "1", "a": "2", "M": "3"}, "parameters": {"top_k": "1", "stop": "x", "seed": "4"}}]}`)
	wantArgs := []string{"create", "a", "--from", "m", "--pattern", "p",
		"--var", "M=3", "--var", "a=2", "--var", "z=1",
		"--param", "seed=4", "--param", "stop=x", "--param", "top_k=1"}
	if diff := cmp.Diff(wantArgs, sorted.jobs()[1].args); diff != "" {
		t.Errorf("jobs(): args of an assistant with several variables and parameters: -want, +got:\n%s", diff)
	}
}

func TestJob(t *testing.T) {
	w := testWorkspace(t, nil, exampleSpec)
	jobs := w.jobs()
	labels := w.labels(componentModelJob)
	labels[labelModelJob] = jobPullLlama
	podLabels := w.labels(componentModelJob)
	podLabels[labelModelJob] = jobPullLlama
	podLabels[labelWakesOllama] = "true"

	want := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: jobPullLlama, Namespace: testNamespace, Labels: labels,
			Annotations: map[string]string{"aichatworkspaces.io/owner": "ada@example.com", "aichatworkspaces.io/model": "llama3.2:1b"},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr(int32(3)),
			ActiveDeadlineSeconds: ptr(int64(7200)),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("model-job"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{2},
				},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:           "model-job",
					AutomountServiceAccountToken: ptr(false),
					EnableServiceLinks:           ptr(false),
					RestartPolicy:                corev1.RestartPolicyNever,
					SecurityContext:              podSecurity(),
					Containers: []corev1.Container{{
						Name:            "model-job",
						Image:           DefaultModelJobImage,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         []string{"/model-job"},
						Args:            []string{"pull", "llama3.2:1b"},
						Env: []corev1.EnvVar{
							{Name: "OLLAMA_HOST", Value: "http://ollama." + testNamespace + ".svc:11434"},
							{Name: "PATTERN_SOURCE", Value: DefaultPatternSource},
						},
						Resources:                w.size.modelJob,
						SecurityContext:          containerSecurity(true),
						TerminationMessagePath:   "/dev/termination-log",
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
				},
			},
		},
	}
	got := w.job(jobs[0])
	if diff := cmp.Diff(want, got, quantities); diff != "" {
		t.Errorf("job(pull): -want, +got:\n%s", diff)
	}
	if got.Spec.TTLSecondsAfterFinished != nil {
		t.Error("job(pull): a finished Job must stay; ttlSecondsAfterFinished is set")
	}

	assistant := w.job(jobs[2])
	if diff := cmp.Diff(jobs[2].args, assistant.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("job(create): args: -want, +got:\n%s", diff)
	}
	if assistant.Spec.Template.Spec.Volumes != nil || assistant.Spec.Template.Spec.Containers[0].VolumeMounts != nil {
		t.Error("job(create): a pattern volume without one in the input")
	}
	if got := assistant.Spec.Template.Labels[labelModelJob]; got != jobSummarizer {
		t.Errorf("job(create): pod label %s: want %q, got %q", labelModelJob, jobSummarizer, got)
	}
}

func TestJobPatternVolume(t *testing.T) {
	vol := &corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/fabric-patterns:1"}}
	in := &v1beta1.Input{Patterns: v1beta1.Patterns{Source: "/opt/patterns", Volume: vol}}
	w := testWorkspace(t, in, exampleSpec)
	jobs := w.jobs()

	cases := map[string]struct {
		reason     string
		job        modelJob
		wantVols   []corev1.Volume
		wantMounts []corev1.VolumeMount
	}{
		"Pull": {
			reason: "A pull needs no patterns.",
			job:    jobs[0],
		},
		"Create": {
			reason: "An assistant Job mounts the pattern volume read-only at the pattern source.",
			job:    jobs[3],
			wantVols: []corev1.Volume{{Name: "patterns", VolumeSource: corev1.VolumeSource{
				Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/fabric-patterns:1"},
			}}},
			wantMounts: []corev1.VolumeMount{{Name: "patterns", MountPath: "/opt/patterns", ReadOnly: true}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := w.job(tc.job).Spec.Template.Spec
			if diff := cmp.Diff(tc.wantVols, spec.Volumes); diff != "" {
				t.Errorf("%s\nvolumes: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantMounts, spec.Containers[0].VolumeMounts); diff != "" {
				t.Errorf("%s\nmounts: -want, +got:\n%s", tc.reason, diff)
			}
			if got := spec.Containers[0].Env[1]; got.Name != "PATTERN_SOURCE" || got.Value != "/opt/patterns" {
				t.Errorf("%s\nPATTERN_SOURCE: got %v", tc.reason, got)
			}
		})
	}
	// The Job gets a copy: changing it must not change the input.
	w.job(jobs[3]).Spec.Template.Spec.Volumes[0].Image.Reference = "changed"
	if vol.Image.Reference != "registry.example.com/fabric-patterns:1" {
		t.Error("job(): the pattern volume is shared with the input")
	}
}

func TestJobInputBounds(t *testing.T) {
	in := &v1beta1.Input{
		ModelJobs: v1beta1.ModelJobs{BackoffLimit: ptr(int32(0)), ActiveDeadline: &metav1.Duration{Duration: 90 * 60e9}},
		Images:    v1beta1.Images{PullPolicy: corev1.PullAlways, ModelJob: "registry.example.com/model-job:v2"},
	}
	w := testWorkspace(t, in, oneModelSpec)
	j := w.job(w.jobs()[0])
	got := []any{*j.Spec.BackoffLimit, *j.Spec.ActiveDeadlineSeconds, j.Spec.Template.Spec.Containers[0].ImagePullPolicy, j.Spec.Template.Spec.Containers[0].Image}
	want := []any{int32(0), int64(5400), corev1.PullAlways, "registry.example.com/model-job:v2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job(): -want, +got:\n%s", diff)
	}
}
