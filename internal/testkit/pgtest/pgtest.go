package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/internal/testkit/daemon"
)

// EnvDSN names a PostgreSQL to use instead of starting one. Its user must
// be allowed to create databases.
const EnvDSN = "MMSPROFILE_TEST_POSTGRES"

// ErrNotInstalled is returned by Start when no PostgreSQL is installed.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL not installed (apt-get install postgresql)")

// Server is one PostgreSQL instance for a test run. Every test takes a
// fresh database of its own from NewDatabase.
type Server struct {
	admin string // DSN of a database to run CREATE DATABASE from

	// Set only for a server this package started.
	dir  string // temp dir: data/, log, and the socket
	bin  string // directory of initdb, pg_ctl, postgres
	port int
	cred *syscall.Credential // the postgres user when running as root

	mu      sync.Mutex
	seq     int
	created []string // databases made on an external server, dropped by Close
}

// Start returns a running server: the one MMSPROFILE_TEST_POSTGRES names,
// or a new one in a temp dir. It never uses Debian's system cluster.
func Start(ctx context.Context) (*Server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		s := &Server{admin: dsn}
		if err := s.ping(ctx); err != nil {
			return nil, fmt.Errorf("pgtest: %s: %w", EnvDSN, err)
		}
		return s, nil
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root, and postgres with it.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(s.dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	// fsync off and no WAL sync: the data is thrown away after the run.
	if out, err := s.run(ctx, "initdb", "-D", s.data(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-sync", "--locale=C.UTF-8"); err != nil {
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// A free port can be taken between our probe and postgres binding it;
	// try a few.
	for range 5 {
		var ports []int
		if ports, err = daemon.FreePorts(1); err != nil {
			err = fmt.Errorf("pgtest: %w", err)
			break
		}
		s.port = ports[0]
		s.admin = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
		if err = s.Restart(ctx); err == nil {
			break
		}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// StartT starts a server for t and stops it when t ends. Without
// PostgreSQL it skips t, except under CI=true, where it fails.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start(t.Context())
	if errors.Is(err, ErrNotInstalled) {
		daemon.Require(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Port returns the port of a server this package started, 0 otherwise.
func (s *Server) Port() int { return s.port }

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	s.mu.Lock()
	s.seq++
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), s.seq)
	s.mu.Unlock()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return "", fmt.Errorf("pgtest: new database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: new database: %w", err)
	}
	if s.dir == "" {
		s.mu.Lock()
		s.created = append(s.created, name)
		s.mu.Unlock()
	}
	cfg, err := pgx.ParseConfig(s.admin)
	if err != nil {
		return "", fmt.Errorf("pgtest: new database: %w", err)
	}
	return withDatabase(s.admin, cfg.Database, name), nil
}

// NewDatabaseT is NewDatabase for a test, failing it on error.
func (s *Server) NewDatabaseT(t testing.TB) string {
	t.Helper()
	dsn, err := s.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// withDatabase replaces the database of a URL or key=value DSN.
func withDatabase(dsn, old, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		base, query, _ := strings.Cut(dsn, "?")
		if i := strings.LastIndex(base, "/"); i > strings.Index(base, "//")+1 {
			base = base[:i]
		}
		if query != "" {
			query = "?" + query
		}
		return base + "/" + name + query
	}
	return dsn + " dbname=" + name
}

// Stop shuts the server down, disconnecting every client, as an outage
// would. Only for a server this package started.
func (s *Server) Stop(ctx context.Context) error {
	if s.dir == "" {
		return errors.New("pgtest: cannot stop an external server")
	}
	if out, err := s.run(ctx, "pg_ctl", "stop", "-D", s.data(), "-m", "fast", "-w"); err != nil {
		return fmt.Errorf("pgtest: stop: %w\n%s", err, out)
	}
	return nil
}

// Restart starts a stopped server again on the same port (or restarts a
// running one).
func (s *Server) Restart(ctx context.Context) error {
	if s.dir == "" {
		return errors.New("pgtest: cannot restart an external server")
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", s.port, s.dir)
	out, err := s.run(ctx, "pg_ctl", "restart", "-D", s.data(), "-l", filepath.Join(s.dir, "log"),
		"-w", "-t", "60", "-m", "fast", "-o", opts)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pgtest: start on port %d: %w\n%s\n%s", s.port, err, out, log)
	}
	return s.ping(ctx)
}

// Close stops a server this package started and removes its files, or
// drops the databases made on an external one.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.dir == "" {
		return s.dropCreated(ctx)
	}
	// immediate: nothing in it is worth a checkpoint.
	var err error
	if _, statErr := os.Stat(filepath.Join(s.data(), "postmaster.pid")); statErr == nil {
		if out, stopErr := s.run(ctx, "pg_ctl", "stop", "-D", s.data(), "-m", "immediate", "-w"); stopErr != nil {
			err = fmt.Errorf("pgtest: stop: %w\n%s", stopErr, out)
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

func (s *Server) dropCreated(ctx context.Context) error {
	s.mu.Lock()
	names := s.created
	s.created = nil
	s.mu.Unlock()
	if len(names) == 0 {
		return nil
	}
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return fmt.Errorf("pgtest: drop databases: %w", err)
	}
	defer conn.Close(ctx)
	var errs []error
	for _, name := range names {
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Server) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run runs one of PostgreSQL's programs, as the postgres user when we are
// root.
func (s *Server) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, prog), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	// pg_ctl leaves postgres running with our stdout: without a file here
	// CombinedOutput would wait for it to exit.
	f, err := os.CreateTemp("", "pgtest-out-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return out, err
}

// findBin returns the newest of Debian's /usr/lib/postgresql/N/bin, or
// the directory of initdb on PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", ErrNotInstalled
}
