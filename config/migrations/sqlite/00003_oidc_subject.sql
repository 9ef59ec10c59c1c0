-- +goose Up
-- Users who log in through OpenID Connect are linked to the identity
-- provider's subject in a column of their own (before, a marker stood in
-- the password hash).
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
UPDATE users SET oidc_subject = password_hash, password_hash = '' WHERE password_hash LIKE 'oidc$%';
CREATE UNIQUE INDEX users_oidc_subject ON users(oidc_subject);

-- +goose Down
UPDATE users SET password_hash = oidc_subject WHERE oidc_subject IS NOT NULL;
DROP INDEX users_oidc_subject;
ALTER TABLE users DROP COLUMN oidc_subject;
