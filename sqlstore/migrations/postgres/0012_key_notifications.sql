-- Server processes sharing this database cache keys (and which account owns an app) for
-- authentication. A change to a key made through one process is announced to the others on channel
-- sunlamp_keys at commit, whatever statement made it (a cascade from an app or integration deleted
-- too): the payload is the key's id, or "app:" and the id of a deleted app.
CREATE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sunlamp_keys', OLD.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION api_keys_notify();

CREATE FUNCTION apps_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sunlamp_keys', 'app:' || OLD.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER apps_notify AFTER DELETE ON apps FOR EACH ROW EXECUTE FUNCTION apps_notify();
