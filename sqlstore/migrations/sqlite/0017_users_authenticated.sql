-- Users who logged in with a user JWT (the web messenger's login, issue 14): webhooks show them as
-- authenticated (userTruncated.authenticated), as the service does.
ALTER TABLE users ADD COLUMN authenticated INTEGER NOT NULL DEFAULT 0;
