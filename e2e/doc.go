// Package e2e holds the portal's end-to-end tests: they build the portal
// binary, run it against a private PostgreSQL cluster (or a fresh database on
// TEST_DATABASE_URL) and drive Debian's Chromium through it with chromedp.
//
// The tests live in _test.go files; this file only names the package so that
// `go build ./...` and `go vet ./...` see it. Screenshots of every step are
// written to e2e/out/<TestName>/ (git-ignored).
package e2e
