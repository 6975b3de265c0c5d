package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// EnvMySQLDSN names a MySQL/MariaDB server to use instead of starting one:
// a DSN with a user allowed to create and drop databases, e.g.
// root@tcp(127.0.0.1:3306)/.
const EnvMySQLDSN = "AICHAT_TEST_MYSQL_DSN"

// MariaDB is a server private to this test process: its own data
// directory and a unix socket, no TCP port, so parallel test processes never
// collide.
type MariaDB struct {
	dir    string
	socket string
	cmd    *exec.Cmd
	exited <-chan struct{}
}

var (
	serverMu sync.Mutex
	server   *MariaDB
	baseDSN  string
	startErr error // a failed start is not retried by every test
)

// StartMariaDB initialises a data directory and starts mariadbd on it.
func StartMariaDB(ctx context.Context) (*MariaDB, error) {
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		mariadbd = "/usr/sbin/mariadbd"
		if _, err := os.Stat(mariadbd); err != nil {
			return nil, errors.New("mariadbd not found (apt-get install -y mariadb-server)")
		}
	}
	installDB, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return nil, errors.New("mariadb-install-db not found (apt-get install -y mariadb-server)")
	}
	dir, err := os.MkdirTemp("", "portal-mariadb-")
	if err != nil {
		return nil, err
	}
	m := &MariaDB{dir: dir, socket: filepath.Join(dir, "mysqld.sock")}
	data := filepath.Join(dir, "data")
	var userArgs []string
	if os.Geteuid() == 0 {
		// mariadbd refuses to run as root; hand the directory to mysql.
		u, err := user.Lookup("mysql")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the mysql system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		userArgs = []string{"--user=mysql"}
	}
	// "normal" root authentication: root@localhost with an empty password,
	// reachable only through this private socket.
	install := exec.CommandContext(ctx, installDB, append(userArgs, "--datadir="+data,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve")...)
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %w: %s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "mariadbd.log"))
	if err != nil {
		return nil, err
	}
	// --no-defaults must come first: the machine's my.cnf is not ours.
	m.cmd = exec.Command(mariadbd, append([]string{"--no-defaults"}, append(userArgs, "--datadir="+data, "--socket="+m.socket,
		"--skip-networking", "--skip-name-resolve", "--skip-log-bin", "--pid-file="+filepath.Join(dir, "mariadbd.pid"),
		"--innodb-buffer-pool-size=128M", "--max-connections=500", "--log-error="+filepath.Join(dir, "error.log"),
		// Test data need not survive a power cut; skipping fsyncs makes DDL fast.
		"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--sync-binlog=0")...)...)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(exited) }()
	m.exited = exited
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err = db.PingContext(ctx); err == nil {
			return m, nil
		}
		select {
		case <-exited:
			err = errors.New("mariadbd exited")
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil || err.Error() == "mariadbd exited" {
			m.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("mariadbd did not accept connections: %w\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DSN of database db on this server (db may be empty).
func (m *MariaDB) DSN(db string) string {
	return "root@unix(" + m.socket + ")/" + db + "?parseTime=True&loc=UTC&charset=utf8mb4"
}

// Stop ends the server and removes its data.
func (m *MariaDB) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Signal(syscall.SIGTERM) // mariadbd ignores SIGINT
		select {
		case <-m.exited:
		case <-time.After(15 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
	_ = os.RemoveAll(m.dir)
}

// MySQLServer returns the DSN (without database) of the server tests use:
// AICHAT_TEST_MYSQL_DSN when set, otherwise a private MariaDB started once
// per test process (stop it with StopMySQL from TestMain).
func MySQLServer(ctx context.Context) (string, error) {
	serverMu.Lock()
	defer serverMu.Unlock()
	if baseDSN != "" || startErr != nil {
		return baseDSN, startErr
	}
	if dsn := os.Getenv(EnvMySQLDSN); dsn != "" {
		baseDSN = dsn
		return baseDSN, nil
	}
	m, err := StartMariaDB(ctx)
	if err != nil {
		startErr = err
		return "", err
	}
	server, baseDSN = m, m.DSN("")
	return baseDSN, nil
}

// StopMySQL stops the private server, if one was started.
func StopMySQL() {
	serverMu.Lock()
	defer serverMu.Unlock()
	if server != nil {
		server.Stop()
		server, baseDSN = nil, ""
	}
}

// NewDatabase creates an empty database on the server and returns its DSN.
func NewDatabase(ctx context.Context, serverDSN string) (dsn string, drop func(), err error) {
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		return "", nil, fmt.Errorf("bad %s: %w", EnvMySQLDSN, err)
	}
	cfg.DBName = ""
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return "", nil, err
	}
	name := "portal_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("cannot create a test database: %w", err)
	}
	cfg.DBName = name
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	return cfg.FormatDSN(), func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
		db.Close()
	}, nil
}

// MySQL gives the test a fresh database and returns its DSN; the database
// is dropped when the test ends. Without a server it fails in CI and skips
// elsewhere.
func MySQL(t testing.TB) string {
	t.Helper()
	srv, err := MySQLServer(context.Background())
	if err != nil {
		Unavailable(t, "no MySQL/MariaDB for tests: %v (set %s or install mariadb-server)", err, EnvMySQLDSN)
	}
	dsn, drop, err := NewDatabase(context.Background(), srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return dsn
}
