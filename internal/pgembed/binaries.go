package pgembed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrBinariesNotFound reports that the PostgreSQL server programs could not be
// found. Its text names the package to install.
var ErrBinariesNotFound = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or /usr/lib/postgresql/*/bin: install Debian's postgresql package (apt-get install postgresql) or set DATABASE_URL")

// debianBinGlob is where Debian and Ubuntu install the server programs.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// serverPrograms are the programs a cluster needs, all from one directory.
var serverPrograms = []string{"initdb", "pg_ctl", "postgres"}

// findBinDir returns the directory holding initdb, pg_ctl and postgres.
// An explicit binDir must hold all three. Otherwise the directory of initdb
// found in pathList (with symlinks resolved) is used, then the highest
// version matching glob.
func findBinDir(binDir, pathList, glob string) (string, error) {
	if binDir != "" {
		if missing := missingPrograms(binDir); len(missing) > 0 {
			return "", fmt.Errorf("%w (BinDir %s lacks %s)", ErrBinariesNotFound, binDir, strings.Join(missing, ", "))
		}
		return binDir, nil
	}
	if dir, ok := fromPath(pathList); ok {
		return dir, nil
	}
	for _, dir := range globByVersion(glob) {
		if len(missingPrograms(dir)) == 0 {
			return dir, nil
		}
	}
	return "", ErrBinariesNotFound
}

// fromPath looks initdb up in pathList and returns its real directory if
// pg_ctl and postgres sit beside it.
func fromPath(pathList string) (string, bool) {
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "initdb")
		if !isExecutable(p) {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		realDir := filepath.Dir(real)
		if len(missingPrograms(realDir)) == 0 {
			return realDir, true
		}
		if len(missingPrograms(dir)) == 0 {
			return dir, true
		}
	}
	return "", false
}

// globByVersion returns the directories matching glob, highest numeric
// version component first (e.g. /usr/lib/postgresql/16/bin before 15).
func globByVersion(glob string) []string {
	dirs, err := filepath.Glob(glob)
	if err != nil {
		return nil
	}
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

// missingPrograms lists the server programs that dir lacks.
func missingPrograms(dir string) []string {
	var missing []string
	for _, name := range serverPrograms {
		if !isExecutable(filepath.Join(dir, name)) {
			missing = append(missing, name)
		}
	}
	return missing
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// program returns the path of a server program in the cluster's bin dir.
func (c *Cluster) program(name string) string {
	return filepath.Join(c.binDir, name)
}
