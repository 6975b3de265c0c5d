package function

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// quantities compare by value: 1Gi and 1024Mi are the same.
var quantities = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

var cmpPlatform = []cmp.Option{cmp.AllowUnexported(platform{}, sizeProfile{}), quantities}

func TestNewPlatformDefaults(t *testing.T) {
	want := &platform{
		domain:          DefaultDomain,
		namespacePrefix: DefaultNamespacePrefix,
		scheme:          "https",
		routingMode:     v1beta1.RoutingIngress,
		images: v1beta1.Images{
			Ollama: DefaultOllamaImage, OpenWebUI: DefaultOpenWebUIImage, Pipelines: DefaultPipelinesImage,
			ModelJob: DefaultModelJobImage, PullPolicy: corev1.PullIfNotPresent,
		},
		sizes:         defaultSizes(),
		defaultModels: []string{DefaultModel},
		kedaEnabled:   true,
		interceptor: v1beta1.Interceptor{
			Namespace: "keda", Service: "keda-add-ons-http-interceptor-proxy", Port: 8080,
			PodLabels: map[string]string{"app.kubernetes.io/component": "interceptor"},
		},
		externalScaler:  "keda-add-ons-http-external-scaler.keda:9090",
		conditionWait:   5 * time.Minute,
		responseHeader:  5 * time.Minute,
		ingressPeer:     v1beta1.Peer{Namespace: "ingress-nginx", PodLabels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}},
		gatewayPeer:     v1beta1.Peer{Namespace: "aichat-system", PodLabels: map[string]string{"app.kubernetes.io/name": "aichat-portal"}},
		dnsPeer:         v1beta1.Peer{Namespace: "kube-system", PodLabels: map[string]string{"k8s-app": "kube-dns"}},
		pullCIDRs:       []string{"0.0.0.0/0", "::/0"},
		patternSource:   DefaultPatternSource,
		jobBackoffLimit: 3,
		jobDeadline:     2 * time.Hour,
		ttlConverging:   15 * time.Second,
		ttlReady:        10 * time.Minute,
	}
	got, err := newPlatform(&v1beta1.Input{})
	if err != nil {
		t.Fatalf("newPlatform(empty): %v", err)
	}
	if diff := cmp.Diff(want, got, cmpPlatform...); diff != "" {
		t.Errorf("newPlatform(empty): -want, +got:\n%s", diff)
	}
}

