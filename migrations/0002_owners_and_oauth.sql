-- 0002: lock owners and the OAuth 2.0 authorization server (contract sections 2 and 3).
-- Every token, code, session id and client secret is stored only as a SHA-256 hash (they are
-- 256-bit random values, so a fast hash is enough); passwords use bcrypt.

CREATE TABLE owners (
    owner_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT owners_email_key UNIQUE (email)
);
CREATE TRIGGER owners_updated_at BEFORE UPDATE ON owners FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE oauth_clients (
    client_id     text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    secret_salt   bytea NOT NULL,
    secret_hash   bytea NOT NULL,
    redirect_uris text[] NOT NULL CHECK (cardinality(redirect_uris) >= 1),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A browser's signed-in session on the authorization pages.
CREATE TABLE oauth_sessions (
    session_hash bytea PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES owners ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX oauth_sessions_expires_at ON oauth_sessions (expires_at);

-- An authorization request between GET /oauth/authorize and the owner's decision. The
-- browser holds its handle in a cookie; the forms carry a CSRF token bound to it.
CREATE TABLE oauth_authorization_requests (
    handle_hash    bytea PRIMARY KEY,
    csrf_hash      bytea NOT NULL,
    client_id      text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    scope          text NOT NULL,
    state          text,
    code_challenge text,
    force_login    boolean NOT NULL,
    owner_id       uuid REFERENCES owners ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oauth_authorization_requests_expires_at ON oauth_authorization_requests (expires_at);

CREATE TABLE oauth_authorization_codes (
    code_hash      bytea PRIMARY KEY,
    client_id      text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    owner_id       uuid NOT NULL REFERENCES owners ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    scope          text NOT NULL,
    code_challenge text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    consumed_at    timestamptz
);

-- One grant per successful code exchange: the owner's consent to the client, with the refresh
-- token that keeps it alive. Revoking the grant revokes every access token issued under it.
CREATE TABLE oauth_grants (
    grant_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id          text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    owner_id           uuid NOT NULL REFERENCES owners ON DELETE CASCADE,
    scope              text NOT NULL,
    code_hash          bytea NOT NULL,
    refresh_token_hash bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_used_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    CONSTRAINT oauth_grants_refresh_token_hash_key UNIQUE (refresh_token_hash)
);
CREATE INDEX oauth_grants_code_hash ON oauth_grants (code_hash);
CREATE INDEX oauth_grants_owner_client ON oauth_grants (owner_id, client_id) WHERE revoked_at IS NULL;

CREATE TABLE oauth_access_tokens (
    token_hash bytea PRIMARY KEY,
    grant_id   uuid NOT NULL REFERENCES oauth_grants ON DELETE CASCADE,
    scope      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX oauth_access_tokens_grant ON oauth_access_tokens (grant_id);
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);

-- Failed sign-ins, by account (email) and by client address, for throttling.
CREATE TABLE sign_in_failures (
    subject   text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_subject_time ON sign_in_failures (subject, failed_at);
