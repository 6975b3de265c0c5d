// Command portal is the AIChat Workspaces self-service portal.
//
//	portal [serve]                 run the API (default)
//	portal migrate                 apply database migrations and exit
//	portal admin grant EMAIL       make a user an admin
//	portal admin revoke EMAIL      make an admin a user again
//	portal admin create --email E  create an admin with a generated password
//
// Every flag also reads a PORTAL_* environment variable (see --help).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/aichatworkspaces/workspaces/portal/app"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

type cli struct {
	config.Config `embed:""`

	Serve   serveCmd   `cmd:"" default:"1" help:"Run the portal API (default)."`
	Migrate migrateCmd `cmd:"" help:"Apply database migrations and exit."`
	Admin   adminCmd   `cmd:"" help:"Manage admins."`
}

type serveCmd struct{}

func (serveCmd) Run(cfg *config.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, *cfg, app.Options{}, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

type migrateCmd struct{}

func (migrateCmd) Run(cfg *config.Config, log *slog.Logger, out io.Writer) error {
	st, db, applied, err := app.OpenStore(context.Background(), cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := store.SchemaVersion(context.Background(), db)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schema version %d (applied now: %v)\n", v, applied)
	return nil
}

type adminCmd struct {
	Grant  roleCmd        `cmd:"" help:"Give an existing user the admin role."`
	Revoke roleCmd        `cmd:"" help:"Take the admin role away."`
	Create createAdminCmd `cmd:"" help:"Create an admin account and print its generated password."`
}

type roleCmd struct {
	Email string `arg:"" help:"E-mail address of the user."`
}

func openStore(cfg *config.Config, log *slog.Logger) (*store.GormStore, error) {
	st, _, _, err := app.OpenStore(context.Background(), cfg, log)
	return st, err
}

func setRole(cfg *config.Config, log *slog.Logger, out io.Writer, email, role string) error {
	st, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	email, err = auth.NormalizeEmail(email)
	if err != nil {
		return err
	}
	u, err := st.UserByEmail(context.Background(), email)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %s (they must register first, or use `portal admin create`)", email)
	}
	if err != nil {
		return err
	}
	if _, err := st.UpdateUser(context.Background(), u.ID, store.UserUpdate{Role: &role}); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s is now %s (takes effect at their next login or token refresh)\n", email, role)
	return nil
}

func (c roleCmd) Run(cfg *config.Config, log *slog.Logger, out io.Writer, k *kong.Context) error {
	role := store.RoleAdmin
	if k.Selected().Name == "revoke" {
		role = store.RoleUser
	}
	return setRole(cfg, log, out, c.Email, role)
}

type createAdminCmd struct {
	Email string `required:"" help:"E-mail address of the new admin."`
	Name  string `default:"Administrator" help:"Display name."`
}

func (c createAdminCmd) Run(cfg *config.Config, log *slog.Logger, out io.Writer) error {
	st, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	email, err := auth.NormalizeEmail(c.Email)
	if err != nil {
		return err
	}
	pw := rand.Text() // 26 base32 characters, ~130 bits
	h, err := auth.NewHasher(cfg.BcryptCost)
	if err != nil {
		return err
	}
	hash, err := h.Hash(pw)
	if err != nil {
		return err
	}
	if err := st.CreateUser(context.Background(), &store.User{Email: email, Name: c.Name, PasswordHash: hash, Role: store.RoleAdmin}); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("%s exists; use `portal admin grant %s`", email, email)
		}
		return err
	}
	fmt.Fprintf(out, "created admin %s\npassword: %s\n(change it with POST /api/v1/me/password)\n", email, pw)
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

// run parses args and runs the selected command; tests call it directly.
func run(args []string, out io.Writer) error {
	var c cli
	p, err := kong.New(&c, kong.Name("portal"), kong.Description("AIChat Workspaces self-service portal."),
		kong.Vars(config.Vars), kong.BindTo(out, (*io.Writer)(nil)))
	if err != nil {
		return err
	}
	k, err := p.Parse(args)
	if err != nil {
		return err
	}
	log, err := app.Logger(c.LogLevel)
	if err != nil {
		return err
	}
	return k.Run(&c.Config, log, k)
}
