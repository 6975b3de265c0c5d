package function

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// Defaults of the platform input. The Composition in compositions/ spells
// them out; they are repeated here so that a minimal input works too.
const (
	DefaultDomain          = "aichat.example.com"
	DefaultNamespacePrefix = "aichat-"
	DefaultOllamaImage     = "docker.io/ollama/ollama:0.32.9"
	DefaultOpenWebUIImage  = "ghcr.io/open-webui/open-webui:v0.11.4"
	// Pipelines publishes no releases; this tag is a pinned build.
	DefaultPipelinesImage = "ghcr.io/open-webui/pipelines:git-c98ca76"
	DefaultModelJobImage  = "ghcr.io/aichatworkspaces/function-aichat-workspace:v0.1.0"
	// DefaultPatternSource is Fabric's data/patterns at a pinned commit, so
	// that an assistant's prompt does not change under a tenant's feet.
	DefaultPatternSource = "https://raw.githubusercontent.com/danielmiessler/Fabric/90b6af298f8e3dd6459f7792303c92925293d9b2/data/patterns"
	DefaultModel         = "llama3.2:1b"
)

// platform is the validated input with every default filled in.
type platform struct {
	domain          string
	namespacePrefix string
	scheme          string
	routingMode     v1beta1.RoutingMode
	ingress         v1beta1.IngressRouting
	gateway         v1beta1.GatewayRouting
	apiGatewayURL   string
	images          v1beta1.Images
	sizes           map[v1alpha1.Size]*sizeProfile
	defaultModels   []string
	kedaEnabled     bool
	interceptor     v1beta1.Interceptor
	externalScaler  string
	conditionWait   time.Duration
	responseHeader  time.Duration
	ingressPeer     v1beta1.Peer
	gatewayPeer     v1beta1.Peer
	dnsPeer         v1beta1.Peer
	pullCIDRs       []string
	patternSource   string
	patternVolume   *corev1.VolumeSource
	jobBackoffLimit int32
	jobDeadline     time.Duration
	ttlConverging   time.Duration
	ttlReady        time.Duration
}

// sizeProfile holds the resources of every container of one size.
type sizeProfile struct {
	ollama, webUI, pipelines, modelJob corev1.ResourceRequirements
}

func rr(reqCPU, reqMem, limCPU, limMem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(reqCPU),
			corev1.ResourceMemory: resource.MustParse(reqMem),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(limCPU),
			corev1.ResourceMemory: resource.MustParse(limMem),
		},
	}
}

// defaultSizes returns a fresh copy of the default size table. Ollama's
// memory limit is what decides which models fit: about 3 GiB runs a 1-3B
// model, 16 GiB an 8B model, 40 GiB a 32B model (quantised, CPU).
func defaultSizes() map[v1alpha1.Size]*sizeProfile {
	job := rr("10m", "32Mi", "500m", "128Mi")
	return map[v1alpha1.Size]*sizeProfile{
		v1alpha1.SizeXSmall: {
			ollama: rr("250m", "1Gi", "2", "3Gi"), webUI: rr("100m", "512Mi", "1", "1Gi"),
			pipelines: rr("50m", "128Mi", "500m", "512Mi"), modelJob: job,
		},
		v1alpha1.SizeSmall: {
			ollama: rr("500m", "2Gi", "4", "6Gi"), webUI: rr("200m", "768Mi", "1", "1536Mi"),
			pipelines: rr("100m", "256Mi", "1", "1Gi"), modelJob: job,
		},
		v1alpha1.SizeMedium: {
			ollama: rr("1", "6Gi", "8", "16Gi"), webUI: rr("250m", "1Gi", "2", "2Gi"),
			pipelines: rr("100m", "256Mi", "1", "1Gi"), modelJob: job,
		},
		v1alpha1.SizeLarge: {
			ollama: rr("2", "16Gi", "16", "40Gi"), webUI: rr("500m", "1Gi", "2", "3Gi"),
			pipelines: rr("200m", "512Mi", "2", "2Gi"), modelJob: job,
		},
	}
}

// maxDomain leaves room for a 63-character workspace ID and a dot in a
// 253-character host name.
const maxDomain = 253 - maxLabel - 1

var domainRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// newPlatform validates the input and fills in defaults. Errors name the
// input field, because a platform engineer has to find it in a Composition.
func newPlatform(in *v1beta1.Input) (*platform, error) {
	p := &platform{
		domain:          or(in.Domain, DefaultDomain),
		namespacePrefix: DefaultNamespacePrefix,
		scheme:          or(in.Routing.Scheme, "https"),
		routingMode:     v1beta1.RoutingMode(or(string(in.Routing.Mode), string(v1beta1.RoutingIngress))),
		ingress:         in.Routing.Ingress,
		gateway:         in.Routing.Gateway,
		apiGatewayURL:   strings.TrimRight(in.API.GatewayURL, "/"),
		images: v1beta1.Images{
			Ollama:     or(in.Images.Ollama, DefaultOllamaImage),
			OpenWebUI:  or(in.Images.OpenWebUI, DefaultOpenWebUIImage),
			Pipelines:  or(in.Images.Pipelines, DefaultPipelinesImage),
			ModelJob:   or(in.Images.ModelJob, DefaultModelJobImage),
			PullPolicy: corev1.PullPolicy(or(string(in.Images.PullPolicy), string(corev1.PullIfNotPresent))),
		},
		sizes:         defaultSizes(),
		defaultModels: in.DefaultModels,
		kedaEnabled:   in.KEDA.Enabled == nil || *in.KEDA.Enabled,
		interceptor: v1beta1.Interceptor{
			Namespace: or(in.KEDA.Interceptor.Namespace, "keda"),
			Service:   or(in.KEDA.Interceptor.Service, "keda-add-ons-http-interceptor-proxy"),
			Port:      in.KEDA.Interceptor.Port,
			PodLabels: in.KEDA.Interceptor.PodLabels,
		},
		conditionWait:  duration(in.KEDA.ConditionWait, 5*time.Minute),
		responseHeader: duration(in.KEDA.ResponseHeader, 5*time.Minute),
		ingressPeer:    peer(in.Network.IngressController, "ingress-nginx", map[string]string{labelName: "ingress-nginx"}),
		gatewayPeer:    peer(in.Network.LLMGateway, "aichat-system", map[string]string{labelName: "aichat-portal"}),
		dnsPeer:        peer(in.Network.DNS, "kube-system", map[string]string{"k8s-app": "kube-dns"}),
		pullCIDRs:      in.Network.PullCIDRs,
		patternSource:  or(in.Patterns.Source, DefaultPatternSource),
		patternVolume:  in.Patterns.Volume,
		jobDeadline:    duration(in.ModelJobs.ActiveDeadline, 2*time.Hour),
		ttlConverging:  duration(in.Reconcile.Converging, 15*time.Second),
		ttlReady:       duration(in.Reconcile.Ready, 10*time.Minute),
	}
	if in.NamespacePrefix != nil {
		p.namespacePrefix = *in.NamespacePrefix
	}
	p.externalScaler = or(in.KEDA.ExternalScaler, "keda-add-ons-http-external-scaler."+p.interceptor.Namespace+":9090")
	if p.interceptor.Port == 0 {
		p.interceptor.Port = 8080
	}
	if len(p.interceptor.PodLabels) == 0 {
		p.interceptor.PodLabels = map[string]string{labelComponent: "interceptor"}
	}
	if len(p.defaultModels) == 0 {
		p.defaultModels = []string{DefaultModel}
	}
	if len(p.pullCIDRs) == 0 {
		p.pullCIDRs = []string{"0.0.0.0/0", "::/0"}
	}
	p.jobBackoffLimit = 3
	if in.ModelJobs.BackoffLimit != nil {
		p.jobBackoffLimit = *in.ModelJobs.BackoffLimit
	}
	if err := p.mergeSizes(in.Sizes); err != nil {
		return nil, err
	}
	return p, p.validate()
}

