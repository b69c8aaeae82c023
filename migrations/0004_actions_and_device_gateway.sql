-- 0004: lock and unlock actions, and the command queue of the device gateway (contract 4, 7).

CREATE TABLE lock_actions (
    action_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lock_id       uuid NOT NULL REFERENCES locks,
    owner_id      uuid NOT NULL REFERENCES owners,
    action        text NOT NULL CHECK (action IN ('lock', 'unlock')),
    custom_id     text CHECK (length(custom_id) BETWEEN 1 AND 200),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'failed')),
    error_code    text,
    performed_via text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    -- custom_id makes a request idempotent per lock.
    CONSTRAINT lock_actions_custom_id_key UNIQUE (lock_id, custom_id)
);
CREATE INDEX lock_actions_pending ON lock_actions (created_at) WHERE status = 'pending';

-- What a lock must do next. A lock long-polls for pending commands; a command delivered but
-- not answered is delivered again after a while (locks treat command_id as idempotent).
CREATE TABLE device_commands (
    command_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lock_id      uuid NOT NULL REFERENCES locks,
    command_type text NOT NULL CHECK (command_type IN ('lock', 'unlock', 'program_code', 'remove_code')),
    action_id    uuid REFERENCES lock_actions,
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'done', 'failed', 'expired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    completed_at timestamptz
);
CREATE INDEX device_commands_open ON device_commands (lock_id, created_at) WHERE status IN ('pending', 'delivered');
