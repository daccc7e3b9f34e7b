-- 009_mailbox: the clinical side of messages for the portal. Each message
-- row may have one document row saying what it is (referral, report, ...),
-- its patient and subject (sealed), who composed or reads it, and the
-- receiver's clinical answers (HL7 ACK, read acknowledgement, RRI^I12).
-- Drafts hold a form being composed. Forward-only.

create table documents (
    message_id       uuid        primary key references messages (id) on delete cascade,
    organisation_id  uuid        not null references organisations (id) on delete restrict,
    -- referral (REF^I12), report (ORU^R01), cda (MDM^T02), ack (HL7 ACK),
    -- read_ack (user read acknowledgement), referral_response (RRI^I12),
    -- other (a payload the portal does not interpret).
    kind             text        not null,
    -- MSH-10 of the HL7 message; answers name it in MSA-2.
    hl7_control_id   text        not null default '',
    -- JSON (mailbox.Summary: patient, subject, names, urgency) sealed with
    -- AES-GCM under a key derived from the master secret, AD =
    -- "documents/" + message_id. Patient details are never stored in clear.
    summary_enc      bytea,
    -- Outbound: who composed it (and for whom, when on behalf of).
    author_user_id   uuid        references users (id) on delete set null,
    -- Answers (ack, read_ack, referral_response): the message of this
    -- organisation they answer.
    answers          uuid        references messages (id) on delete set null,
    -- Inbound: first opened, by whom; practitioner it is assigned to;
    -- archived out of the inbox.
    read_at          timestamptz,
    read_by          uuid        references users (id) on delete set null,
    assigned_user_id uuid        references users (id) on delete set null,
    archived_at      timestamptz,
    -- Outbound: the receiver's latest clinical answer and when it came.
    -- Inbound: the answer this organisation sent (accepted, declined,
    -- more_info).
    clinical_status  text        not null default '',
    clinical_detail  text        not null default '',
    clinical_at      timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint documents_kind_check check (
        kind in ('referral', 'report', 'cda', 'ack', 'read_ack', 'referral_response', 'other')),
    constraint documents_clinical_status_check check (
        clinical_status in ('', 'acknowledged', 'rejected', 'read', 'accepted', 'declined', 'more_info')),
    constraint documents_text_check check (length(hl7_control_id) <= 200 and length(clinical_detail) <= 2000)
);
create index documents_org_kind_idx on documents (organisation_id, kind, created_at desc);
create index documents_control_id_idx on documents (organisation_id, hl7_control_id) where hl7_control_id <> '';
create index documents_answers_idx on documents (answers) where answers is not null;
create trigger documents_set_updated_at before update on documents
    for each row execute function set_updated_at();

-- A message being composed. form_enc is the form as JSON, sealed (AD =
-- "drafts/" + id); attachments are sealed one per row (AD =
-- "draft_attachments/" + id).
create table drafts (
    id              uuid        primary key default gen_random_uuid(),
    organisation_id uuid        not null references organisations (id) on delete cascade,
    author_user_id  uuid        not null references users (id) on delete cascade,
    kind            text        not null,
    form_enc        bytea       not null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint drafts_kind_check check (kind in ('referral', 'report', 'cda'))
);
create index drafts_org_idx on drafts (organisation_id, updated_at desc);
create trigger drafts_set_updated_at before update on drafts
    for each row execute function set_updated_at();

create table draft_attachments (
    id           uuid        primary key default gen_random_uuid(),
    draft_id     uuid        not null references drafts (id) on delete cascade,
    filename     text        not null,
    content_type text        not null,
    size         integer     not null,
    data_enc     bytea       not null,
    created_at   timestamptz not null default now(),
    constraint draft_attachments_filename_check check (length(filename) between 1 and 255),
    constraint draft_attachments_content_type_check check (length(content_type) between 1 and 100),
    constraint draft_attachments_size_check check (size > 0)
);
create index draft_attachments_draft_idx on draft_attachments (draft_id, created_at);
alter table draft_attachments alter column data_enc set storage external;
