package storetest

import (
	"net/url"
	"strings"
)

// withDatabase returns connString with its database replaced by db. It
// accepts both URL (postgres://…) and keyword/value (host=… dbname=…)
// forms; in the latter a later keyword overrides an earlier one.
func withDatabase(connString, db string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err == nil {
			u.Path, u.RawPath = "/"+db, ""
			q := u.Query()
			q.Del("dbname")
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db) + "'"
	return strings.TrimSpace(connString) + " dbname=" + quoted
}
