package modeljob

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ollama/ollama/envconfig"
)

func TestParseHost(t *testing.T) {
	cases := map[string]struct {
		reason string
		host   string
		want   string
		err    string
	}{
		"Unset":        {reason: "the client's default", host: "", want: "http://127.0.0.1:11434"},
		"HostPort":     {reason: "no scheme means http", host: "ollama:11434", want: "http://ollama:11434"},
		"HostOnly":     {reason: "no scheme and no port means 11434", host: "ollama", want: "http://ollama:11434"},
		"ServiceURL":   {reason: "what the function sets", host: "http://ollama.tenant-a.svc.cluster.local:11434", want: "http://ollama.tenant-a.svc.cluster.local:11434"},
		"SchemeNoPort": {reason: "a scheme without a port means the scheme's port", host: "http://ollama", want: "http://ollama:80"},
		"HTTPS":        {reason: "https defaults to 443", host: "https://gateway.example", want: "https://gateway.example:443"},
		"IPv6":         {reason: "bracketed IPv6 with a port", host: "[::1]:8080", want: "http://[::1]:8080"},
		"Path":         {reason: "a path prefix is kept (behind a gateway)", host: "http://gw:8080/ollama", want: "http://gw:8080/ollama"},
		"Spaces":       {reason: "surrounding spaces from a YAML value are trimmed", host: " ollama:1 ", want: "http://ollama:1"},
		"BadScheme":    {reason: "other schemes cannot work", host: "ftp://ollama", err: `ollama host "ftp://ollama": the scheme must be http or https`},
		"BadPort":      {reason: "the client would silently use 11434; we refuse", host: "ollama:99999", err: `ollama host "ollama:99999": invalid port "99999"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := ParseHost(tc.host)
			got := ""
			if u != nil {
				got = u.String()
			}
			if diff := cmp.Diff(tc.err, errText(err)); diff != "" {
				t.Fatalf("%s\nParseHost(%q): -want error, +got:\n%s", tc.reason, tc.host, diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParseHost(%q): -want, +got:\n%s", tc.reason, tc.host, diff)
			}
			if err != nil {
				return
			}
			// Where we accept a host, we agree with the ollama client.
			t.Setenv("OLLAMA_HOST", tc.host)
			if diff := cmp.Diff(envconfig.Host().String(), got); diff != "" {
				t.Errorf("ParseHost(%q) differs from envconfig.Host: -client, +ours:\n%s", tc.host, diff)
			}
		})
	}
}

func TestBackoffNext(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 5 * time.Second}
	var got []time.Duration
	var d time.Duration
	for range 6 {
		d = b.next(d)
		got = append(got, d)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the delays double up to Max: -want, +got:\n%s", diff)
	}
}