func (p *platform) mergeSizes(s v1beta1.Sizes) error {
	// Slices, not maps, so that the first error is always the same one.
	for _, sz := range []struct {
		size v1alpha1.Size
		in   *v1beta1.SizeProfile
	}{
		{v1alpha1.SizeXSmall, s.XSmall}, {v1alpha1.SizeSmall, s.Small},
		{v1alpha1.SizeMedium, s.Medium}, {v1alpha1.SizeLarge, s.Large},
	} {
		size, in := sz.size, sz.in
		if in == nil {
			continue
		}
		d := p.sizes[size]
		for _, c := range []struct {
			name string
			in   corev1.ResourceRequirements
			out  *corev1.ResourceRequirements
		}{
			{"ollama", in.Ollama, &d.ollama},
			{"openWebUI", in.OpenWebUI, &d.webUI},
			{"pipelines", in.Pipelines, &d.pipelines},
			{"modelJob", in.ModelJob, &d.modelJob},
		} {
			if len(c.in.Requests) == 0 && len(c.in.Limits) == 0 {
				continue
			}
			if err := checkResources(c.in); err != nil {
				return fmt.Errorf("input.sizes.%s.%s: %w", size, c.name, err)
			}
			*c.out = c.in
		}
	}
	return nil
}

// checkResources insists on CPU and memory requests and limits, with
// requests at most the limits: the ResourceQuota and the LimitRange are
// computed from them.
func checkResources(r corev1.ResourceRequirements) error {
	for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[n]
		lim, okLim := r.Limits[n]
		if !okReq || !okLim {
			return fmt.Errorf("requests.%s and limits.%s are both required", n, n)
		}
		if req.Cmp(lim) > 0 {
			return fmt.Errorf("requests.%s %s exceeds limits.%s %s", n, req.String(), n, lim.String())
		}
		if req.Sign() <= 0 {
			return fmt.Errorf("requests.%s must be positive", n)
		}
	}
	return nil
}

func (p *platform) validate() error {
	if !domainRE.MatchString(p.domain) {
		return fmt.Errorf("input.domain %q is not a lower-case DNS name", p.domain)
	}
	// A host is <workspace id>.<domain>, and the ID may take a whole label.
	if len(p.domain) > maxDomain {
		return fmt.Errorf("input.domain %q is longer than %d characters: workspace hosts would exceed 253", p.domain, maxDomain)
	}
	for _, l := range strings.Split(p.domain, ".") {
		if len(l) > maxLabel {
			return fmt.Errorf("input.domain %q has a label longer than %d characters", p.domain, maxLabel)
		}
	}
	if p.namespacePrefix != "" && (len(p.namespacePrefix) > 16 || !strings.HasSuffix(p.namespacePrefix, "-") ||
		len(validation.IsDNS1123Label(strings.TrimSuffix(p.namespacePrefix, "-"))) > 0) {
		return fmt.Errorf("input.namespacePrefix %q must be a DNS label of at most 15 characters followed by '-'", p.namespacePrefix)
	}
	if p.scheme != "http" && p.scheme != "https" {
		return fmt.Errorf("input.routing.scheme %q must be http or https", p.scheme)
	}
	switch p.routingMode {
	case v1beta1.RoutingIngress:
	case v1beta1.RoutingGatewayAPI:
		if p.gateway.Name == "" || p.gateway.Namespace == "" {
			return fmt.Errorf("input.routing.gateway.name and .namespace are required when input.routing.mode is GatewayAPI")
		}
	default:
		return fmt.Errorf("input.routing.mode %q must be Ingress or GatewayAPI", p.routingMode)
	}
	if p.apiGatewayURL != "" {
		if u, err := url.Parse(p.apiGatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("input.api.gatewayURL %q must be an absolute http(s) URL", p.apiGatewayURL)
		}
	}
	for _, img := range []struct{ name, ref string }{
		{"ollama", p.images.Ollama}, {"openWebUI", p.images.OpenWebUI},
		{"pipelines", p.images.Pipelines}, {"modelJob", p.images.ModelJob},
	} {
		if strings.ContainsAny(img.ref, " \t\n") {
			return fmt.Errorf("input.images.%s %q is not an image reference", img.name, img.ref)
		}
	}
	switch p.images.PullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("input.images.pullPolicy %q must be Always, IfNotPresent or Never", p.images.PullPolicy)
	}
	for i, m := range p.defaultModels {
		if err := validateModelName(m); err != nil {
			return fmt.Errorf("input.defaultModels[%d]: %w", i, err)
		}
	}
	if p.interceptor.Port < 1 || p.interceptor.Port > 65535 {
		return fmt.Errorf("input.keda.interceptor.port %d is not a port", p.interceptor.Port)
	}
	if host, port, ok := strings.Cut(p.externalScaler, ":"); !ok || host == "" || len(validation.IsValidPortNum(atoi(port))) > 0 {
		return fmt.Errorf("input.keda.externalScaler %q must be host:port", p.externalScaler)
	}
	if errs := validation.IsDNS1123Label(p.interceptor.Service); len(errs) > 0 {
		return fmt.Errorf("input.keda.interceptor.service %q: %s", p.interceptor.Service, errs[0])
	}
	for _, np := range []struct {
		field string
		peer  v1beta1.Peer
	}{
		{"input.keda.interceptor", v1beta1.Peer{Namespace: p.interceptor.Namespace, PodLabels: p.interceptor.PodLabels}},
		{"input.network.ingressController", p.ingressPeer},
		{"input.network.llmGateway", p.gatewayPeer},
		{"input.network.dns", p.dnsPeer},
	} {
		field, peer := np.field, np.peer
		if errs := validation.IsDNS1123Label(peer.Namespace); len(errs) > 0 {
			return fmt.Errorf("%s.namespace %q: %s", field, peer.Namespace, errs[0])
		}
		if errs := metav1validation.ValidateLabels(peer.PodLabels, k8sfield.NewPath(field, "podLabels")); len(errs) > 0 {
			return errs.ToAggregate()
		}
	}
	for i, c := range p.pullCIDRs {
		if !cidrRE.MatchString(c) {
			return fmt.Errorf("input.network.pullCIDRs[%d] %q is not a CIDR", i, c)
		}
	}
	if err := validatePatternSource(p.patternSource, p.patternVolume != nil); err != nil {
		return err
	}
	if err := restrictedVolume(p.patternVolume); err != nil {
		return fmt.Errorf("input.patterns.volume: %w", err)
	}
	for _, d := range []struct {
		field  string
		d, min time.Duration
	}{
		{"input.keda.conditionWait", p.conditionWait, time.Second},
		{"input.keda.responseHeader", p.responseHeader, time.Second},
		// Jobs count their deadline in whole seconds, and no pull is
		// done in less than a minute.
		{"input.modelJobs.activeDeadline", p.jobDeadline, time.Minute},
		{"input.reconcile.converging", p.ttlConverging, time.Second},
		{"input.reconcile.ready", p.ttlReady, time.Second},
	} {
		if d.d < d.min {
			return fmt.Errorf("%s must be at least %s, not %s", d.field, d.min, d.d)
		}
	}
	if p.jobBackoffLimit < 0 || p.jobBackoffLimit > 20 {
		return fmt.Errorf("input.modelJobs.backoffLimit %d must be between 0 and 20", p.jobBackoffLimit)
	}
	return nil
}

