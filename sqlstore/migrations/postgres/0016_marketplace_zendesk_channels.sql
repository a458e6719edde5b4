-- Issue 18: the marketplace OAuth flow, the simulated Zendesk user directory and SyncUser, Apple's
-- interactive data references (DownloadMessageRef) and Meta conversion events (PostConversionEvents).

-- Partners' OAuth clients, registered through /_sunlamp/v1/oauth/clients. The id is the client_id
-- and the type of the integrations an authorization creates. The secret is kept as its SHA-256 only
-- (it is shown once, when the client is registered). The built-in zd: clients are not rows: they
-- are part of the program (sunlamp.BuiltInOAuthClients).
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    redirect_uris TEXT NOT NULL, -- JSON array, in the order given (the first is the default)
    remove_url    TEXT,
    created_at    BIGINT NOT NULL
);

-- Authorization codes: single use (redeeming deletes the row), short-lived, bound to the client,
-- the app and the redirect URI the browser was sent to. Only the code's SHA-256 is stored.
CREATE TABLE oauth_codes (
    code_sha256  TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oauth_codes_by_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_by_app ON oauth_codes (app_id);

-- One integration per app and OAuth client (its type is the client id): authorizing again reuses it.
-- Its access tokens are integration keys (api_keys with its integration_id).
CREATE TABLE oauth_installs (
    app_id         TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    integration_id TEXT NOT NULL UNIQUE REFERENCES integrations (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (app_id, client_id)
);
CREATE INDEX oauth_installs_by_client ON oauth_installs (client_id);

-- The simulated directory of core Zendesk users (one per server, as the server is one account).
-- name and email are personal data; erasing a messaging user leaves the core user alone, as the
-- service does (the core user is Zendesk Support's, deleted there).
CREATE TABLE zendesk_users (
    id          TEXT PRIMARY KEY, -- a numeric string, like the service's
    name        TEXT,
    email       TEXT,
    external_id TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX zendesk_users_by_external_id ON zendesk_users (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX zendesk_users_by_email ON zendesk_users (email) WHERE email IS NOT NULL;

-- A messaging user's link to its core Zendesk user: at most one messaging user per app and zendeskId.
ALTER TABLE users ADD COLUMN zendesk_id TEXT;
CREATE UNIQUE INDEX users_by_zendesk_id ON users (app_id, zendesk_id) WHERE zendesk_id IS NOT NULL;

-- Apple interactive data references that the simulator recorded (what a passthrough:messaging
-- webhook would carry), with the content DownloadMessageRef answers. The content is what the
-- customer sent (personal data, like a message's content): it goes with the user.
CREATE TABLE interactive_data_refs (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url            TEXT NOT NULL,
    bid            TEXT NOT NULL,
    ref_key        TEXT NOT NULL,
    signature      TEXT NOT NULL,
    owner          TEXT NOT NULL,
    content        TEXT NOT NULL, -- JSON object
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX interactive_data_refs_by_url ON interactive_data_refs (app_id, url);
CREATE INDEX interactive_data_refs_by_user ON interactive_data_refs (user_id);
CREATE INDEX interactive_data_refs_by_integration ON interactive_data_refs (integration_id);

-- Conversion events a partner posted (PostConversionEvents), as sent, with what the service
-- answered. They go with the conversation.
CREATE TABLE conversion_events (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL, -- messenger, instagram or whatsapp
    integration_id  TEXT NOT NULL,
    dataset_id      TEXT NOT NULL,
    payload         TEXT NOT NULL, -- JSON object: the body's payload
    events_received INTEGER NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX conversion_events_by_conversation ON conversion_events (conversation_id, id);
CREATE INDEX conversion_events_by_app ON conversion_events (app_id, id);