func TestNewPlatformOverrides(t *testing.T) {
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	cases := map[string]struct {
		reason string
		in     v1beta1.Input
		check  func(t *testing.T, p *platform)
	}{
		"EmptyPrefix": {
			reason: "An explicitly empty namespace prefix is allowed and kept.",
			in:     v1beta1.Input{NamespacePrefix: ptr("")},
			check: func(t *testing.T, p *platform) {
				if p.namespacePrefix != "" {
					t.Errorf("namespacePrefix: want empty, got %q", p.namespacePrefix)
				}
			},
		},
		"GatewayURLTrailingSlash": {
			reason: "The gateway URL loses its trailing slashes.",
			in:     v1beta1.Input{API: v1beta1.API{GatewayURL: "https://portal.example.com/llm//"}},
			check: func(t *testing.T, p *platform) {
				if p.apiGatewayURL != "https://portal.example.com/llm" {
					t.Errorf("apiGatewayURL: got %q", p.apiGatewayURL)
				}
			},
		},
		"KEDAOff": {
			reason: "keda.enabled false disables scale to zero.",
			in:     v1beta1.Input{KEDA: v1beta1.KEDA{Enabled: ptr(false)}},
			check: func(t *testing.T, p *platform) {
				if p.kedaEnabled {
					t.Error("kedaEnabled: want false")
				}
			},
		},
		"PeerNamespaceOnly": {
			reason: "A peer with only a namespace allows every pod of it, not the default pods.",
			in:     v1beta1.Input{Network: v1beta1.Network{IngressController: v1beta1.Peer{Namespace: "traefik"}}},
			check: func(t *testing.T, p *platform) {
				if diff := cmp.Diff(v1beta1.Peer{Namespace: "traefik"}, p.ingressPeer); diff != "" {
					t.Errorf("ingressPeer: -want, +got:\n%s", diff)
				}
			},
		},
		"PeerLabelsOnly": {
			reason: "A peer with only pod labels stays in the default namespace.",
			in:     v1beta1.Input{Network: v1beta1.Network{DNS: v1beta1.Peer{PodLabels: map[string]string{"k8s-app": "coredns"}}}},
			check: func(t *testing.T, p *platform) {
				if diff := cmp.Diff(v1beta1.Peer{Namespace: "kube-system", PodLabels: map[string]string{"k8s-app": "coredns"}}, p.dnsPeer); diff != "" {
					t.Errorf("dnsPeer: -want, +got:\n%s", diff)
				}
			},
		},
		"Timings": {
			reason: "Durations, backoff limit 0 and the TTLs come from the input.",
			in: v1beta1.Input{
				KEDA:      v1beta1.KEDA{ConditionWait: d(time.Minute), ResponseHeader: d(2 * time.Minute)},
				ModelJobs: v1beta1.ModelJobs{BackoffLimit: ptr(int32(0)), ActiveDeadline: d(time.Hour)},
				Reconcile: v1beta1.Reconcile{Converging: d(5 * time.Second), Ready: d(time.Hour)},
			},
			check: func(t *testing.T, p *platform) {
				got := []any{p.conditionWait, p.responseHeader, p.jobBackoffLimit, p.jobDeadline, p.ttlConverging, p.ttlReady}
				want := []any{time.Minute, 2 * time.Minute, int32(0), time.Hour, 5 * time.Second, time.Hour}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("-want, +got:\n%s", diff)
				}
			},
		},
		"PatternVolume": {
			reason: "A mounted pattern volume with an absolute directory as source is valid.",
			in: v1beta1.Input{Patterns: v1beta1.Patterns{Source: "/patterns", Volume: &corev1.VolumeSource{
				Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/fabric-patterns:1"},
			}}},
			check: func(t *testing.T, p *platform) {
				if p.patternSource != "/patterns" || p.patternVolume == nil {
					t.Errorf("patterns: got %q, %v", p.patternSource, p.patternVolume)
				}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := newPlatform(&tc.in)
			if err != nil {
				t.Fatalf("%s\nnewPlatform(...): %v", tc.reason, err)
			}
			tc.check(t, p)
		})
	}
}

