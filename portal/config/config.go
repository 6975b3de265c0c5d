// Package config is the portal's configuration: one struct, filled from flags
// and environment variables (kong reads both from the tags below), checked
// once at start.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Modes the portal runs in.
const (
	ModeDev        = "dev"
	ModeProduction = "production"
)

// DefaultPatternSource is Fabric's data/patterns at a pinned commit, the same
// default the composition function uses.
const DefaultPatternSource = "https://raw.githubusercontent.com/danielmiessler/Fabric/90b6af298f8e3dd6459f7792303c92925293d9b2/data/patterns"

// Config is everything the portal can be told. Flag names are the kebab-case
// field names; every field also reads a PORTAL_* variable.
type Config struct {
	Mode string `help:"dev generates a JWT secret when none is given; production refuses to start without one." enum:"dev,production" default:"dev" env:"PORTAL_MODE"`
	Addr string `help:"Listen address." default:"127.0.0.1:8080" env:"PORTAL_ADDR"`

	DSN string `name:"dsn" help:"MySQL/MariaDB DSN (user:pw@tcp(host:3306)/db?parseTime=True). Empty: embedded SQLite at --sqlite-path." env:"PORTAL_DSN"`
	// DSNFile is for secrets mounted as files (a Secret volume, the Vault
	// Agent injector's /vault/secrets/...), which never show in the
	// process environment.
	DSNFile    string `name:"dsn-file" help:"File holding the MySQL/MariaDB DSN, instead of --dsn." env:"PORTAL_DSN_FILE" type:"path"`
	SQLitePath string `name:"sqlite-path" help:"SQLite database file used when --dsn is empty." default:"portal.db" env:"PORTAL_SQLITE_PATH"`

	JWTSecret     string        `name:"jwt-secret" help:"HS256 signing key (at least 32 bytes). Prefer --jwt-secret-file." env:"PORTAL_JWT_SECRET"`
	JWTSecretFile string        `name:"jwt-secret-file" help:"File holding the HS256 signing key." env:"PORTAL_JWT_SECRET_FILE" type:"path"`
	JWTIssuer     string        `name:"jwt-issuer" default:"aichat-portal" env:"PORTAL_JWT_ISSUER"`
	JWTAudience   string        `name:"jwt-audience" default:"aichat-portal" env:"PORTAL_JWT_AUDIENCE"`
	AccessTTL     time.Duration `name:"access-ttl" help:"Lifetime of access tokens." default:"15m" env:"PORTAL_ACCESS_TTL"`
	RefreshTTL    time.Duration `name:"refresh-ttl" help:"Lifetime of refresh tokens." default:"168h" env:"PORTAL_REFRESH_TTL"`
	BcryptCost    int           `name:"bcrypt-cost" help:"bcrypt cost for password hashes." default:"12" env:"PORTAL_BCRYPT_COST"`

	Kubeconfig       string `help:"Kubeconfig of the cluster holding the claims. Empty: in-cluster config, or no cluster when not in a pod (workspace endpoints answer 503)." env:"PORTAL_KUBECONFIG" type:"path"`
	ClaimNamespace   string `help:"Namespace all claims live in (shared mode)." default:"aichat-workspaces" env:"PORTAL_CLAIM_NAMESPACE"`
	NamespacePerUser bool   `help:"Put each user's claims in their own namespace <namespace-prefix><user id> instead of --claim-namespace." env:"PORTAL_NAMESPACE_PER_USER"`
	NamespacePrefix  string `help:"Prefix of per-user claim namespaces." default:"aichat-user-" env:"PORTAL_NAMESPACE_PREFIX"`
	WorkspaceQuota   int    `help:"Workspaces a user may have unless an admin set their own quota." default:"3" env:"PORTAL_WORKSPACE_QUOTA"`

	PatternSource  string        `help:"Fabric patterns: an http(s) base URL or a directory." default:"${pattern_source}" env:"PORTAL_PATTERN_SOURCE"`
	PatternCatalog string        `help:"For a URL source: an http(s) URL or file listing pattern names, one a line. Empty: the built-in list of common Fabric patterns." env:"PORTAL_PATTERN_CATALOG"`
	PatternTTL     time.Duration `help:"How long the pattern catalog is cached." default:"10m" env:"PORTAL_PATTERN_TTL"`

	MaxBodyBytes        int64    `help:"Largest request body accepted." default:"65536" env:"PORTAL_MAX_BODY_BYTES"`
	LoginPerIPPerMinute int      `name:"login-per-ip-per-minute" help:"Login and register attempts per client address per minute." default:"20" env:"PORTAL_LOGIN_PER_IP_PER_MINUTE"`
	LoginPerAccount     int      `name:"login-per-account-per-minute" help:"Login attempts per e-mail address per minute." default:"5" env:"PORTAL_LOGIN_PER_ACCOUNT_PER_MINUTE"`
	TrustedProxies      []string `help:"Proxies whose X-Forwarded-For is believed (CIDRs). Empty: the peer address is the client." env:"PORTAL_TRUSTED_PROXIES"`

	LogLevel string `help:"debug, info, warn or error." default:"info" env:"PORTAL_LOG_LEVEL"`

	// The LLM gateway (/llm/{workspace}/...).
	GatewayUpstreamTemplate string        `name:"gateway-upstream-template" help:"URL of a workspace's Ollama; {namespace} is the workspace's namespace (status.namespace), {workspace} the claim name." default:"http://ollama.{namespace}.svc:11434" env:"PORTAL_GATEWAY_UPSTREAM_TEMPLATE"`
	GatewayKEDAInterceptor  string        `name:"gateway-keda-interceptor" help:"Send gateway traffic through the KEDA HTTP add-on interceptor at this URL (e.g. http://keda-add-ons-http-interceptor-proxy.keda.svc:8080), so a request wakes a workspace scaled to zero. Needs an HTTPScaledObject for Ollama's host (see portal/README.md)." env:"PORTAL_GATEWAY_KEDA_INTERCEPTOR"`
	GatewayKEDAHostTemplate string        `name:"gateway-keda-host-template" help:"Host header the interceptor routes on to a workspace's Ollama ({namespace}, {workspace} as above)." default:"ollama.{namespace}.svc" env:"PORTAL_GATEWAY_KEDA_HOST_TEMPLATE"`
	GatewayMaxBodyBytes     int64         `name:"gateway-max-body-bytes" help:"Largest request body the gateway forwards (embeddings and images are big)." default:"33554432" env:"PORTAL_GATEWAY_MAX_BODY_BYTES"`
	GatewayRequestsPerMin   int           `name:"gateway-requests-per-minute" help:"Gateway requests per API token (or per user with a session token) per minute; the burst is the same." default:"120" env:"PORTAL_GATEWAY_REQUESTS_PER_MINUTE"`
	GatewayHeaderTimeout    time.Duration `name:"gateway-header-timeout" help:"How long Ollama may take to start answering (loading a model, waking a workspace)." default:"5m" env:"PORTAL_GATEWAY_HEADER_TIMEOUT"`
	GatewayIdleTimeout      time.Duration `name:"gateway-idle-timeout" help:"Longest pause between two chunks of a streamed answer, either way; a generation may last any time as long as it progresses." default:"2m" env:"PORTAL_GATEWAY_IDLE_TIMEOUT"`
	GatewayBodyTimeout      time.Duration `name:"gateway-body-timeout" help:"How long a client may take to send its request body." default:"2m" env:"PORTAL_GATEWAY_BODY_TIMEOUT"`
	GatewayUsageFlush       time.Duration `name:"gateway-usage-flush" help:"How often token usage counters are written to the database." default:"10s" env:"PORTAL_GATEWAY_USAGE_FLUSH"`
	MaxAPITokensPerUser     int           `name:"max-api-tokens-per-user" help:"Active API tokens a user may hold." default:"50" env:"PORTAL_MAX_API_TOKENS_PER_USER"`
}

