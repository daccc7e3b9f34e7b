-- 013_operator: the organisation that operates this portal. Trust anchors
-- and CRLs are provider-wide (every hosted organisation's messages are
-- checked against them), so only administrators of an operator
-- organisation may change them; other administrators see them read-only.
-- The first organisation set up is the operator. Forward-only.

alter table organisations add column operator boolean not null default false;

update organisations set operator = true
 where id = (select id from organisations order by created_at, id limit 1);
