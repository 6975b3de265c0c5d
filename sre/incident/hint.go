package incident

// hints are what a platform engineer would answer first for each reason. They
// are shown even when no LLM is configured or it is rate-limited.
var hints = map[string]string{
	ImagePullFailed: "An image cannot be pulled. Check the image name and tag in the Composition's input, " +
		"that the registry is reachable from the nodes and that its pull secret is valid; the pod starts by itself once the pull works.",
	CrashLoopBackOff: "A container keeps exiting. Read its previous log (kubectl logs --previous) and last termination reason; " +
		"OOMKilled means the workspace size is too small for the models: choose a larger size.",
	ContainerConfigError: "A container cannot be created from its configuration: a referenced Secret, ConfigMap or key is missing. " +
		"A platform engineer should check the workspace's composed objects.",
	QuotaExceeded: "The workspace's ResourceQuota refuses a new pod: what runs now plus the new pod exceeds the quota of its size. " +
		"Wait for running model Jobs to finish, remove models, or choose a larger size.",
	VolumeNotBound: "A PersistentVolumeClaim is not bound: no StorageClass or provisioner can satisfy its size, class or access mode. " +
		"A platform engineer should check the cluster's storage.",
	Unschedulable: "No node can run a pod (resources, taints or node selectors). A platform engineer should add capacity or check the node pool.",
	ModelJobFailed: "A model Job failed; its message says why: a model name the registry does not have, a fabric pattern that cannot be " +
		"fetched, or Ollama unreachable. Fix the claim's models or assistants: a changed claim runs a new Job.",
	JobFailed: "A Job failed; its message and its pod's termination message say why.",
}

// Hint is the rule-based advice for an incident reason.
func Hint(reason string) string { return hints[reason] }
