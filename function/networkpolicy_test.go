package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

func policies(nps []*networkingv1.NetworkPolicy) map[string]networkingv1.NetworkPolicySpec {
	out := map[string]networkingv1.NetworkPolicySpec{}
	for _, np := range nps {
		out[np.Name] = np.Spec
	}
	return out
}

func TestNetworkPolicies(t *testing.T) {
	pods := func(component string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			"app.kubernetes.io/instance": testID, "app.kubernetes.io/component": component,
		}}}
	}
	sel := func(component string) metav1.LabelSelector { return *pods(component).PodSelector }
	ns := func(name string, labels map[string]string) networkingv1.NetworkPolicyPeer {
		p := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": name}}}
		if labels != nil {
			p.PodSelector = &metav1.LabelSelector{MatchLabels: labels}
		}
		return p
	}
	port := func(proto corev1.Protocol, p int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: ptr(intstr.FromInt32(p))}
	}
	tcp := func(p int32) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, p)}
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	egressOnly := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	https := networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}, {IPBlock: &networkingv1.IPBlock{CIDR: "::/0"}}},
		Ports: tcp(443),
	}
	toOllama := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{pods("ollama")}, Ports: tcp(11434)}
	toPipelines := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{pods("pipelines")}, Ports: tcp(9099)}

	common := map[string]networkingv1.NetworkPolicySpec{
		"default-deny": {
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{}},
			PolicyTypes: both,
			Ingress:     []networkingv1.NetworkPolicyIngressRule{},
			Egress:      []networkingv1.NetworkPolicyEgressRule{},
		},
		"allow-dns": {
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{}},
			PolicyTypes: egressOnly,
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{ns("kube-system", map[string]string{"k8s-app": "kube-dns"})},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, 53), port(corev1.ProtocolTCP, 53)},
			}},
		},
		"ollama": {
			PodSelector: sel("ollama"),
			PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{pods("open-webui"), pods("model-job"), ns("aichat-system", map[string]string{"app.kubernetes.io/name": "aichat-portal"}),
					ns("keda", map[string]string{"app.kubernetes.io/component": "interceptor"})},
				Ports: tcp(11434),
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{https},
		},
		"open-webui": {
			PodSelector: sel("open-webui"),
			PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					ns("ingress-nginx", map[string]string{"app.kubernetes.io/name": "ingress-nginx"}),
					ns("keda", map[string]string{"app.kubernetes.io/component": "interceptor"}),
				},
				Ports: tcp(8080),
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{toOllama},
		},
		"model-job": {
			PodSelector: sel("model-job"),
			PolicyTypes: egressOnly,
			Egress:      []networkingv1.NetworkPolicyEgressRule{toOllama, https},
		},
	}
	withPipelines := map[string]networkingv1.NetworkPolicySpec{}
	for k, v := range common {
		withPipelines[k] = v
	}
	webUI := withPipelines["open-webui"]
	webUI.Egress = []networkingv1.NetworkPolicyEgressRule{toOllama, toPipelines}
	withPipelines["open-webui"] = webUI
	withPipelines["pipelines"] = networkingv1.NetworkPolicySpec{
		PodSelector: sel("pipelines"),
		PolicyTypes: both,
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{pods("open-webui")}, Ports: tcp(9099)}},
		Egress:      []networkingv1.NetworkPolicyEgressRule{toOllama, https},
	}

	cases := map[string]struct {
		reason string
		in     *v1beta1.Input
		spec   string
		want   map[string]networkingv1.NetworkPolicySpec
	}{
		"Default": {
			reason: "Deny all; DNS; Ollama from Open WebUI, the model Jobs and the gateway; Open WebUI from the ingress controller and the interceptor.",
			spec:   exampleSpec,
			want:   common,
		},
		"Pipelines": {
			reason: "Pipelines are reached from Open WebUI only, and Open WebUI may reach them.",
			spec:   `{"pipelines": {"enabled": true}}`,
			want:   withPipelines,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, tc.in, tc.spec)
			nps := w.networkPolicies()
			if diff := cmp.Diff(tc.want, policies(nps)); diff != "" {
				t.Errorf("%s\nnetworkPolicies(): -want, +got:\n%s", tc.reason, diff)
			}
			for _, np := range nps {
				if np.Namespace != testNamespace || np.Kind != "NetworkPolicy" || np.APIVersion != "networking.k8s.io/v1" {
					t.Errorf("%s\n%s: %s %s in %q", tc.reason, np.Name, np.APIVersion, np.Kind, np.Namespace)
				}
			}
		})
	}
}