// Vars are kong interpolation variables for the defaults above.
var Vars = map[string]string{"pattern_source": DefaultPatternSource}

// ErrNoSecret is returned in production mode without a JWT secret.
var ErrNoSecret = errors.New("production mode needs --jwt-secret-file or PORTAL_JWT_SECRET: refusing to start with a generated key")

// Secret returns the JWT signing key. In dev mode without one it generates a
// random key and reports generated=true, so the caller can say that tokens
// will not survive a restart.
func (c *Config) Secret() (key []byte, generated bool, err error) {
	switch {
	case c.JWTSecretFile != "":
		b, err := os.ReadFile(c.JWTSecretFile)
		if err != nil {
			return nil, false, fmt.Errorf("cannot read the JWT secret file: %w", err)
		}
		key = []byte(strings.TrimSpace(string(b)))
	case c.JWTSecret != "":
		key = []byte(c.JWTSecret)
	case c.Mode == ModeProduction:
		return nil, false, ErrNoSecret
	default:
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, false, err
		}
		return key, true, nil
	}
	// HS256 keys shorter than the hash output weaken it (RFC 7518 3.2).
	if len(key) < 32 {
		return nil, false, errors.New("the JWT secret must be at least 32 bytes")
	}
	return key, false, nil
}

// Database returns the DSN from --dsn or --dsn-file; empty means embedded
// SQLite at --sqlite-path. The file is read once: a rotated DSN takes a
// restart.
func (c *Config) Database() (string, error) {
	if c.DSNFile == "" {
		return c.DSN, nil
	}
	b, err := os.ReadFile(c.DSNFile)
	if err != nil {
		return "", fmt.Errorf("cannot read the DSN file: %w", err)
	}
	dsn := strings.TrimSpace(string(b))
	if dsn == "" {
		return "", fmt.Errorf("the DSN file %s is empty", c.DSNFile)
	}
	return dsn, nil
}

