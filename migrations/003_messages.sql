-- 003_messages: the SMD pipeline. Sent and received messages with their
-- status timeline, transport responses (received by TRD, or generated here
-- and delivered to routeRecord endpoints) and dead letters. Jobs live in
-- River's own tables (river_job), migrated by internal/store beside these.

-- How a hosted organisation takes delivery: 'push' opens messages into the
-- portal inbox; 'retrieve' holds them sealed for its clinical software to
-- fetch over SMR (and that software sends the final transport response).
alter table organisations add column delivery_mode text not null default 'push'
    constraint organisations_delivery_mode_check check (delivery_mode in ('push', 'retrieve'));

-- A practitioner's HPI-I, for routing by receiverIndividual and HL7 PRD.
alter table users add column hpii char(16)
    constraint users_hpii_check check (hpii ~ '^800361[0-9]{10}$');
create unique index users_org_hpii_key on users (organisation_id, hpii) where hpii is not null;

-- One row per message per hosted organisation: outbound rows belong to the
-- sender, inbound rows to the receiver. A message between two organisations
-- of this provider has one row of each.
create table messages (
    id                  uuid        primary key,
    organisation_id     uuid        not null references organisations (id) on delete restrict,
    direction           text        not null,
    invocation_id       text        not null,
    sender_org_uri      text        not null,
    receiver_org_uri    text        not null,
    sender_individual   text        not null default '',
    receiver_individual text        not null default '',
    service_category    text        not null,
    -- outbound: queued, sent, delivered, failed.
    -- inbound: received, delivered, held, retrieved, failed.
    status              text        not null,
    status_detail       text        not null default '',
    -- The plaintext payload sealed with AES-GCM under a key derived from the
    -- master secret (AD = message id): outbound before sealing, inbound
    -- after opening. Never stored in the clear.
    payload_enc         bytea,
    payload_size        integer     not null default 0,
    payload_type        text        not null default '',
    -- The SealedMessage XML: outbound once sealed (every retry resends
    -- these bytes, same invocationId), inbound as received.
    sealed              bytea,
    -- outbound: DigestValue of the signature we made (a Success transport
    -- response must echo it); inbound: of the verified signature.
    digest_value        bytea,
    -- outbound: the receiver's SMD endpoint, fixed at sealing; transport
    -- responses are accepted only from a TLS peer certified for its host.
    endpoint_url        text        not null default '',
    -- inbound: the TLS client that delivered it (certificate subject).
    peer                text        not null default '',
    recipient_user_id   uuid        references users (id) on delete set null,
    attempts            integer     not null default 0,
    expires_at          timestamptz not null,
    sent_at             timestamptz,
    final_at            timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint messages_direction_check check (direction in ('outbound', 'inbound')),
    constraint messages_status_check check (
        (direction = 'outbound' and status in ('queued', 'sent', 'delivered', 'failed')) or
        (direction = 'inbound' and status in ('received', 'delivered', 'held', 'retrieved', 'failed'))),
    constraint messages_invocation_id_check check (length(invocation_id) between 1 and 1000),
    constraint messages_uris_check check (
        length(sender_org_uri) between 1 and 1000 and length(receiver_org_uri) between 1 and 1000
        and length(service_category) between 1 and 1000)
);
-- Duplicate detection (SMD.md §1.11): one inbound copy per
-- (senderOrganisation, invocationId); one outbound message per invocationId.
create unique index messages_dedupe_key on messages (direction, sender_org_uri, invocation_id);
create index messages_org_idx on messages (organisation_id, direction, created_at desc);
create trigger messages_set_updated_at before update on messages
    for each row execute function set_updated_at();

-- Each message's status timeline, append-only.
create table message_events (
    id         bigint      generated always as identity primary key,
    message_id uuid        not null references messages (id) on delete cascade,
    at         timestamptz not null default now(),
    status     text        not null,
    detail     text        not null default '',
    constraint message_events_detail_check check (length(detail) <= 2000)
);
create index message_events_message_idx on message_events (message_id, id);

-- Transport responses. 'received': by TRD, about our outbound messages
-- (kept for TRR until removed). 'sent': generated here about an inbound
-- message, one row per routeRecord endpoint, delivered by TRD.
create table transport_responses (
    id              uuid        primary key,
    message_id      uuid        not null references messages (id) on delete cascade,
    organisation_id uuid        not null references organisations (id) on delete restrict,
    direction       text        not null,
    response_id     text        not null,
    source_org_uri  text        not null,
    response_class  text        not null,
    response_code   text        not null,
    message         text        not null,
    digest_value    bytea,
    final           boolean     not null,
    response_time   timestamptz not null,
    -- The TransportResponse element, exclusive-canonical XML.
    xml             bytea       not null,
    -- 'sent' rows: the TRD endpoint and its delivery state.
    endpoint_url    text        not null default '',
    state           text        not null default 'done',
    attempts        integer     not null default 0,
    last_error      text        not null default '',
    -- 'received' rows: TRR retrieval.
    retrieved_at    timestamptz,
    removed_at      timestamptz,
    created_at      timestamptz not null default now(),
    constraint transport_responses_direction_check check (direction in ('received', 'sent')),
    constraint transport_responses_class_check check (
        response_class in ('Success', 'Information', 'Warning', 'Error')),
    constraint transport_responses_state_check check (state in ('pending', 'done', 'failed'))
);
create unique index transport_responses_key on transport_responses (direction, response_id, endpoint_url);
create index transport_responses_message_idx on transport_responses (message_id);
create index transport_responses_pending_idx on transport_responses (endpoint_url, created_at)
    where state = 'pending';
create index transport_responses_trr_idx on transport_responses (organisation_id, created_at)
    where direction = 'received' and removed_at is null;

-- Messages or responses the pipeline gave up on, for an operator to see.
create table dead_letters (
    id              bigint      generated always as identity primary key,
    organisation_id uuid        references organisations (id) on delete restrict,
    message_id      uuid        references messages (id) on delete cascade,
    kind            text        not null,
    reason          text        not null,
    created_at      timestamptz not null default now(),
    resolved_at     timestamptz,
    constraint dead_letters_reason_check check (length(reason) <= 2000)
);
create index dead_letters_open_idx on dead_letters (created_at) where resolved_at is null;