func TestNewPlatformErrors(t *testing.T) {
	neg := &metav1.Duration{Duration: -time.Second}
	cases := map[string]struct {
		reason string
		in     v1beta1.Input
		want   string // the field the error must name
	}{
		"DomainUpper":       {"Domains are lower case.", v1beta1.Input{Domain: "AI.example.com"}, "input.domain"},
		"DomainUnderscore":  {"Domains hold no underscores.", v1beta1.Input{Domain: "ai_chat.example.com"}, "input.domain"},
		"DomainTooLong":     {"Domains leave room for a 63-character workspace ID in a 253-character host.", v1beta1.Input{Domain: strings.Repeat("a.", 94) + "com"}, "input.domain"},
		"DomainLongLabel":   {"Every label of a domain is at most 63 characters.", v1beta1.Input{Domain: strings.Repeat("a", 64) + ".example.com"}, "input.domain"},
		"DomainTrailingDot": {"A trailing dot is not a host name.", v1beta1.Input{Domain: "example.com."}, "input.domain"},
		"PrefixNoDash":      {"A namespace prefix ends with '-'.", v1beta1.Input{NamespacePrefix: ptr("aichat")}, "input.namespacePrefix"},
		"PrefixOnlyDash":    {"A lone dash is no prefix.", v1beta1.Input{NamespacePrefix: ptr("-")}, "input.namespacePrefix"},
		"PrefixTooLong":     {"A prefix is at most 16 characters.", v1beta1.Input{NamespacePrefix: ptr("abcdefghijklmnop-")}, "input.namespacePrefix"},
		"PrefixUpper":       {"A prefix is a DNS label.", v1beta1.Input{NamespacePrefix: ptr("AI-")}, "input.namespacePrefix"},
		"Scheme":            {"Only http and https.", v1beta1.Input{Routing: v1beta1.Routing{Scheme: "ftp"}}, "input.routing.scheme"},
		"Mode":              {"Only Ingress and GatewayAPI.", v1beta1.Input{Routing: v1beta1.Routing{Mode: "Route"}}, "input.routing.mode"},
		"GatewayNoNamespace": {"A gateway needs its namespace.",
			v1beta1.Input{Routing: v1beta1.Routing{Mode: v1beta1.RoutingGatewayAPI, Gateway: v1beta1.GatewayRouting{Name: "gw"}}}, "input.routing.gateway"},
		"GatewayURLRelative":    {"The gateway URL is absolute.", v1beta1.Input{API: v1beta1.API{GatewayURL: "portal.example.com/llm"}}, "input.api.gatewayURL"},
		"GatewayURLScheme":      {"The gateway URL is http(s).", v1beta1.Input{API: v1beta1.API{GatewayURL: "ftp://portal.example.com"}}, "input.api.gatewayURL"},
		"ImageSpace":            {"An image reference holds no spaces.", v1beta1.Input{Images: v1beta1.Images{Ollama: "ollama latest"}}, "input.images.ollama"},
		"ModelJobImage":         {"Every image is checked.", v1beta1.Input{Images: v1beta1.Images{ModelJob: "a\tb"}}, "input.images.modelJob"},
		"PullPolicy":            {"Only the three pull policies.", v1beta1.Input{Images: v1beta1.Images{PullPolicy: "Sometimes"}}, "input.images.pullPolicy"},
		"DefaultModel":          {"Default models are Ollama names.", v1beta1.Input{DefaultModels: []string{"llama3.2:1b", "bad name"}}, "input.defaultModels[1]"},
		"InterceptorPort":       {"A port is at most 65535.", v1beta1.Input{KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Port: 70000}}}, "input.keda.interceptor.port"},
		"InterceptorNegPort":    {"A port is positive.", v1beta1.Input{KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Port: -1}}}, "input.keda.interceptor.port"},
		"ExternalScalerNoPort":  {"The external scaler is host:port.", v1beta1.Input{KEDA: v1beta1.KEDA{ExternalScaler: "scaler.keda"}}, "input.keda.externalScaler"},
		"ExternalScalerBadPort": {"The external scaler's port is a port.", v1beta1.Input{KEDA: v1beta1.KEDA{ExternalScaler: "scaler.keda:99999"}}, "input.keda.externalScaler"},
		"InterceptorService":    {"The interceptor service is a DNS label.", v1beta1.Input{KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Service: "Bad_Svc"}}}, "input.keda.interceptor.service"},
		"InterceptorNS":         {"The interceptor namespace is a DNS label.", v1beta1.Input{KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Namespace: "KEDA"}}}, "input.keda.interceptor.namespace"},
		"PeerNamespace":         {"Peer namespaces are DNS labels.", v1beta1.Input{Network: v1beta1.Network{LLMGateway: v1beta1.Peer{Namespace: "a.b"}}}, "input.network.llmGateway.namespace"},
		"PeerLabels": {"Peer pod labels are valid labels.",
			v1beta1.Input{Network: v1beta1.Network{IngressController: v1beta1.Peer{Namespace: "x", PodLabels: map[string]string{"bad key!": "v"}}}}, "input.network.ingressController.podLabels"},
		"CIDR":          {"Pull CIDRs carry a prefix length.", v1beta1.Input{Network: v1beta1.Network{PullCIDRs: []string{"10.0.0.0/8", "10.0.0.1"}}}, "input.network.pullCIDRs[1]"},
		"SourceRelPath": {"A pattern source is a URL or an absolute directory.", v1beta1.Input{Patterns: v1beta1.Patterns{Source: "patterns/"}}, "input.patterns.source"},
		"SourceUnclean": {"A pattern directory is clean.", v1beta1.Input{Patterns: v1beta1.Patterns{Source: "/data/../patterns"}}, "input.patterns.source"},
		"VolumeHostPath": {"A hostPath volume would be refused by the workspace's Pod Security Standard.",
			v1beta1.Input{Patterns: v1beta1.Patterns{Source: "/patterns", Volume: &corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/patterns"}}}}, "input.patterns.volume"},
		"SourceVolumeURL": {"A mounted volume needs a directory source.",
			v1beta1.Input{Patterns: v1beta1.Patterns{Volume: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, "input.patterns.source"},
		"ConditionWait":  {"Durations are positive.", v1beta1.Input{KEDA: v1beta1.KEDA{ConditionWait: neg}}, "input.keda.conditionWait"},
		"ResponseHeader": {"Durations are positive.", v1beta1.Input{KEDA: v1beta1.KEDA{ResponseHeader: &metav1.Duration{}}}, "input.keda.responseHeader"},
		"Deadline":       {"Durations are positive.", v1beta1.Input{ModelJobs: v1beta1.ModelJobs{ActiveDeadline: neg}}, "input.modelJobs.activeDeadline"},
		"DeadlineShort": {"A Job deadline under a minute would be 0 seconds or useless.",
			v1beta1.Input{ModelJobs: v1beta1.ModelJobs{ActiveDeadline: &metav1.Duration{Duration: 500 * time.Millisecond}}}, "input.modelJobs.activeDeadline"},
		"Converging":  {"Durations are positive.", v1beta1.Input{Reconcile: v1beta1.Reconcile{Converging: neg}}, "input.reconcile.converging"},
		"Ready":       {"Durations are positive.", v1beta1.Input{Reconcile: v1beta1.Reconcile{Ready: neg}}, "input.reconcile.ready"},
		"BackoffNeg":  {"The backoff limit is not negative.", v1beta1.Input{ModelJobs: v1beta1.ModelJobs{BackoffLimit: ptr(int32(-1))}}, "input.modelJobs.backoffLimit"},
		"BackoffHigh": {"The backoff limit is at most 20.", v1beta1.Input{ModelJobs: v1beta1.ModelJobs{BackoffLimit: ptr(int32(21))}}, "input.modelJobs.backoffLimit"},
		"SizeMissingLimit": {"A size profile sets CPU and memory requests and limits.",
			v1beta1.Input{Sizes: v1beta1.Sizes{Medium: &v1beta1.SizeProfile{OpenWebUI: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}}}}, "input.sizes.medium.openWebUI"},
		"SizeRequestAboveLimit": {"Requests are at most the limits.",
			v1beta1.Input{Sizes: v1beta1.Sizes{Large: &v1beta1.SizeProfile{Pipelines: rr("1", "2Gi", "1", "1Gi")}}}, "input.sizes.large.pipelines"},
		"SizeZeroRequest": {"Requests are positive.",
			v1beta1.Input{Sizes: v1beta1.Sizes{XSmall: &v1beta1.SizeProfile{ModelJob: rr("0", "32Mi", "1", "64Mi")}}}, "input.sizes.xsmall.modelJob"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := newPlatform(&tc.in)
			// The same input gives the same error every time, whatever
			// the order Go iterates maps in.
			for range 20 {
				if _, again := newPlatform(&tc.in); fmt.Sprint(again) != fmt.Sprint(err) {
					t.Fatalf("%s\nnewPlatform(...) is not deterministic: %v, then %v", tc.reason, err, again)
				}
			}
			if err == nil {
				t.Fatalf("%s\nnewPlatform(...): want an error naming %s, got none", tc.reason, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nnewPlatform(...): error %q does not name %s", tc.reason, err, tc.want)
			}
		})
	}
}

func TestMergeSizes(t *testing.T) {
	big := rr("3", "20Gi", "24", "64Gi")
	cases := map[string]struct {
		reason string
		sizes  v1beta1.Sizes
		want   func() map[v1alpha1.Size]*sizeProfile
	}{
		"None": {
			reason: "Without sizes in the input every size keeps its defaults.",
			want:   defaultSizes,
		},
		"OneContainer": {
			reason: "Overriding one container of one size keeps the other containers and sizes.",
			sizes:  v1beta1.Sizes{Large: &v1beta1.SizeProfile{Ollama: big}},
			want: func() map[v1alpha1.Size]*sizeProfile {
				s := defaultSizes()
				s[v1alpha1.SizeLarge].ollama = big
				return s
			},
		},
		"EmptyProfile": {
			reason: "An empty profile changes nothing.",
			sizes:  v1beta1.Sizes{Small: &v1beta1.SizeProfile{}},
			want:   defaultSizes,
		},
		"EverySize": {
			reason: "Every size can be overridden.",
			sizes: v1beta1.Sizes{
				XSmall: &v1beta1.SizeProfile{ModelJob: big}, Small: &v1beta1.SizeProfile{OpenWebUI: big},
				Medium: &v1beta1.SizeProfile{Pipelines: big}, Large: &v1beta1.SizeProfile{Ollama: big},
			},
			want: func() map[v1alpha1.Size]*sizeProfile {
				s := defaultSizes()
				s[v1alpha1.SizeXSmall].modelJob = big
				s[v1alpha1.SizeSmall].webUI = big
				s[v1alpha1.SizeMedium].pipelines = big
				s[v1alpha1.SizeLarge].ollama = big
				return s
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := newPlatform(&v1beta1.Input{Sizes: tc.sizes})
			if err != nil {
				t.Fatalf("%s\nnewPlatform(...): %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want(), p.sizes, cmpPlatform...); diff != "" {
				t.Errorf("%s\nsizes: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDefaultSizesAreFresh(t *testing.T) {
	a, _ := newPlatform(&v1beta1.Input{Sizes: v1beta1.Sizes{Small: &v1beta1.SizeProfile{Ollama: rr("3", "20Gi", "24", "64Gi")}}})
	b, _ := newPlatform(&v1beta1.Input{})
	if diff := cmp.Diff(defaultSizes(), b.sizes, cmpPlatform...); diff != "" {
		t.Errorf("an override leaked into another platform's sizes: -want, +got:\n%s", diff)
	}
	if a.sizes[v1alpha1.SizeSmall] == b.sizes[v1alpha1.SizeSmall] {
		t.Error("two platforms share a size profile")
	}
}

func TestDefaultSizesAscend(t *testing.T) {
	s := defaultSizes()
	for i := 1; i < len(v1alpha1.Sizes); i++ {
		lo, hi := s[v1alpha1.Sizes[i-1]].ollama.Limits, s[v1alpha1.Sizes[i]].ollama.Limits
		if lo.Memory().Cmp(*hi.Memory()) >= 0 {
			t.Errorf("Ollama's memory limit of %s (%s) is not below %s's (%s)", v1alpha1.Sizes[i-1], lo.Memory(), v1alpha1.Sizes[i], hi.Memory())
		}
	}
	for _, size := range v1alpha1.Sizes {
		p := s[size]
		for name, r := range map[string]corev1.ResourceRequirements{"ollama": p.ollama, "openWebUI": p.webUI, "pipelines": p.pipelines, "modelJob": p.modelJob} {
			if err := checkResources(r); err != nil {
				t.Errorf("default %s.%s: %v", size, name, err)
			}
		}
	}
}
