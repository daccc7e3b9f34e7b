package pgembed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs is the unprivileged account the server programs run as when this
// process is root (initdb and postgres refuse to run as root). A nil *runAs
// means "run as this process's own user".
type runAs struct {
	name string
	uid  uint32
	gid  uint32
}

// chooseRunAs picks the account for the server when running as root: the
// owner of an existing data directory if that is not root, else the
// "postgres" system user, else "nobody". It returns nil when not root.
func chooseRunAs(euid int, dataDir string) (*runAs, error) {
	if euid != 0 {
		return nil, nil
	}
	if fi, err := os.Stat(dataDir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			name := strconv.FormatUint(uint64(st.Uid), 10)
			if u, err := user.LookupId(name); err == nil {
				name = u.Username
			}
			return &runAs{name: name, uid: st.Uid, gid: st.Gid}, nil
		}
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &runAs{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, but neither a \"postgres\" nor a \"nobody\" user exists to run PostgreSQL as: create a postgres system user or run portal as a non-root user")
}

// credential returns the SysProcAttr that runs a child as r (no
// supplementary groups), or nil when r is nil.
func (r *runAs) credential() *syscall.SysProcAttr {
	if r == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: []uint32{}}}
}

// chown gives path to r; a no-op when r is nil.
func (r *runAs) chown(path string) error {
	if r == nil {
		return nil
	}
	if err := os.Lchown(path, int(r.uid), int(r.gid)); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, r.name, err)
	}
	return nil
}

// mkdirOwned creates dir (if missing) with mode 0700, owned by r.
func (r *runAs) mkdirOwned(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return r.chown(dir)
}

// writeFileOwned writes a 0600 file owned by r.
func (r *runAs) writeFileOwned(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return r.chown(path)
}

// checkTraversable verifies that r can reach dir: every existing ancestor
// of dir must be searchable by r's uid or primary gid. It ignores ACLs.
func (r *runAs) checkTraversable(dir string) error {
	if r == nil {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := r.canSearch(p); err != nil {
			return fmt.Errorf("data directory %s is not reachable by user %q (uid %d), which PostgreSQL must run as because portal runs as root: %w; "+
				"fix: put the data directory where that user can reach it (e.g. under /var/lib/portal or /srv), "+
				"or grant search permission (chmod o+x %s), or run portal as a non-root user", dir, r.name, r.uid, err, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (r *runAs) canSearch(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // will be created by us below a reachable parent
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := fi.Mode().Perm()
	var bit fs.FileMode
	switch {
	case st.Uid == r.uid:
		bit = 0o100
	case st.Gid == r.gid:
		bit = 0o010
	default:
		bit = 0o001
	}
	if mode&bit == 0 {
		return fmt.Errorf("%s (mode %04o, owner uid %d) is not searchable by it", dir, mode, st.Uid)
	}
	return nil
}
