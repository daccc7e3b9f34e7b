-- 014_audit_checks: results of audit hash-chain verifications. The audit
-- page shows the latest instead of re-hashing the whole provider-wide trail
-- on every load; a periodic job (and `portal audit verify`, and an
-- administrator's "Verify now") adds rows. Forward-only.

create table audit_checks (
    id         bigserial   primary key,
    at         timestamptz not null default now(),
    -- audit_events rows read: the whole trail, or up to the first problem.
    rows       bigint      not null,
    ok         boolean     not null,
    -- The first audit_events row that does not fit, and why.
    problem_id bigint,
    problem    text,
    took_ms    integer     not null,
    source     text        not null,
    constraint audit_checks_rows_check check (rows >= 0),
    constraint audit_checks_took_check check (took_ms >= 0),
    constraint audit_checks_source_check check (source in ('schedule', 'cli', 'admin')),
    constraint audit_checks_problem_check check (ok = (problem_id is null) and ok = (problem is null))
);
