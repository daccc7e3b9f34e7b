-- 004_storage: ciphertext and base64 do not compress; store the large
-- columns out of line without trying (pglz spent more CPU failing to
-- compress them than anything else PostgreSQL did per message).
alter table messages alter column payload_enc set storage external,
    alter column sealed set storage external;
alter table transport_responses alter column xml set storage external;
