// Package migrations holds the portal's forward-only, numbered SQL
// migrations (NNN_name.sql, applied in order by internal/store.Migrate with
// jackc/tern). Never edit a migration that has shipped; add a new one.
// Files are text/template sources for tern, so avoid "{{" in SQL.
package migrations

import "embed"

// FS holds the migration files at its root.
//
//go:embed *.sql
var FS embed.FS
