package controlplane

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Leftover processes are worse than a failed test: they hold ports and
// memory on a machine shared with other workers. Stop ends every process;
// Pdeathsig covers the processes the harness starts itself when the test
// binary dies abruptly (a `go test -timeout` panic skips all cleanups), but
// envtest starts etcd and kube-apiserver without it. So every control plane
// records its owner and its processes in its directory, and Start kills
// whatever a dead owner left behind.
//
// A process is named by its pid and its start time (/proc/<pid>/stat field
// 22), so a reused pid is never mistaken for a recorded process.

const dirPrefix = "aichat-controlplane-"

type procID struct {
	pid   int
	start string
}

func (p procID) String() string { return fmt.Sprintf("%d %s", p.pid, p.start) }

// identify returns the procID of a live process.
func identify(pid int) (procID, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procID{}, false
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, start time field 22.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procID{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" {
		return procID{}, false
	}
	return procID{pid: pid, start: f[19]}, true
}

func alive(id procID) bool {
	cur, ok := identify(id.pid)
	return ok && cur.start == id.start
}

func writeOwner(dir string) error {
	me, ok := identify(os.Getpid())
	if !ok {
		return fmt.Errorf("cannot read /proc/%d/stat", os.Getpid())
	}
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(me.String()+"\n"), 0o644)
}

// recordPID notes a process of this control plane in dir/pids.
func recordPID(dir string, pid int) {
	id, ok := identify(pid)
	if !ok {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "pids"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		slog.Warn("cannot record pid", "pid", pid, "error", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, id.String())
}

// recordChildren records the children of this process whose command line
// mentions one of marks (envtest's etcd data dir and kube-apiserver
// certificate dir are unique to one control plane).
func recordChildren(dir string, marks ...string) {
	me := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != me {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, m := range marks {
			if m != "" && bytes.Contains(cmdline, []byte(m)) {
				recordPID(dir, pid)
				break
			}
		}
	}
}

func readIDs(path string) []procID {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ids []procID
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil {
			ids = append(ids, procID{pid: pid, start: f[1]})
		}
	}
	return ids
}

// killRecorded kills the recorded processes of dir that still run.
func killRecorded(dir string) int {
	n := 0
	for _, id := range readIDs(filepath.Join(dir, "pids")) {
		if alive(id) {
			_ = syscall.Kill(id.pid, syscall.SIGKILL)
			n++
		}
	}
	return n
}

// reapOrphans kills the processes of control planes whose test binary is
// gone and removes their directories.
func reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		owners := readIDs(filepath.Join(d, "owner"))
		if len(owners) != 1 || alive(owners[0]) {
			continue // running, or just being created
		}
		if n := killRecorded(d); n > 0 {
			slog.Warn("killed processes left behind by a dead test binary", "dir", d, "processes", n)
		}
		_ = os.RemoveAll(d)
	}
}

// controlPlaneDir returns the directory of a new control plane: a fresh
// temporary one, or dataDir made ready for this process. A dataDir whose
// recorded owner still runs is in use; one whose owner died (killed
// without Stop) has its leftover processes killed first, as reapOrphans
// does for temporary directories.
func controlPlaneDir(dataDir string) (string, error) {
	if dataDir == "" {
		return os.MkdirTemp("", dirPrefix)
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if owners := readIDs(filepath.Join(dir, "owner")); len(owners) == 1 && alive(owners[0]) {
		return "", fmt.Errorf("%s is in use by process %d: stop it first", dir, owners[0].pid)
	}
	if n := killRecorded(dir); n > 0 {
		slog.Warn("killed processes left behind by a previous run", "dir", dir, "processes", n)
	}
	if err := os.Remove(filepath.Join(dir, "pids")); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	return dir, nil
}
