package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// GormStore implements Store with GORM.
type GormStore struct {
	db *gorm.DB
}

var _ Store = (*GormStore)(nil)

// Open connects to MySQL/MariaDB when dsn is set and to the SQLite file at
// sqlitePath otherwise. It does not migrate; call Migrate.
func Open(dsn, sqlitePath string, log *slog.Logger) (*GormStore, *gorm.DB, error) {
	cfg := &gorm.Config{
		// Duplicate keys become gorm.ErrDuplicatedKey on both dialects.
		TranslateError: true,
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		// Every statement is already one statement; the default wrapping
		// transaction only costs a round trip.
		SkipDefaultTransaction: true,
		PrepareStmt:            true,
	}
	var (
		db  *gorm.DB
		err error
	)
	if dsn != "" {
		db, err = gorm.Open(mysql.Open(mysqlDSN(dsn)), cfg)
	} else {
		// WAL lets readers run next to the one writer; busy_timeout makes a
		// writer wait instead of failing with "database is locked".
		db, err = gorm.Open(sqlite.Open(sqlitePath+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"), cfg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, err
	}
	if dsn == "" {
		// SQLite has one writer; a single connection serialises writes in
		// Go instead of in lock retries.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	if log != nil {
		kind := "sqlite " + sqlitePath
		if dsn != "" {
			kind = "mysql"
		}
		log.Info("database opened", "kind", kind)
	}
	return &GormStore{db: db}, db, nil
}

// mysqlDSN makes sure times round-trip as time.Time in UTC.
func mysqlDSN(dsn string) string {
	dsn = strings.TrimPrefix(dsn, "mysql://")
	add := func(k, v string) {
		if !strings.Contains(dsn, k+"=") {
			if strings.Contains(dsn, "?") {
				dsn += "&"
			} else {
				dsn += "?"
			}
			dsn += k + "=" + v
		}
	}
	add("parseTime", "True")
	add("loc", "UTC")
	add("charset", "utf8mb4")
	return dsn
}

// New wraps an open database.
func New(db *gorm.DB) *GormStore { return &GormStore{db: db} }

func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrDuplicate
	}
	return err
}

func (s *GormStore) CreateUser(ctx context.Context, u *User) error {
	if u.Role == "" {
		u.Role = RoleUser
	}
	return translate(s.db.WithContext(ctx).Create(u).Error)
}

func (s *GormStore) UserByID(ctx context.Context, id uint64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

func (s *GormStore) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

func (s *GormStore) UpdateUser(ctx context.Context, id uint64, up UserUpdate) (*User, error) {
	set := map[string]any{}
	if up.Name != nil {
		set["name"] = *up.Name
	}
	if up.Role != nil {
		if *up.Role != RoleUser && *up.Role != RoleAdmin {
			return nil, fmt.Errorf("%w: role %q", ErrInvalidOption, *up.Role)
		}
		set["role"] = *up.Role
	}
	if up.PasswordHash != nil {
		set["password_hash"] = *up.PasswordHash
	}
	if up.WorkspaceQuota != nil {
		set["workspace_quota"] = *up.WorkspaceQuota
	}
	if len(set) > 0 {
		set["updated_at"] = time.Now().UTC()
		res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(set)
		if res.Error != nil {
			return nil, translate(res.Error)
		}
	}
	return s.UserByID(ctx, id)
}

func (s *GormStore) ListUsers(ctx context.Context, p Page) ([]User, int64, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 100
	}
	var total int64
	if err := s.db.WithContext(ctx).Model(&User{}).Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var us []User
	err := s.db.WithContext(ctx).Order("id").Limit(p.Limit).Offset(p.Offset).Find(&us).Error
	return us, total, translate(err)
}

func (s *GormStore) CreateRefreshToken(ctx context.Context, t *RefreshToken) error {
	return translate(s.db.WithContext(ctx).Create(t).Error)
}

func (s *GormStore) RefreshTokenByHash(ctx context.Context, hash string) (*RefreshToken, error) {
	var t RefreshToken
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&t).Error; err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

func (s *GormStore) RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken, now time.Time) (*RefreshToken, error) {
	old, err := s.RefreshTokenByHash(ctx, oldHash)
	if err != nil {
		return nil, err
	}
	if old.RevokedAt != nil {
		// Replay of a rotated token: someone else holds a copy. The revocation
		// must be committed, so it happens outside any transaction that the
		// error would roll back.
		if err := s.RevokeFamily(ctx, old.FamilyID, now); err != nil {
			return nil, err
		}
		return old, ErrTokenReused
	}
	if !now.Before(old.ExpiresAt) {
		return old, ErrTokenExpired
	}
	raced := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The conditional update makes two concurrent refreshes of the same
		// token race for one row: exactly one wins.
		res := tx.Model(&RefreshToken{}).Where("id = ? AND revoked_at IS NULL", old.ID).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			raced = true
			return ErrTokenReused
		}
		next.UserID, next.FamilyID = old.UserID, old.FamilyID
		return tx.Create(next).Error
	})
	if raced {
		if err := s.RevokeFamily(ctx, old.FamilyID, now); err != nil {
			return nil, err
		}
		return old, ErrTokenReused
	}
	return old, translate(err)
}

func (s *GormStore) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&RefreshToken{}).
		Where("family_id = ? AND revoked_at IS NULL", familyID).Update("revoked_at", now).Error
}

func (s *GormStore) RevokeUserTokens(ctx context.Context, userID uint64, now time.Time) error {
	return s.db.WithContext(ctx).Model(&RefreshToken{}).
		Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now).Error
}

func (s *GormStore) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

func (s *GormStore) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func (s *GormStore) CreateAPIToken(ctx context.Context, t *APIToken) error {
	return translate(s.db.WithContext(ctx).Create(t).Error)
}

func (s *GormStore) APITokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	var t APIToken
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&t).Error; err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

func (s *GormStore) ListAPITokens(ctx context.Context, userID uint64) ([]APIToken, error) {
	q := s.db.WithContext(ctx).Order("id DESC")
	if userID != 0 {
		q = q.Where("user_id = ?", userID)
	}
	var ts []APIToken
	return ts, translate(q.Find(&ts).Error)
}

func (s *GormStore) CountActiveAPITokens(ctx context.Context, userID uint64, now time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&APIToken{}).
		Where("user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", userID, now).Count(&n).Error
	return n, err
}

func (s *GormStore) RevokeAPIToken(ctx context.Context, userID, id uint64, now time.Time) error {
	// Scoping the update by user makes another user's id indistinguishable
	// from a missing one.
	res := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ? AND user_id = ?", id, userID).
		Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", now))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		// MySQL counts changed rows only; an already revoked token of the
		// user is still found.
		var n int64
		if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ? AND user_id = ?", id, userID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
	}
	return nil
}

func (s *GormStore) AddAPITokenUsage(ctx context.Context, usage []TokenUsage) error {
	if len(usage) == 0 {
		return nil
	}
	// One transaction per batch: one fsync instead of one per token.
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, u := range usage {
			err := tx.Model(&APIToken{}).Where("id = ?", u.TokenID).Updates(map[string]any{
				"requests":      gorm.Expr("requests + ?", u.Requests),
				"prompt_tokens": gorm.Expr("prompt_tokens + ?", u.PromptTokens),
				"eval_tokens":   gorm.Expr("eval_tokens + ?", u.EvalTokens),
				"last_used_at":  u.LastUsedAt.UTC(),
			}).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
}
