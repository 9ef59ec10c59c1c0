-- +goose Up
-- An API token has a scope: "api" (the whole API, as the user) or "kiosk"
-- (only the wallboard and its live feed, for a TV that keeps the token in
-- a cookie). Existing tokens keep the whole API.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'api' CHECK (scope IN ('api', 'kiosk'));

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN scope;