// Validate checks values kong cannot.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN != "" && c.DSNFile != "" {
		errs = append(errs, errors.New("set --dsn or --dsn-file, not both"))
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		errs = append(errs, fmt.Errorf("--bcrypt-cost must be between %d and %d", bcrypt.MinCost, bcrypt.MaxCost))
	}
	if c.Mode == ModeProduction && c.BcryptCost < 10 {
		errs = append(errs, errors.New("--bcrypt-cost below 10 is only allowed in dev mode"))
	}
	if c.AccessTTL <= 0 || c.AccessTTL > 24*time.Hour {
		errs = append(errs, errors.New("--access-ttl must be between 0 and 24h"))
	}
	if c.RefreshTTL <= c.AccessTTL {
		errs = append(errs, errors.New("--refresh-ttl must be longer than --access-ttl"))
	}
	if c.WorkspaceQuota < 0 {
		errs = append(errs, errors.New("--workspace-quota must not be negative"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("--max-body-bytes must be at least 1024"))
	}
	if c.LoginPerIPPerMinute < 1 || c.LoginPerAccount < 1 {
		errs = append(errs, errors.New("login rate limits must be at least 1 per minute"))
	}
	if err := checkTemplate(c.GatewayUpstreamTemplate, true); err != nil {
		errs = append(errs, fmt.Errorf("--gateway-upstream-template: %w", err))
	}
	if c.GatewayKEDAInterceptor != "" {
		if err := checkTemplate(c.GatewayKEDAInterceptor, false); err != nil {
			errs = append(errs, fmt.Errorf("--gateway-keda-interceptor: %w", err))
		}
		if !strings.Contains(c.GatewayKEDAHostTemplate, "{namespace}") && !strings.Contains(c.GatewayKEDAHostTemplate, "{workspace}") {
			errs = append(errs, errors.New("--gateway-keda-host-template must contain {namespace} or {workspace}"))
		}
	}
	if c.GatewayMaxBodyBytes < 1024 {
		errs = append(errs, errors.New("--gateway-max-body-bytes must be at least 1024"))
	}
	if c.GatewayRequestsPerMin < 1 {
		errs = append(errs, errors.New("--gateway-requests-per-minute must be at least 1"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--gateway-header-timeout", c.GatewayHeaderTimeout}, {"--gateway-idle-timeout", c.GatewayIdleTimeout},
		{"--gateway-body-timeout", c.GatewayBodyTimeout}, {"--gateway-usage-flush", c.GatewayUsageFlush}} {
		if d.v < time.Second {
			errs = append(errs, fmt.Errorf("%s must be at least 1s", d.name))
		}
	}
	if c.MaxAPITokensPerUser < 1 {
		errs = append(errs, errors.New("--max-api-tokens-per-user must be at least 1"))
	}
	return errors.Join(errs...)
}

// checkTemplate checks an upstream URL (template): absolute http(s), and
// for a template, naming the workspace somewhere.
func checkTemplate(t string, template bool) error {
	if template && !strings.Contains(t, "{namespace}") && !strings.Contains(t, "{workspace}") {
		return errors.New("must contain {namespace} or {workspace}")
	}
	probe := strings.NewReplacer("{namespace}", "ns", "{workspace}", "ws").Replace(t)
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", t)
	}
	return nil
}

// Default returns the configuration kong would produce with no flags or
// environment, for tests and tools that build a Config in code.
func Default() Config {
	return Config{
		Mode: ModeDev, Addr: "127.0.0.1:8080", SQLitePath: "portal.db",
		JWTIssuer: "aichat-portal", JWTAudience: "aichat-portal",
		AccessTTL: 15 * time.Minute, RefreshTTL: 168 * time.Hour, BcryptCost: 12,
		ClaimNamespace: "aichat-workspaces", NamespacePrefix: "aichat-user-", WorkspaceQuota: 3,
		PatternSource: DefaultPatternSource, PatternTTL: 10 * time.Minute,
		MaxBodyBytes: 64 << 10, LoginPerIPPerMinute: 20, LoginPerAccount: 5, LogLevel: "info",
		GatewayUpstreamTemplate: "http://ollama.{namespace}.svc:11434", GatewayKEDAHostTemplate: "ollama.{namespace}.svc",
		GatewayMaxBodyBytes: 32 << 20, GatewayRequestsPerMin: 120, GatewayHeaderTimeout: 5 * time.Minute,
		GatewayIdleTimeout: 2 * time.Minute, GatewayBodyTimeout: 2 * time.Minute, GatewayUsageFlush: 10 * time.Second,
		MaxAPITokensPerUser: 50,
	}
}
