-- 0001: shared building blocks for later tables.
-- Migrations are forward only: never edit an applied file (its checksum is recorded and a
-- change stops startup); add a new numbered file instead. Each file runs in one transaction,
-- so it must not contain BEGIN/COMMIT or statements that cannot run in a transaction.

-- Keeps updated_at honest on every UPDATE, whoever writes the row.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