func TestNetworkPoliciesInput(t *testing.T) {
	in := &v1beta1.Input{Network: v1beta1.Network{
		IngressController: v1beta1.Peer{Namespace: "traefik"},
		LLMGateway:        v1beta1.Peer{Namespace: "portal", PodLabels: map[string]string{"app": "gw"}},
		DNS:               v1beta1.Peer{Namespace: "kube-system", PodLabels: map[string]string{"k8s-app": "coredns"}},
		PullCIDRs:         []string{"203.0.113.0/24"},
	}, KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Namespace: "keda-http", PodLabels: map[string]string{"app": "interceptor"}}}}
	got := policies(testWorkspace(t, in, `{}`).networkPolicies())

	webUIFrom := got["open-webui"].Ingress[0].From
	if diff := cmp.Diff(map[string]string{"kubernetes.io/metadata.name": "traefik"}, webUIFrom[0].NamespaceSelector.MatchLabels); diff != "" {
		t.Errorf("ingress controller namespace: -want, +got:\n%s", diff)
	}
	if webUIFrom[0].PodSelector != nil {
		t.Errorf("an ingress controller peer without pod labels allows every pod of its namespace; got %v", webUIFrom[0].PodSelector)
	}
	if diff := cmp.Diff(map[string]string{"app": "interceptor"}, webUIFrom[1].PodSelector.MatchLabels); diff != "" {
		t.Errorf("interceptor pods: -want, +got:\n%s", diff)
	}
	if got := webUIFrom[1].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; got != "keda-http" {
		t.Errorf("interceptor namespace: got %q", got)
	}
	if diff := cmp.Diff(map[string]string{"app": "gw"}, got["ollama"].Ingress[0].From[2].PodSelector.MatchLabels); diff != "" {
		t.Errorf("gateway pods: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24"}}}, got["model-job"].Egress[1].To); diff != "" {
		t.Errorf("pull CIDRs: -want, +got:\n%s", diff)
	}
}

// Every policy but the namespace-wide ones selects this workspace's pods
// only, and every peer in the workspace namespace is this workspace's pods.
func TestNetworkPoliciesSelectThisWorkspace(t *testing.T) {
	w := testWorkspace(t, nil, `{"pipelines": {"enabled": true}}`)
	for _, np := range w.networkPolicies() {
		sel := np.Spec.PodSelector.MatchLabels
		switch np.Name {
		case "default-deny", "allow-dns":
			if len(sel) != 0 || len(np.Spec.PodSelector.MatchExpressions) != 0 {
				t.Errorf("%s: want the whole namespace, got %v", np.Name, np.Spec.PodSelector)
			}
		default:
			if sel[labelInstance] != w.id || sel[labelComponent] == "" {
				t.Errorf("%s: selects %v, not this workspace's pods of one component", np.Name, sel)
			}
		}
		var peers []networkingv1.NetworkPolicyPeer
		for _, r := range np.Spec.Ingress {
			peers = append(peers, r.From...)
		}
		for _, r := range np.Spec.Egress {
			peers = append(peers, r.To...)
		}
		for _, p := range peers {
			switch {
			case p.IPBlock != nil:
			case p.NamespaceSelector != nil:
				if p.NamespaceSelector.MatchLabels[corev1.LabelMetadataName] == "" {
					t.Errorf("%s: a namespace peer not pinned to one namespace: %v", np.Name, p.NamespaceSelector)
				}
			case p.PodSelector != nil:
				if p.PodSelector.MatchLabels[labelInstance] != w.id {
					t.Errorf("%s: a pod peer of another workspace: %v", np.Name, p.PodSelector)
				}
			default:
				t.Errorf("%s: an empty peer allows everything", np.Name)
			}
		}
	}
}

// The serialised default-deny policy keeps its empty pod selector: without
// it the API server rejects the policy.
func TestDefaultDenySerialised(t *testing.T) {
	w := testWorkspace(t, nil, `{}`)
	spec := serialisedSpec(t, w.networkPolicies()[0])
	want := map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("default-deny spec: -want, +got:\n%s", diff)
	}
}
