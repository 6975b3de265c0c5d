// Package store persists the portal's users, refresh tokens and API tokens. The Store
// interface is what the HTTP layer depends on; the GORM implementation runs
// on MySQL/MariaDB in production and on an embedded SQLite file otherwise.
package store

import (
	"context"
	"errors"
	"time"
)

// Roles a user can have.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Errors the store returns; the HTTP layer maps them.
var (
	ErrNotFound      = errors.New("not found")
	ErrDuplicate     = errors.New("already exists")
	ErrTokenReused   = errors.New("refresh token reused; its family is revoked")
	ErrTokenExpired  = errors.New("refresh token expired")
	ErrTokenRevoked  = errors.New("refresh token revoked")
	ErrInvalidOption = errors.New("invalid option")
)

// User is an account.
type User struct {
	ID           uint64 `gorm:"primaryKey"`
	Email        string `gorm:"size:254;not null;uniqueIndex"`
	Name         string `gorm:"size:100;not null"`
	PasswordHash string `gorm:"size:100;not null"`
	Role         string `gorm:"size:16;not null;default:user"`
	// WorkspaceQuota overrides the configured default when set.
	WorkspaceQuota *int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RefreshToken is one link of a rotation chain. Only the SHA-256 of the
// token is stored; the family ties every rotation of one login together so a
// replayed token can revoke all of them.
type RefreshToken struct {
	ID        uint64 `gorm:"primaryKey"`
	UserID    uint64 `gorm:"not null;index"`
	FamilyID  string `gorm:"size:32;not null;index"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex"`
	ExpiresAt time.Time
	// RevokedAt is set when the token was rotated, logged out or revoked.
	RevokedAt *time.Time
	CreatedAt time.Time
}

// APIToken is a long-lived credential for the LLM gateway. Only the SHA-256
// of the secret is stored (see auth.NewAPIToken); Prefix is its first
// characters, kept so a user can tell tokens apart. Workspace "" means every
// workspace of the user. Revoked tokens stay (with their usage) until the
// user's history is cleaned up; they never authenticate again.
type APIToken struct {
	ID        uint64 `gorm:"primaryKey"`
	UserID    uint64 `gorm:"not null;index"`
	Name      string `gorm:"size:64;not null"`
	Workspace string `gorm:"size:63;not null;default:''"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex"`
	Prefix    string `gorm:"size:16;not null"`
	ExpiresAt *time.Time
	RevokedAt *time.Time
	// LastUsedAt and the counters are written in batches by the gateway.
	LastUsedAt   *time.Time
	Requests     int64 `gorm:"not null;default:0"`
	PromptTokens int64 `gorm:"not null;default:0"`
	EvalTokens   int64 `gorm:"not null;default:0"`
	CreatedAt    time.Time
}

// TableName pins the table name (GORM would derive "api_tokens" too; the
// migration snapshot must match it).
func (APIToken) TableName() string { return "api_tokens" }

// TokenUsage is usage of one API token to add to its counters.
type TokenUsage struct {
	TokenID      uint64
	Requests     int64
	PromptTokens int64
	EvalTokens   int64
	LastUsedAt   time.Time
}

// UserUpdate changes the fields that are not nil.
type UserUpdate struct {
	Name           *string
	Role           *string
	PasswordHash   *string
	WorkspaceQuota **int
}

// Page selects a slice of a list.
type Page struct {
	Limit  int
	Offset int
}

// Store is the persistence the portal needs.
type Store interface {
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id uint64) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	UpdateUser(ctx context.Context, id uint64, up UserUpdate) (*User, error)
	ListUsers(ctx context.Context, p Page) ([]User, int64, error)

	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// RotateRefreshToken marks the token with oldHash used and stores next in
	// its family. A token that was already used or revoked revokes its whole
	// family and returns ErrTokenReused. It returns the old token's record.
	RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken, now time.Time) (*RefreshToken, error)
	RefreshTokenByHash(ctx context.Context, hash string) (*RefreshToken, error)
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
	RevokeUserTokens(ctx context.Context, userID uint64, now time.Time) error

	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash finds a token by the hash of its secret, revoked and
	// expired ones included: the caller decides and says why.
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// ListAPITokens lists a user's tokens, newest first; userID 0 lists
	// everyone's.
	ListAPITokens(ctx context.Context, userID uint64) ([]APIToken, error)
	// CountActiveAPITokens counts a user's tokens that are neither revoked
	// nor expired at now.
	CountActiveAPITokens(ctx context.Context, userID uint64, now time.Time) (int64, error)
	// RevokeAPIToken revokes the user's token id. Another user's token is
	// ErrNotFound; revoking twice keeps the first time.
	RevokeAPIToken(ctx context.Context, userID, id uint64, now time.Time) error
	// AddAPITokenUsage adds usage to the counters of each token.
	AddAPITokenUsage(ctx context.Context, usage []TokenUsage) error

	Ping(ctx context.Context) error
	Close() error
}
