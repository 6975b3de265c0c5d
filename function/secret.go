package function

import (
	"encoding/base64"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/function-sdk-go/resource/composed"
)

// The workspace Secret holds keys that must never change once chosen:
// WEBUI_SECRET_KEY signs Open WebUI's sessions (a new one logs everybody
// out), and the Pipelines key is shared by two Deployments.
const (
	secretName         = "workspace-keys"
	secretKeyWebUI     = "WEBUI_SECRET_KEY"
	secretKeyPipelines = "PIPELINES_API_KEY"
	secretBytes        = 32
)

func secretKey(key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secretName},
		Key:                  key,
	}}
}

// workspaceSecret keeps every key the observed Secret already has and
// generates only the missing ones. This is the one place the function is not
// a pure function of its input: the first call draws random bytes, and every
// later call reads them back from the observed Secret.
func (w *workspace) workspaceSecret(observed *composed.Unstructured, random io.Reader) (*corev1.Secret, error) {
	have := map[string]any{}
	if observed != nil {
		if d, ok := observed.Object["data"].(map[string]any); ok {
			have = d
		}
	}
	data := make(map[string][]byte, 2)
	for _, k := range []string{secretKeyWebUI, secretKeyPipelines} {
		if v, ok := have[k].(string); ok && v != "" {
			b, err := base64.StdEncoding.DecodeString(v)
			if err == nil && len(b) > 0 {
				data[k] = b
				continue
			}
		}
		b := make([]byte, secretBytes)
		if _, err := io.ReadFull(random, b); err != nil {
			return nil, fmt.Errorf("cannot generate %s: %w", k, err)
		}
		// Open WebUI and Pipelines read the keys from the environment:
		// keep them printable.
		data[k] = []byte(base64.RawURLEncoding.EncodeToString(b))
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: w.meta(secretName, "workspace"),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}
