-- 0016: Seam's device vocabulary and lock warnings (issue 15, items 2 and 3).

-- An action's failure in words (error_code says what, message says what to do).
ALTER TABLE lock_actions ADD COLUMN message text;

-- performed_via in the newer guide's values. Past actions and events are rewritten once, so a
-- mirror that reads history sees one vocabulary.
UPDATE lock_actions SET performed_via = CASE performed_via
    WHEN 'cloud' THEN 'remote_api' WHEN 'keypad' THEN 'pin_code'
    WHEN 'bluetooth' THEN 'bluetooth_key' WHEN 'manual' THEN 'manual_turn' END
WHERE performed_via IN ('cloud', 'keypad', 'bluetooth', 'manual');
UPDATE events SET data = jsonb_set(data, '{performed_via}', to_jsonb(CASE data->>'performed_via'
    WHEN 'cloud' THEN 'remote_api' WHEN 'keypad' THEN 'pin_code'
    WHEN 'bluetooth' THEN 'bluetooth_key' WHEN 'manual' THEN 'manual_turn' END))
WHERE data->>'performed_via' IN ('cloud', 'keypad', 'bluetooth', 'manual');

-- The keypad's lockout as the lock last reported it: a lock warning until then.
ALTER TABLE locks ADD COLUMN keypad_locked_until timestamptz;

-- A webhook may register `battery.low`, the guides' other spelling of `device.low_battery`.
CREATE OR REPLACE FUNCTION fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, event_id, event_seq)
    SELECT w.webhook_id, NEW.event_id, NEW.seq
    FROM webhooks w
    WHERE w.deleted_at IS NULL
      AND (cardinality(w.event_types) = 0 OR NEW.event_type = ANY (w.event_types)
           OR (NEW.event_type = 'device.low_battery' AND 'battery.low' = ANY (w.event_types)))
      AND event_visible_to(NEW, w.client_id);
    RETURN NULL;
END
$$;
