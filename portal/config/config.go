// Package config is the portal's configuration: one struct, filled from flags
// and environment variables (kong reads both from the tags below), checked
// once at start.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
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

	DSN        string `name:"dsn" help:"MySQL/MariaDB DSN (user:pw@tcp(host:3306)/db?parseTime=True). Empty: embedded SQLite at --sqlite-path." env:"PORTAL_DSN"`
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

// Validate checks values kong cannot.
func (c *Config) Validate() error {
	var errs []error
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
	return errors.Join(errs...)
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
	}
}
