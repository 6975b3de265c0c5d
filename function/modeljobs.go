package function

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// Model Jobs run /model-job from the function's own image (one image for the
// platform to mirror). The argument contract:
//
//	/model-job pull MODEL
//	/model-job create NAME --from BASE --pattern P... [--var k=v...] [--param k=v...]
//
// with OLLAMA_HOST and PATTERN_SOURCE in the environment. The program writes
// a v1alpha1.ModelJobSummary to /dev/termination-log, which the function
// reads back from the Job's pod.

const (
	modelJobSA      = "model-job"
	modelJobCommand = "/model-job"
	// exitInvalid is the model program's exit code for a failure that no
	// retry can fix (an unknown pattern, a missing variable): the Job fails
	// at once instead of backing off.
	exitInvalid = 2
	patternsDir = "/patterns"
)

// A modelJob is one Job of the workspace: a pull of a base model or the
// creation of an assistant.
type modelJob struct {
	name  string // also the Job's name
	model string
	kind  v1alpha1.ModelKind
	args  []string
	// from is the base model an assistant needs pulled first.
	from string
}

// jobs lists the workspace's model Jobs in spec order: base models first.
func (w *workspace) jobs() []modelJob {
	jobs := make([]modelJob, 0, len(w.models)+len(w.spec.Assistants))
	for _, m := range w.models {
		args := []string{"pull", m}
		jobs = append(jobs, modelJob{name: jobName("pull", m, args), model: m, kind: v1alpha1.ModelKindBase, args: args})
	}
	for _, a := range w.spec.Assistants {
		args := []string{"create", a.Name, "--from", string(a.From)}
		for _, p := range a.Patterns {
			args = append(args, "--pattern", string(p))
		}
		for _, k := range sortedKeys(a.Variables) {
			args = append(args, "--var", k+"="+a.Variables[k])
		}
		for _, k := range sortedKeys(a.Parameters) {
			args = append(args, "--param", k+"="+a.Parameters[k])
		}
		// The pattern source decides the prompt as much as the
		// arguments do: a new source makes a new Job.
		hashed := append(args[:len(args):len(args)], "source="+w.p.patternSource)
		jobs = append(jobs, modelJob{
			name: jobName("create", a.Name, hashed), model: a.Name, kind: v1alpha1.ModelKindAssistant,
			args: args, from: string(a.From),
		})
	}
	return jobs
}

// jobName is <verb>-<model>-<hash of what the Job does>. A Job's pod
// template is immutable; naming the Job by what it does makes a change a
// new Job (and the old one is dropped) instead of a failed update, and an
// unchanged claim never runs a Job twice. The image is left out on purpose:
// a platform upgrade must not pull every model again.
func jobName(verb, model string, what []string) string {
	sum := sha256.Sum256([]byte(strings.Join(what, "\x00")))
	hash := hex.EncodeToString(sum[:])[:10]
	readable := dnsLabel(model)
	// A Job name becomes a pod label value: 63 characters at most.
	if room := maxLabel - len(verb) - len(hash) - 2; len(readable) > room {
		readable = strings.TrimRight(readable[:room], "-")
	}
	return verb + "-" + readable + "-" + hash
}

func (w *workspace) job(j modelJob) *batchv1.Job {
	labels := w.labels(componentModelJob)
	labels[labelWakesOllama] = "true"
	labels[labelModelJob] = j.name
	meta := w.meta(j.name, componentModelJob)
	meta.Labels[labelModelJob] = j.name
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[annotationModel] = j.model

	c := corev1.Container{
		Name:            "model-job",
		Image:           w.p.images.ModelJob,
		ImagePullPolicy: w.p.images.PullPolicy,
		Command:         []string{modelJobCommand},
		Args:            j.args,
		Env: []corev1.EnvVar{
			{Name: "OLLAMA_HOST", Value: w.ollamaURL()},
			{Name: "PATTERN_SOURCE", Value: w.p.patternSource},
		},
		Resources:       w.size.modelJob,
		SecurityContext: containerSecurity(true),
		// The program writes its summary there; the function reads it.
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	spec := restrictedPod(modelJobSA, nil, c)
	spec.RestartPolicy = corev1.RestartPolicyNever
	if j.kind == v1alpha1.ModelKindAssistant && w.p.patternVolume != nil {
		spec.Volumes = []corev1.Volume{{Name: "patterns", VolumeSource: *w.p.patternVolume.DeepCopy()}}
		spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "patterns", MountPath: w.p.patternSource, ReadOnly: true}}
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr(w.p.jobBackoffLimit),
			ActiveDeadlineSeconds: ptr(int64(w.p.jobDeadline.Seconds())),
			// No ttlSecondsAfterFinished: a finished Job must stay, or
			// Crossplane would create it again and it would run again.
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("model-job"),
					Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
					Values:        []int32{exitInvalid},
				},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       spec,
			},
		},
	}
}
