-- +goose Up
-- What each organisation may dial (set by a system administrator; the
-- organisation's own admin works inside it), and the installation-wide
-- system administrators who set it.
--   dial_endpoints            JSON list of TECH/resource patterns, e.g. ["PJSIP/guld-*"]
--   dial_trunk                dial string numbers go out through, {number} replaced
--   dial_installation_trunk   numbers may go out through OMSTIL_CALLBACK_ENDPOINT when dial_trunk is empty
--   dial_local_contexts       JSON list of contexts Local/exten@context may enter
--   caller_id                 shown to citizens on callbacks and transfers to numbers
ALTER TABLE organisations ADD COLUMN dial_endpoints TEXT NOT NULL DEFAULT '[]';
ALTER TABLE organisations ADD COLUMN dial_trunk TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN dial_installation_trunk BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE organisations ADD COLUMN dial_local_contexts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE organisations ADD COLUMN caller_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN system_admin BOOLEAN NOT NULL DEFAULT FALSE;

-- An upgraded installation keeps working: its default organisation may
-- dial what omstil dialled before (any PJSIP, SIP, IAX2 or DAHDI endpoint,
-- Local into any context, numbers through OMSTIL_CALLBACK_ENDPOINT).
-- Narrow it (omstil org set --slug default ...) before a second
-- organisation shares the Asterisk. Organisations created later start
-- with nothing allowed. config.UpgradeDialPolicy is the same list.
UPDATE organisations
   SET dial_endpoints = '["PJSIP/*","PJSIP/*@*","SIP/*","SIP/*@*","IAX2/*","IAX2/*@*","DAHDI/*","DAHDI/*/*"]',
       dial_installation_trunk = TRUE,
       dial_local_contexts = '["*"]'
 WHERE slug = 'default';

-- +goose Down
ALTER TABLE users DROP COLUMN system_admin;
ALTER TABLE organisations DROP COLUMN caller_id;
ALTER TABLE organisations DROP COLUMN dial_local_contexts;
ALTER TABLE organisations DROP COLUMN dial_installation_trunk;
ALTER TABLE organisations DROP COLUMN dial_trunk;
ALTER TABLE organisations DROP COLUMN dial_endpoints;
