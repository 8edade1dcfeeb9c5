-- 021_user_disabled.sql - an administrator disables a user (the back office's users page,
-- POST /v1/users/{user}/disable): its sessions end, its API tokens stop answering and it
-- cannot log in until enabled again. 0: enabled.
ALTER TABLE users ADD COLUMN disabled_ms INTEGER NOT NULL DEFAULT 0;
