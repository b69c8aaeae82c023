-- Issue 15, items 4 and 6.
--
-- Whether a model can be locked / unlocked from the cloud: the lock's `can_remotely_lock` /
-- `can_remotely_unlock`, and what POST /locks/{id}/actions accepts. Models are data, so this is
-- stored with the model rather than assumed; both demo models can do both.
ALTER TABLE lock_models
    ADD COLUMN supports_remote_lock   boolean NOT NULL DEFAULT true,
    ADD COLUMN supports_remote_unlock boolean NOT NULL DEFAULT true;

-- An authorization request in the older guide's form (only redirect_uri, the client found by
-- it): its code may be redeemed without redirect_uri. Requests and codes in the RFC's form
-- (client_id sent) keep false, so their codes still need redirect_uri at the token endpoint.
ALTER TABLE oauth_authorization_requests
    ADD COLUMN older_guide_form boolean NOT NULL DEFAULT false;
ALTER TABLE oauth_authorization_codes
    ADD COLUMN older_guide_form boolean NOT NULL DEFAULT false;

-- The older guide's GET /authorize finds the client by its redirect URI.
CREATE INDEX oauth_clients_redirect_uris ON oauth_clients USING gin (redirect_uris);
