// Package static embeds the portal's CSS, JavaScript and images and names
// them with content hashes so browsers may cache them for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed css js img vendor
var files embed.FS

// FS is the embedded asset tree.
var FS fs.FS = files

// versions maps an asset path to the first 10 hex digits of its SHA-256,
// computed once at start-up from the embedded (immutable) files.
var versions = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:])[:10]
		return nil
	})
	return m
}()

// Path returns the cache-busted URL of an asset, e.g. /static/css/app.css?v=1a2b3c4d5e.
func Path(name string) string {
	return "/static/" + name + "?v=" + versions[name]
}

// Handler serves the assets under /static/. A request carrying the
// current version may be cached for a year; anything else must revalidate.
func Handler() http.Handler {
	fileServer := http.StripPrefix("/static/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		v, ok := versions[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == v {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fileServer.ServeHTTP(w, r)
	})
}
