package pgembed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

const (
	// port only names the socket file (.s.PGSQL.5432); there is no TCP listener.
	port = 5432
	// maxSocketPath is the longest socket path the kernel accepts
	// (sizeof(sun_path) is 108 including the terminating NUL).
	maxSocketPath = 107
	// superuser is the cluster's bootstrap superuser (initdb -U).
	superuser = "postgres"
	// confFile holds the settings pgembed manages; it is rewritten on
	// every start and included from postgresql.conf.
	confFile    = "portal.conf"
	includeLine = "include_if_exists = '" + confFile + "'"
)

// safeSocketDir matches directories that need no quoting in
// unix_socket_directories (a comma-separated list) or connection strings.
var safeSocketDir = regexp.MustCompile(`^/[A-Za-z0-9/._+@:~-]*$`)

// socketPathFits reports whether dir can hold the server's socket file.
func socketPathFits(dir string) bool {
	return safeSocketDir.MatchString(dir) &&
		len(filepath.Join(dir, fmt.Sprintf(".s.PGSQL.%d", port))) <= maxSocketPath
}

// chooseSocketDir returns DataDir/socket when the socket path fits, else a
// new private directory under os.TempDir() (temp reports true; the caller
// removes it on Stop). Both are mode 0700 and owned by r.
func chooseSocketDir(dataDir string, r *runAs) (dir string, temp bool, err error) {
	dir = filepath.Join(dataDir, "socket")
	if socketPathFits(dir) {
		return dir, false, r.mkdirOwned(dir)
	}
	for _, base := range []string{os.TempDir(), "/tmp"} {
		if !socketPathFits(filepath.Join(base, "portal-pg-0123456789")) {
			continue
		}
		dir, err = os.MkdirTemp(base, "portal-pg-")
		if err != nil {
			return "", false, fmt.Errorf("create socket directory: %w", err)
		}
		if err := r.mkdirOwned(dir); err != nil {
			_ = os.RemoveAll(dir)
			return "", false, err
		}
		return dir, true, nil
	}
	return "", false, fmt.Errorf("no socket directory short enough (%d bytes max) under %s or /tmp: set TMPDIR to a short path", maxSocketPath, os.TempDir())
}

// writeConf writes DataDir/portal.conf and makes sure postgresql.conf
// includes it. Settings: unix socket only (no TCP), in socketDir.
func writeConf(dataDir, socketDir string, ephemeral bool, r *runAs) error {
	var b bytes.Buffer
	b.WriteString("# Managed by portal (internal/pgembed); rewritten on every start.\n")
	set := func(k, v string) { fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(v, "'", "''")) }
	set("listen_addresses", "")
	set("port", fmt.Sprint(port))
	set("unix_socket_directories", socketDir)
	set("unix_socket_permissions", "0700")
	if ephemeral {
		// Throwaway test clusters: durability is not wanted, speed is.
		set("fsync", "off")
		set("synchronous_commit", "off")
		set("full_page_writes", "off")
	}
	if err := r.writeFileOwned(filepath.Join(dataDir, confFile), b.Bytes()); err != nil {
		return err
	}
	return ensureInclude(filepath.Join(dataDir, "postgresql.conf"))
}

// ensureInclude appends the include directive to postgresql.conf once.
func ensureInclude(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read postgresql.conf: %w", err)
	}
	if bytes.Contains(b, []byte(includeLine)) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Added by portal (internal/pgembed).\n%s\n", includeLine)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to postgresql.conf: %w", err)
	}
	return nil
}
