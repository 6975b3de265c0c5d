package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

const noSTZSpec = `{"scaleToZero": {"enabled": false}}`

func TestIngress(t *testing.T) {
	host := testID + ".aichat.example.com"
	rule := func(backend string, port int32) []networkingv1.IngressRule {
		return []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: backend, Port: networkingv1.ServiceBackendPort{Number: port},
					}},
				}},
			}},
		}}
	}
	cases := map[string]struct {
		reason          string
		in              *v1beta1.Input
		spec            string
		want            networkingv1.IngressSpec
		wantAnnotations map[string]string
	}{
		"ScaleToZero": {
			reason: "With scale to zero the Ingress sends traffic to the interceptor's ExternalName service.",
			spec:   `{}`,
			want:   networkingv1.IngressSpec{Rules: rule("keda-interceptor", 8080)},
		},
		"AlwaysOn": {
			reason: "Without it straight to Open WebUI's service.",
			spec:   noSTZSpec,
			want:   networkingv1.IngressSpec{Rules: rule("open-webui", 80)},
		},
		"KEDADisabled": {
			reason: "A platform without KEDA never routes through the interceptor.",
			in:     &v1beta1.Input{KEDA: v1beta1.KEDA{Enabled: ptr(false)}},
			spec:   `{}`,
			want:   networkingv1.IngressSpec{Rules: rule("open-webui", 80)},
		},
		"ClassTLSAnnotations": {
			reason: "Class, TLS secret and annotations come from the input; the owner annotation stays.",
			in: &v1beta1.Input{KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Port: 8081}}, Routing: v1beta1.Routing{Ingress: v1beta1.IngressRouting{
				ClassName: "nginx", TLSSecretName: "workspace-tls",
				Annotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"},
			}}},
			spec: `{"owner": "ada@example.com"}`,
			want: networkingv1.IngressSpec{
				IngressClassName: ptr("nginx"),
				TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "workspace-tls"}},
				Rules:            rule("keda-interceptor", 8081),
			},
			wantAnnotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt", "aichatworkspaces.io/owner": "ada@example.com"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ing := testWorkspace(t, tc.in, tc.spec).ingress()
			if diff := cmp.Diff(tc.want, ing.Spec); diff != "" {
				t.Errorf("%s\ningress(): spec: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantAnnotations, ing.Annotations); diff != "" {
				t.Errorf("%s\ningress(): annotations: -want, +got:\n%s", tc.reason, diff)
			}
			if ing.Name != "open-webui" || ing.Namespace != testNamespace {
				t.Errorf("%s\ningress(): %s/%s", tc.reason, ing.Namespace, ing.Name)
			}
		})
	}
}

func TestIngressAnnotationsNotShared(t *testing.T) {
	in := &v1beta1.Input{Routing: v1beta1.Routing{Ingress: v1beta1.IngressRouting{Annotations: map[string]string{"a": "b"}}}}
	w := testWorkspace(t, in, `{"owner": "ada@example.com"}`)
	w.ingress()
	if _, ok := w.annotations()["a"]; ok {
		t.Error("ingress(): the input's annotations leaked into the workspace's annotations")
	}
	if diff := cmp.Diff(map[string]string{"a": "b"}, in.Routing.Ingress.Annotations); diff != "" {
		t.Errorf("ingress(): the input's annotations changed: -want, +got:\n%s", diff)
	}
}

func TestInterceptorService(t *testing.T) {
	in := &v1beta1.Input{KEDA: v1beta1.KEDA{Interceptor: v1beta1.Interceptor{Namespace: "keda-http", Service: "proxy", Port: 9090}}}
	s := testWorkspace(t, in, `{}`).interceptorService()
	want := corev1.ServiceSpec{
		Type:         corev1.ServiceTypeExternalName,
		ExternalName: "proxy.keda-http.svc.cluster.local",
		Ports:        []corev1.ServicePort{{Name: "http", Port: 9090, Protocol: corev1.ProtocolTCP}},
	}
	if diff := cmp.Diff(want, s.Spec); diff != "" {
		t.Errorf("interceptorService(): -want, +got:\n%s", diff)
	}
	if s.Name != "keda-interceptor" || s.Namespace != testNamespace {
		t.Errorf("interceptorService(): %s/%s", s.Namespace, s.Name)
	}
}

