package function

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

// A workspace denies all traffic and then allows exactly the paths it
// needs: browsers (through the ingress controller or the KEDA interceptor)
// to Open WebUI, Open WebUI and the model Jobs to Ollama, the portal's LLM
// gateway to Ollama, DNS, and HTTPS out for model pulls and patterns.

func (w *workspace) networkPolicy(name string, pods map[string]string, ingress []networkingv1.NetworkPolicyIngressRule, egress []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	types := []networkingv1.PolicyType{}
	if ingress != nil {
		types = append(types, networkingv1.PolicyTypeIngress)
	}
	if egress != nil {
		types = append(types, networkingv1.PolicyTypeEgress)
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: w.meta(name, "workspace"),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: pods},
			PolicyTypes: types,
			Ingress:     ingress,
			Egress:      egress,
		},
	}
}

func tcp(port int32) []networkingv1.NetworkPolicyPort {
	return []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(port))}}
}

// podsOf selects pods of this workspace's component.
func (w *workspace) podsOf(component string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: w.selector(component)}}
}

// elsewhere selects pods of another namespace, by the label every Namespace
// carries with its name.
func elsewhere(p v1beta1.Peer) networkingv1.NetworkPolicyPeer {
	peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{corev1.LabelMetadataName: p.Namespace},
	}}
	if len(p.PodLabels) > 0 {
		peer.PodSelector = &metav1.LabelSelector{MatchLabels: p.PodLabels}
	}
	return peer
}

func (w *workspace) httpsOut() networkingv1.NetworkPolicyEgressRule {
	to := make([]networkingv1.NetworkPolicyPeer, 0, len(w.p.pullCIDRs))
	for _, c := range w.p.pullCIDRs {
		to = append(to, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
	}
	return networkingv1.NetworkPolicyEgressRule{To: to, Ports: tcp(443)}
}

func (w *workspace) networkPolicies() []*networkingv1.NetworkPolicy {
	all := map[string]string{}
	toOllama := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{w.podsOf(componentOllama)}, Ports: tcp(ollamaPort)}
	interceptor := v1beta1.Peer{Namespace: w.p.interceptor.Namespace, PodLabels: w.p.interceptor.PodLabels}

	webUIEgress := []networkingv1.NetworkPolicyEgressRule{toOllama}
	if w.spec.Pipelines.Enabled {
		webUIEgress = append(webUIEgress, networkingv1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{w.podsOf(componentPipelines)}, Ports: tcp(pipelinesPort),
		})
	}
	nps := []*networkingv1.NetworkPolicy{
		w.networkPolicy("default-deny", all, []networkingv1.NetworkPolicyIngressRule{}, []networkingv1.NetworkPolicyEgressRule{}),
		w.networkPolicy("allow-dns", all, nil, []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{elsewhere(w.p.dnsPeer)},
			Ports: []networkingv1.NetworkPolicyPort{
				{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(53))},
				{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(53))},
			},
		}}),
		w.networkPolicy(componentOllama, w.selector(componentOllama),
			[]networkingv1.NetworkPolicyIngressRule{{
				// The interceptor forwards the gateway's calls to a
				// workspace that was asleep.
				From: []networkingv1.NetworkPolicyPeer{
					w.podsOf(componentWebUI), w.podsOf(componentModelJob), elsewhere(w.p.gatewayPeer), elsewhere(interceptor),
				},
				Ports: tcp(ollamaPort),
			}},
			[]networkingv1.NetworkPolicyEgressRule{w.httpsOut()}),
		w.networkPolicy(componentWebUI, w.selector(componentWebUI),
			[]networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{elsewhere(w.p.ingressPeer), elsewhere(interceptor)},
				Ports: tcp(webUIPort),
			}},
			webUIEgress),
		w.networkPolicy(componentModelJob, w.selector(componentModelJob), nil,
			[]networkingv1.NetworkPolicyEgressRule{toOllama, w.httpsOut()}),
	}
	if w.spec.Pipelines.Enabled {
		nps = append(nps, w.networkPolicy(componentPipelines, w.selector(componentPipelines),
			[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{w.podsOf(componentWebUI)}, Ports: tcp(pipelinesPort)}},
			[]networkingv1.NetworkPolicyEgressRule{toOllama, w.httpsOut()}))
	}
	return nps
}
