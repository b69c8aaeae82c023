-- 0019: a claimed Idempotency-Key holds a lease (issue 16, item 4). A server that dies between
-- claim and response (or fails to release the key) used to leave the key "in use" for the
-- whole 24-hour retention; now a claim without a stored response whose lease has run out may
-- be claimed again. claim_id tells a claimer whether the row is still its own claim, so a
-- request that outlived its lease cannot overwrite the claim that replaced it.
ALTER TABLE idempotency_keys
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN claim_id uuid;
-- Claims of rows from before this migration: no lease, so they are free once they are old.
UPDATE idempotency_keys SET lease_expires_at = created_at + interval '60 seconds' WHERE status_code IS NULL;
