package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// A migration moves the schema one version forward. Each works on its own
// snapshot of the tables (not on the live model structs), so later changes
// to User cannot rewrite history, and each is idempotent: a crash between
// its DDL and the bookkeeping row (MySQL DDL is not transactional) is
// repaired by running it again.
type migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// schemaMigration records an applied migration.
type schemaMigration struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"size:100;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Table snapshots of version 1.
type userV1 struct {
	ID             uint64 `gorm:"primaryKey"`
	Email          string `gorm:"size:254;not null;uniqueIndex:idx_users_email"`
	Name           string `gorm:"size:100;not null"`
	PasswordHash   string `gorm:"size:100;not null"`
	Role           string `gorm:"size:16;not null;default:user"`
	WorkspaceQuota *int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (userV1) TableName() string { return "users" }

type refreshTokenV1 struct {
	ID        uint64     `gorm:"primaryKey"`
	UserID    uint64     `gorm:"not null;index:idx_refresh_tokens_user_id"`
	FamilyID  string     `gorm:"size:32;not null;index:idx_refresh_tokens_family_id"`
	TokenHash string     `gorm:"size:64;not null;uniqueIndex:idx_refresh_tokens_token_hash"`
	ExpiresAt time.Time  `gorm:"not null;index:idx_refresh_tokens_expires_at"`
	RevokedAt *time.Time //
	CreatedAt time.Time
}

func (refreshTokenV1) TableName() string { return "refresh_tokens" }

// Table snapshot of version 2.
type apiTokenV2 struct {
	ID           uint64     `gorm:"primaryKey"`
	UserID       uint64     `gorm:"not null;index:idx_api_tokens_user_id"`
	Name         string     `gorm:"size:64;not null"`
	Workspace    string     `gorm:"size:63;not null;default:''"`
	TokenHash    string     `gorm:"size:64;not null;uniqueIndex:idx_api_tokens_token_hash"`
	Prefix       string     `gorm:"size:16;not null"`
	ExpiresAt    *time.Time //
	RevokedAt    *time.Time //
	LastUsedAt   *time.Time //
	Requests     int64      `gorm:"not null;default:0"`
	PromptTokens int64      `gorm:"not null;default:0"`
	EvalTokens   int64      `gorm:"not null;default:0"`
	CreatedAt    time.Time
}

func (apiTokenV2) TableName() string { return "api_tokens" }

var migrations = []migration{
	{Version: 1, Name: "users and refresh tokens", Up: func(tx *gorm.DB) error {
		for _, t := range []any{&userV1{}, &refreshTokenV1{}} {
			if !tx.Migrator().HasTable(t) {
				if err := tx.Migrator().CreateTable(t); err != nil {
					return err
				}
			}
		}
		return nil
	}},
	{Version: 2, Name: "api tokens", Up: func(tx *gorm.DB) error {
		if tx.Migrator().HasTable(&apiTokenV2{}) {
			return nil
		}
		return tx.Migrator().CreateTable(&apiTokenV2{})
	}},
}

// Migrate applies the migrations not applied yet, in order. Running it again
// (or concurrently from a second replica) does nothing harmful.
func Migrate(ctx context.Context, db *gorm.DB) (applied []int, err error) {
	db = db.WithContext(ctx)
	if !db.Migrator().HasTable(&schemaMigration{}) {
		if err := db.Migrator().CreateTable(&schemaMigration{}); err != nil && !db.Migrator().HasTable(&schemaMigration{}) {
			return nil, fmt.Errorf("cannot create schema_migrations: %w", err)
		}
	}
	var done []schemaMigration
	if err := db.Find(&done).Error; err != nil {
		return nil, fmt.Errorf("cannot read schema_migrations: %w", err)
	}
	have := map[int]bool{}
	for _, m := range done {
		have[m.Version] = true
	}
	for _, m := range migrations {
		if have[m.Version] {
			continue
		}
		if err := m.Up(db); err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		err := db.Create(&schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: time.Now().UTC()}).Error
		if err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) { // another replica recorded it first
			return applied, fmt.Errorf("cannot record migration %d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// SchemaVersion is the highest applied migration.
func SchemaVersion(ctx context.Context, db *gorm.DB) (int, error) {
	var v *int
	if err := db.WithContext(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}
