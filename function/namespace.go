package function

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The workspace Namespace enforces the restricted Pod Security Standard: the
// workspace's own pods already meet it, and nothing else may run there.
func (w *workspace) namespaceObject() *corev1.Namespace {
	l := w.labels("workspace")
	l["pod-security.kubernetes.io/enforce"] = "restricted"
	l["pod-security.kubernetes.io/enforce-version"] = "latest"
	l["pod-security.kubernetes.io/warn"] = "restricted"
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: w.namespace, Labels: l, Annotations: w.annotations()},
	}
}

func (w *workspace) annotations() map[string]string {
	if w.spec.Owner == "" {
		return nil
	}
	// Labels cannot hold an e-mail address; the annotation keeps it as is.
	return map[string]string{annotationOwner: w.spec.Owner}
}

func (w *workspace) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: w.namespace, Labels: w.labels(component), Annotations: w.annotations()}
}

// resourceQuota is what the workspace runs at its peak: Ollama, Open WebUI,
// Pipelines if enabled and every model Job at once. The workloads use the
// Recreate strategy (their volumes are ReadWriteOnce), so there is no surge
// to add. A quota below that would block the workspace's own rollout; the
// quota is there to bound the namespace, not to be hit.
func (w *workspace) resourceQuota(jobs int) *corev1.ResourceQuota {
	containers := []corev1.ResourceRequirements{w.size.ollama, w.size.webUI}
	pods := 2 + jobs
	if w.spec.Pipelines.Enabled {
		containers = append(containers, w.size.pipelines)
		pods++
	}
	for range jobs {
		containers = append(containers, w.size.modelJob)
	}
	hard := corev1.ResourceList{}
	for _, c := range containers {
		for _, r := range []struct {
			from corev1.ResourceList
			name corev1.ResourceName
			to   corev1.ResourceName
		}{
			{c.Requests, corev1.ResourceCPU, corev1.ResourceRequestsCPU},
			{c.Requests, corev1.ResourceMemory, corev1.ResourceRequestsMemory},
			{c.Limits, corev1.ResourceCPU, corev1.ResourceLimitsCPU},
			{c.Limits, corev1.ResourceMemory, corev1.ResourceLimitsMemory},
		} {
			q := hard[r.to]
			q.Add(r.from[r.name])
			hard[r.to] = q
		}
	}
	storage := resource.MustParse(w.spec.Storage.Models)
	storage.Add(resource.MustParse(w.spec.Storage.Data))
	hard[corev1.ResourceRequestsStorage] = storage
	hard[corev1.ResourcePersistentVolumeClaims] = *resource.NewQuantity(2, resource.DecimalSI)
	hard[corev1.ResourcePods] = *resource.NewQuantity(int64(pods), resource.DecimalSI)
	// Nothing in a workspace is exposed but through the Ingress.
	hard[corev1.ResourceServicesLoadBalancers] = *resource.NewQuantity(0, resource.DecimalSI)
	hard[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(0, resource.DecimalSI)
	for k, q := range hard {
		hard[k] = canonical(q)
	}
	return &corev1.ResourceQuota{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
		ObjectMeta: w.meta("workspace", "workspace"),
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}
}

// limitRange gives a container without resources the model Job's, and caps
// any container at the largest the workspace runs.
func (w *workspace) limitRange() *corev1.LimitRange {
	maxCPU, maxMem := resource.Quantity{}, resource.Quantity{}
	for _, c := range []corev1.ResourceRequirements{w.size.ollama, w.size.webUI, w.size.pipelines, w.size.modelJob} {
		if q := c.Limits[corev1.ResourceCPU]; q.Cmp(maxCPU) > 0 {
			maxCPU = q
		}
		if q := c.Limits[corev1.ResourceMemory]; q.Cmp(maxMem) > 0 {
			maxMem = q
		}
	}
	maxPVC := resource.MustParse(w.spec.Storage.Models)
	if d := resource.MustParse(w.spec.Storage.Data); d.Cmp(maxPVC) > 0 {
		maxPVC = d
	}
	return &corev1.LimitRange{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
		ObjectMeta: w.meta("workspace", "workspace"),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
			{
				Type:           corev1.LimitTypeContainer,
				Default:        w.size.modelJob.Limits.DeepCopy(),
				DefaultRequest: w.size.modelJob.Requests.DeepCopy(),
				Max:            corev1.ResourceList{corev1.ResourceCPU: canonical(maxCPU), corev1.ResourceMemory: canonical(maxMem)},
			},
			{
				Type: corev1.LimitTypePersistentVolumeClaim,
				Max:  corev1.ResourceList{corev1.ResourceStorage: canonical(maxPVC)},
			},
		}},
	}
}

// canonical re-parses a quantity so it serialises the way the API server
// will print it back (e.g. 1536Mi, not 1.5Gi), which keeps server-side
// apply from seeing a change on every reconcile.
func canonical(q resource.Quantity) resource.Quantity {
	return resource.MustParse(q.String())
}
