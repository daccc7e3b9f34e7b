-- 005_audit_chain: make the audit trail tamper-evident. Each row carries
-- the SHA-256 of the previous row's hash and its own content (computed by
-- internal/store when appending, under an advisory lock so the chain
-- follows id order); `portal audit verify` recomputes the chain and names
-- the first changed, deleted or reordered row. Rows appended before this
-- migration have no hash: the chain starts at the first row that has one.
alter table audit_events add column prev_hash bytea, add column hash bytea;
alter table audit_events add constraint audit_events_hash_check check (
    (hash is null and prev_hash is null) or (length(hash) = 32 and length(prev_hash) = 32));