var cidrRE = regexp.MustCompile(`^([0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]+/[0-9]{1,3})$`)

func validatePatternSource(src string, mounted bool) error {
	if strings.HasPrefix(src, "/") {
		if path.Clean(src) != src {
			return fmt.Errorf("input.patterns.source %q must be a clean absolute path", src)
		}
		return nil
	}
	if mounted {
		return fmt.Errorf("input.patterns.source %q must be an absolute directory when input.patterns.volume is set", src)
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("input.patterns.source %q must be an http(s) URL or an absolute directory", src)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func duration(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

func peer(in v1beta1.Peer, ns string, labels map[string]string) v1beta1.Peer {
	if in.Namespace == "" && len(in.PodLabels) == 0 {
		return v1beta1.Peer{Namespace: ns, PodLabels: labels}
	}
	return v1beta1.Peer{Namespace: or(in.Namespace, ns), PodLabels: in.PodLabels}
}

// atoi is strconv.Atoi that maps a bad number to 0, an invalid port.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// restrictedVolume accepts the volume types the restricted Pod Security
// Standard allows: the workspace namespace enforces it, so a model Job with
// another type (a hostPath, say) would never get a pod.
func restrictedVolume(v *corev1.VolumeSource) error {
	if v == nil {
		return nil
	}
	switch {
	case v.ConfigMap != nil, v.CSI != nil, v.DownwardAPI != nil, v.EmptyDir != nil, v.Ephemeral != nil,
		v.PersistentVolumeClaim != nil, v.Projected != nil, v.Secret != nil, v.Image != nil:
		return nil
	}
	return fmt.Errorf("only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes run under the restricted Pod Security Standard the workspace enforces")
}