func TestHTTPRoute(t *testing.T) {
	gw := v1beta1.Routing{Mode: v1beta1.RoutingGatewayAPI, Gateway: v1beta1.GatewayRouting{Name: "public", Namespace: "gateways", SectionName: "https"}}
	host := testID + ".aichat.example.com"
	parents := []ParentReference{{Name: "public", Namespace: "gateways", SectionName: "https"}}
	cases := map[string]struct {
		reason string
		spec   string
		want   HTTPRouteSpec
	}{
		"ScaleToZero": {
			reason: "Gateways do not follow ExternalName services: the route points at the interceptor in its namespace.",
			spec:   `{}`,
			want: HTTPRouteSpec{ParentRefs: parents, Hostnames: []string{host}, Rules: []HTTPRouteRule{{BackendRefs: []BackendRef{
				{Name: "keda-add-ons-http-interceptor-proxy", Namespace: "keda", Port: 8080},
			}}}},
		},
		"AlwaysOn": {
			reason: "Without scale to zero the route points at Open WebUI's service in the workspace namespace.",
			spec:   noSTZSpec,
			want: HTTPRouteSpec{ParentRefs: parents, Hostnames: []string{host}, Rules: []HTTPRouteRule{{BackendRefs: []BackendRef{
				{Name: "open-webui", Port: 80},
			}}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := testWorkspace(t, &v1beta1.Input{Routing: gw}, tc.spec)
			r := w.httpRoute()
			if diff := cmp.Diff(tc.want, r.Spec); diff != "" {
				t.Errorf("%s\nhttpRoute(): -want, +got:\n%s", tc.reason, diff)
			}
			if r.APIVersion != "gateway.networking.k8s.io/v1" || r.Kind != "HTTPRoute" || r.Namespace != testNamespace {
				t.Errorf("%s\nhttpRoute(): %s %s in %q", tc.reason, r.APIVersion, r.Kind, r.Namespace)
			}
		})
	}
}

func TestReferenceGrant(t *testing.T) {
	in := &v1beta1.Input{Routing: v1beta1.Routing{Mode: v1beta1.RoutingGatewayAPI, Gateway: v1beta1.GatewayRouting{Name: "gw", Namespace: "gateways"}}}
	w := testWorkspace(t, in, `{}`)
	g := w.referenceGrant()
	want := &ReferenceGrant{
		TypeMeta: metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1beta1", Kind: "ReferenceGrant"},
		ObjectMeta: metav1.ObjectMeta{
			Name: testNamespace, Namespace: "keda", Labels: w.labels(componentWebUI),
		},
		Spec: ReferenceGrantSpec{
			From: []ReferenceGrantFrom{{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Namespace: testNamespace}},
			To:   []ReferenceGrantTo{{Group: "", Kind: "Service", Name: "keda-add-ons-http-interceptor-proxy"}},
		},
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("referenceGrant(): -want, +got:\n%s", diff)
	}
	// The core group is the empty string, which the schema requires.
	to := serialisedSpec(t, g)["to"].([]any)[0].(map[string]any)
	if g, ok := to["group"]; !ok || g != "" {
		t.Errorf("referenceGrant(): spec.to[0].group must be serialised as \"\", got %v (present %t)", g, ok)
	}
}

func TestGatewayMode(t *testing.T) {
	for mode, want := range map[v1beta1.RoutingMode]bool{"": false, v1beta1.RoutingIngress: false, v1beta1.RoutingGatewayAPI: true} {
		p := &platform{routingMode: mode}
		if got := p.gatewayMode(); got != want {
			t.Errorf("gatewayMode() for %q: want %t, got %t", mode, want, got)
		}
	}
}
