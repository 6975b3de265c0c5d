package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct {
		Len       int
		Generated bool
		Err       bool
	}
	cases := map[string]struct {
		reason string
		cfg    Config
		want   want
	}{
		"ProductionWithout": {reason: "production refuses to start without a secret", cfg: Config{Mode: ModeProduction}, want: want{Err: true}},
		"DevGenerates":      {reason: "dev generates one and says so", cfg: Config{Mode: ModeDev}, want: want{Len: 32, Generated: true}},
		"File":              {reason: "a secret file, trimmed", cfg: Config{Mode: ModeProduction, JWTSecretFile: file}, want: want{Len: 32}},
		"Short":             {reason: "short keys weaken HS256", cfg: Config{Mode: ModeProduction, JWTSecret: "short"}, want: want{Err: true}},
		"MissingFile":       {reason: "an unreadable file is an error", cfg: Config{Mode: ModeDev, JWTSecretFile: file + ".nope"}, want: want{Err: true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			k, gen, err := tc.cfg.Secret()
			if diff := cmp.Diff(tc.want, want{Len: len(k), Generated: gen, Err: err != nil}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if name == "ProductionWithout" && !errors.Is(err, ErrNoSecret) {
				t.Errorf("want ErrNoSecret, got %v", err)
			}
		})
	}
}

func TestDatabase(t *testing.T) {
	dir := t.TempDir()
	file, empty := filepath.Join(dir, "dsn"), filepath.Join(dir, "empty")
	if err := os.WriteFile(file, []byte("u:p@tcp(db:3306)/portal?parseTime=True\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct {
		DSN string
		Err bool
	}
	cases := map[string]struct {
		reason string
		cfg    Config
		want   want
	}{
		"SQLite":    {reason: "neither: embedded SQLite", cfg: Config{}, want: want{}},
		"Flag":      {reason: "--dsn as given", cfg: Config{DSN: "u:p@tcp(db:3306)/x"}, want: want{DSN: "u:p@tcp(db:3306)/x"}},
		"File":      {reason: "a mounted file, trimmed (Vault Agent templates end in a newline)", cfg: Config{DSNFile: file}, want: want{DSN: "u:p@tcp(db:3306)/portal?parseTime=True"}},
		"EmptyFile": {reason: "an empty file must not fall back to SQLite silently", cfg: Config{DSNFile: empty}, want: want{Err: true}},
		"Missing":   {reason: "an unreadable file is an error", cfg: Config{DSNFile: file + ".nope"}, want: want{Err: true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dsn, err := tc.cfg.Database()
			if diff := cmp.Diff(tc.want, want{DSN: dsn, Err: err != nil}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		reason string
		edit   func(*Config)
		want   bool
	}{
		"Default":         {reason: "the defaults are valid", edit: func(*Config) {}, want: true},
		"LowCostInProd":   {reason: "production needs bcrypt cost >= 10", edit: func(c *Config) { c.Mode = ModeProduction; c.BcryptCost = 4 }},
		"RefreshTooShort": {reason: "refresh tokens outlive access tokens", edit: func(c *Config) { c.RefreshTTL = c.AccessTTL }},
		"TinyBody":        {reason: "a body limit under 1 KiB is a mistake", edit: func(c *Config) { c.MaxBodyBytes = 10 }},
		"UpstreamNoPlaceholder": {reason: "an upstream template must name the workspace",
			edit: func(c *Config) { c.GatewayUpstreamTemplate = "http://ollama:11434" }},
		"UpstreamNotURL": {reason: "an upstream template must be an absolute URL",
			edit: func(c *Config) { c.GatewayUpstreamTemplate = "ollama.{namespace}:11434" }},
		"Interceptor": {reason: "a KEDA interceptor URL is accepted", want: true,
			edit: func(c *Config) { c.GatewayKEDAInterceptor = "http://keda-add-ons-http-interceptor-proxy.keda.svc:8080" }},
		"InterceptorNotURL": {reason: "a KEDA interceptor must be a URL",
			edit: func(c *Config) { c.GatewayKEDAInterceptor = "keda:8080" }},
		"NoIdleTimeout": {reason: "a zero idle timeout would cut every stream",
			edit: func(c *Config) { c.GatewayIdleTimeout = 0 }},
		"NoRateLimit": {reason: "the rate limit must allow something",
			edit: func(c *Config) { c.GatewayRequestsPerMin = 0 }},
		"DSNTwice": {reason: "a DSN and a DSN file would leave it unclear which counts",
			edit: func(c *Config) { c.DSN = "u:p@tcp(db:3306)/portal"; c.DSNFile = "/vault/secrets/dsn" }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			if got := c.Validate() == nil; got != tc.want {
				t.Errorf("%s: valid = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}
