package migrations_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	orgA = "a0000000-0000-0000-0000-000000000001"
	orgB = "b0000000-0000-0000-0000-000000000002"
	usrA = "a0000000-0000-0000-0000-0000000000a1"
)

// seed inserts two organisations and one user with recovery codes, a
// session and an audit event.
func seed(t *testing.T) *pgxpool.Pool {
	t.Helper()
	db := storetest.DB(t)
	_, err := db.Exec(t.Context(), `
		insert into organisations (id, name, hpio) values
			('`+orgA+`', 'Clinic A', '8003621566684455'),
			('`+orgB+`', 'Clinic B', '8003623233370062');
		insert into users (id, organisation_id, email, display_name, role, password_hash)
			values ('`+usrA+`', '`+orgA+`', 'Alice@Example.org', 'Alice', 'admin', '$argon2id$x');
		insert into recovery_codes (user_id, code_hash) values ('`+usrA+`', 'h1');
		insert into sessions (id, user_id, expires_at, ip, user_agent)
			values (repeat('s', 64), '`+usrA+`', now() + interval '1 hour', '192.0.2.1', 'test');
		insert into audit_events (organisation_id, user_id, action, detail, ip)
			values ('`+orgA+`', '`+usrA+`', 'login.success', '{"k":"v"}', '192.0.2.1');`)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return db
}

// TestSchema_Constraints checks that the schema refuses bad rows with the
// expected SQLSTATE and constraint.
func TestSchema_Constraints(t *testing.T) {
	tests := []struct {
		name, sql, code, constraint string
	}{
		{"HPIOPrefix", `insert into organisations (name, hpio) values ('X', '8003611566684455')`, "23514", "organisations_hpio_check"},
		{"HPIODigits", `insert into organisations (name, hpio) values ('X', '800362156668445A')`, "23514", "organisations_hpio_check"},
		{"HPIOUnique", `insert into organisations (name, hpio) values ('X', '8003621566684455')`, "23505", "organisations_hpio_key"},
		{"OrgNameBlank", `insert into organisations (name, hpio) values ('  ', '8003620000000018')`, "23514", "organisations_name_check"},
		{"EmailCaseInsensitiveUnique", `insert into users (organisation_id, email, display_name, role, password_hash)
			values ('` + orgB + `', 'alice@EXAMPLE.org', 'Other', 'clinician', 'h')`, "23505", "users_email_lower_key"},
		{"EmailShape", `insert into users (organisation_id, email, display_name, role, password_hash)
			values ('` + orgB + `', 'not-an-email', 'Bob', 'clinician', 'h')`, "23514", "users_email_check"},
		{"Role", `insert into users (organisation_id, email, display_name, role, password_hash)
			values ('` + orgB + `', 'bob@example.org', 'Bob', 'superuser', 'h')`, "23514", "users_role_check"},
		{"UserNeedsOrganisation", `insert into users (organisation_id, email, display_name, role, password_hash)
			values (gen_random_uuid(), 'bob@example.org', 'Bob', 'clinician', 'h')`, "23503", "users_organisation_id_fkey"},
		{"TOTPEnabledNeedsSecret", `update users set totp_enabled_at = now() where id = '` + usrA + `'`, "23514", "users_totp_check"},
		{"NegativeFailedLogins", `update users set failed_logins = -1 where id = '` + usrA + `'`, "23514", "users_failed_logins_check"},
		{"OrganisationWithUsersNotDeleted", `delete from organisations where id = '` + orgA + `'`, "23503", "users_organisation_id_fkey"},
		{"SessionExpiryAfterCreation", `insert into sessions (id, user_id, created_at, expires_at)
			values (repeat('t', 64), '` + usrA + `', now(), now() - interval '1 second')`, "23514", "sessions_expiry_check"},
		{"SessionIDLength", `insert into sessions (id, user_id, expires_at) values ('short', '` + usrA + `', now() + interval '1 hour')`, "23514", "sessions_id_check"},
		{"AuditAction", `insert into audit_events (action) values ('Login Success')`, "23514", "audit_events_action_check"},
		{"AuditDetailObject", `insert into audit_events (action, detail) values ('x', '[1]')`, "23514", "audit_events_detail_check"},
		{"AuditNoUpdate", `update audit_events set action = 'login.failure'`, "42501", ""},
		{"AuditNoDelete", `delete from audit_events`, "42501", ""},
		{"AuditNoTruncate", `truncate audit_events`, "42501", ""},
		{"AuditCheckSource", `insert into audit_checks (rows, ok, took_ms, source) values (1, true, 0, 'cron')`, "23514", "audit_checks_source_check"},
		{"AuditCheckBrokenNamesRow", `insert into audit_checks (rows, ok, took_ms, source) values (1, false, 0, 'cli')`, "23514", "audit_checks_problem_check"},
		{"AuditCheckOKHasNoProblem", `insert into audit_checks (rows, ok, problem_id, problem, took_ms, source) values (1, true, 1, 'x', 0, 'cli')`, "23514", "audit_checks_problem_check"},
		{"UserWithAuditNotDeleted", `delete from users where id = '` + usrA + `'`, "23503", "audit_events_user_id_fkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := seed(t)
			_, err := db.Exec(t.Context(), tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("got %v, want SQLSTATE %s", err, tt.code)
			}
			if pgErr.Code != tt.code || pgErr.ConstraintName != tt.constraint {
				t.Fatalf("got SQLSTATE %s constraint %q (%s), want %s %q", pgErr.Code, pgErr.ConstraintName, pgErr.Message, tt.code, tt.constraint)
			}
		})
	}
}

func TestSchema_Behaviour(t *testing.T) {
	db := seed(t)
	ctx := t.Context()
	var before, after string
	if err := db.QueryRow(ctx, `select updated_at::text from users where id = $1`, usrA).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `update users set display_name = 'Alice B' where id = $1`, usrA); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `select updated_at::text from users where id = $1`, usrA).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Errorf("updated_at not advanced by the trigger: %s", after)
	}
	// A user without audit events can be deleted; their sessions and
	// recovery codes go with them.
	var uid string
	err := db.QueryRow(ctx, `insert into users (organisation_id, email, display_name, role, password_hash)
		values ($1, 'bob@example.org', 'Bob', 'reception', 'h') returning id`, orgB).Scan(&uid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into sessions (id, user_id, expires_at) values (repeat('b', 64), $1, now() + interval '1 hour');
		`, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into recovery_codes (user_id, code_hash) values ($1, 'h2')`, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `delete from users where id = $1`, uid); err != nil {
		t.Fatalf("delete user without audit events: %v", err)
	}
	var left int
	if err := db.QueryRow(ctx, `select (select count(*) from sessions where user_id = $1) + (select count(*) from recovery_codes where user_id = $1)`, uid).Scan(&left); err != nil || left != 0 {
		t.Errorf("sessions/recovery codes of a deleted user remain: %d (%v)", left, err)
	}
}
