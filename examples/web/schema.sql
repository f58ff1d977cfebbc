-- examples/web/schema.sql: what the web example adds to the reference
-- telemedicine schema (../telemedicine/schema.sql, loaded first): demo
-- users and sessions, presence, and who may see whose online status.
-- Nothing here publishes: rtpush's triggers send every event.

-- patient 1, doctor 3 (a doctor's id is its user id), conversation 5 = {1, 3},
-- appointment 10 = patient 1 with doctor 3; patient 2 and doctor 4 are
-- strangers to them (their channels must stay closed to 1 and 3).
INSERT INTO users (id, name, email, password_hash, role) VALUES
  (1, 'Pat Patient', 'pat@example.org', '!demo', 'patient'),
  (2, 'Other Patient', 'other@example.org', '!demo', 'patient'),
  (3, 'Dr. Ann Lee', 'lee@example.org', '!demo', 'doctor'),
  (4, 'Dr. Bo Kim', 'kim@example.org', '!demo', 'doctor');
INSERT INTO doctors (id, specialty, license_number) VALUES (3, 'cardiology', 'LIC-333'), (4, 'dermatology', 'LIC-444');
INSERT INTO conversations (id) VALUES (5), (6);
INSERT INTO conversation_participants VALUES (5, 1), (5, 3), (6, 2), (6, 4);
INSERT INTO appointments (id, patient_id, doctor_id, scheduled_at, reason)
  VALUES (10, 1, 3, date_trunc('hour', now()) + interval '1 day', 'chest pain'),
         (11, 2, 4, date_trunc('hour', now()) + interval '1 day', 'rash'),
         (12, 1, 3, date_trunc('hour', now()) + interval '2 days', 'follow-up');
SELECT setval(pg_get_serial_sequence(t, 'id'), 100)
  FROM unnest(ARRAY['users', 'conversations', 'appointments']) t;

-- The demo's sessions: "Authorization: Bearer tok-<user id>" (a real app
-- keeps real sessions; the auth server only needs user_id and user_info).
CREATE VIEW app_sessions AS
  SELECT 'tok-' || id AS token, id::text AS user_id,
         json_build_object('name', name, 'role', role) AS user_info
    FROM users;

-- Presence: both sides join presence-conversation.{id}; soketi's
-- member_added/member_removed webhooks reach rtpush.handle_webhook, and the
-- backend copies rtpush.user_presence into users.is_online/last_seen_at,
-- a plain UPDATE that the catalogue's user-status-changed trigger sends.
-- private-contact.{user_id}.status: the people a user talks to.
CREATE FUNCTION shares_conversation(user_id text, captures jsonb) RETURNS boolean
    LANGUAGE sql STABLE
    RETURN EXISTS (SELECT FROM conversation_participants a
                     JOIN conversation_participants b USING (conversation_id)
                    WHERE a.user_id::text = shares_conversation.user_id
                      AND b.user_id::text = captures->>'user_id');

INSERT INTO rtpush.channel_rules (pattern, rule, description) VALUES
  ('presence-conversation.{conversation_id}', 'conversation_participant',
   'who is in a conversation right now: its participants'),
  ('private-contact.{user_id}.status', 'shares_conversation',
   'a user''s online status and last seen: whoever shares a conversation with them');


-- The catalogue sends user-status-changed to the user's own
-- private-user.{id}.status; their contacts get it on private-contact.{id}.status.
SELECT rtpush.attach('users', 'contact-status-changed', ARRAY['private-contact.{id}.status'],
                     ARRAY['id', 'is_online', 'last_seen_at'], ARRAY['UPDATE'],
                     ARRAY['is_online', 'last_seen_at']);
