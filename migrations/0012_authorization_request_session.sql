-- The browser session an authorization request belongs to (against session fixation): approve
-- and deny must come with this session's cookie, and signing in gives the request a new handle,
-- so a handle planted in a victim's browser before sign-in is worthless after it.
ALTER TABLE oauth_authorization_requests
    ADD COLUMN session_hash bytea;
