-- Privileges, as non-superusers: PUBLIC cannot send, read the outbox or
-- attach; a table's owner (granted EXECUTE) attaches; plain writers of the
-- table need no rtpush rights; other roles cannot attach or detach.
CREATE ROLE regress_cap_owner;
CREATE ROLE regress_cap_writer;
CREATE ROLE regress_cap_other;
SELECT p.fn, r.role, has_function_privilege(r.role, p.fn, 'EXECUTE') AS execute
  FROM (VALUES ('rtpush.send(text[],text,jsonb,text)'), ('rtpush.send(text,text,jsonb,text)'),
               ('rtpush.broadcast()'), ('rtpush.attach(regclass,text,text[],text[],text[],text[],boolean,jsonb)'),
               ('rtpush.detach(regclass,text)')) p(fn),
       (VALUES ('regress_cap_other')) r(role)
 ORDER BY 1;
SELECT has_table_privilege('regress_cap_other', 'rtpush.outbox', 'SELECT') AS outbox_select,
       has_table_privilege('regress_cap_other', 'rtpush.outbox', 'INSERT') AS outbox_insert,
       has_sequence_privilege('regress_cap_other', 'rtpush.outbox_id_seq', 'USAGE') AS seq_usage;

-- without grants: no schema, then no function
SET ROLE regress_cap_other;
SELECT rtpush.send('c1', 'cap-priv', '{}');
RESET ROLE;
GRANT USAGE ON SCHEMA rtpush TO regress_cap_owner, regress_cap_writer, regress_cap_other;
SET ROLE regress_cap_other;
SELECT rtpush.send('c1', 'cap-priv', '{}');
SELECT count(*) FROM rtpush.outbox;
RESET ROLE;

-- the documented GRANT lets a role send, still without reading the outbox
GRANT EXECUTE ON FUNCTION rtpush.send(text[], text, jsonb, text),
    rtpush.send(text, text, jsonb, text) TO regress_cap_writer;
SET ROLE regress_cap_writer;
SELECT rtpush.send('private-user.1', 'cap-priv-send', '{"ok": true}') > 0 AS queued;
SELECT rtpush.send(ARRAY['a', 'b'], 'cap-priv-send', '{}', '1.2') > 0 AS queued;
SELECT count(*) FROM rtpush.outbox;
RESET ROLE;
SELECT channels, event, data, socket_id FROM rtpush.outbox WHERE event = 'cap-priv-send' ORDER BY id;
DELETE FROM rtpush.outbox WHERE event = 'cap-priv-send';

-- a table owned by regress_cap_owner, written by regress_cap_writer
CREATE TABLE cap_msgs (id int PRIMARY KEY, conversation_id int, body text);
ALTER TABLE cap_msgs OWNER TO regress_cap_owner;
GRANT SELECT, INSERT, UPDATE, TRIGGER ON cap_msgs TO regress_cap_writer;
GRANT SELECT, INSERT ON cap_msgs TO regress_cap_other;

-- the owner without EXECUTE on attach / broadcast cannot attach
SET ROLE regress_cap_owner;
SELECT rtpush.attach('cap_msgs', 'cap-priv-msg', ARRAY['private-conversation.{conversation_id}']);
CREATE TRIGGER t AFTER INSERT ON cap_msgs FOR EACH ROW
    EXECUTE FUNCTION rtpush.broadcast('cap-priv-msg', 'private-conversation.{conversation_id}');
RESET ROLE;
GRANT EXECUTE ON FUNCTION rtpush.broadcast(),
    rtpush.attach(regclass, text, text[], text[], text[], text[], boolean, jsonb),
    rtpush.detach(regclass, text) TO regress_cap_owner, regress_cap_other;

-- a role that does not own the table cannot attach or detach, even with EXECUTE
SET ROLE regress_cap_other;
SELECT rtpush.attach('cap_msgs', 'cap-priv-msg', ARRAY['private-conversation.{conversation_id}']);
RESET ROLE;

-- the owner attaches
SET ROLE regress_cap_owner;
SELECT rtpush.attach('cap_msgs', 'cap-priv-msg', ARRAY['private-conversation.{conversation_id}'],
                     columns => '{id,body}');
RESET ROLE;

-- writers need no rtpush rights: the trigger queues their rows
SET ROLE regress_cap_writer;
INSERT INTO cap_msgs VALUES (1, 5, 'from writer');
SELECT count(*) FROM rtpush.outbox;
RESET ROLE;
SET ROLE regress_cap_other;
INSERT INTO cap_msgs VALUES (2, 6, 'from other');
SELECT rtpush.detach('cap_msgs', 'cap-priv-msg');
RESET ROLE;
SELECT channels, event, data, socket_id FROM rtpush.outbox WHERE event = 'cap-priv-msg' ORDER BY id;
DELETE FROM rtpush.outbox WHERE event = 'cap-priv-msg';

-- bad input from a non-superuser is refused the same way
SET ROLE regress_cap_writer;
SELECT rtpush.send('bad channel', 'cap-priv-send', '{}');
-- rtpush.max_payload_bytes and rtpush.oversize are superuser settings
SET rtpush.max_payload_bytes = 1000000;
SET rtpush.oversize = thin;
RESET ROLE;

-- the owner detaches
SET ROLE regress_cap_owner;
SELECT rtpush.detach('cap_msgs', 'cap-priv-msg');
RESET ROLE;

DROP TABLE cap_msgs;
REVOKE ALL ON FUNCTION rtpush.broadcast(),
    rtpush.attach(regclass, text, text[], text[], text[], text[], boolean, jsonb),
    rtpush.detach(regclass, text) FROM regress_cap_owner, regress_cap_other;
REVOKE ALL ON FUNCTION rtpush.send(text[], text, jsonb, text),
    rtpush.send(text, text, jsonb, text) FROM regress_cap_writer;
REVOKE USAGE ON SCHEMA rtpush FROM regress_cap_owner, regress_cap_writer, regress_cap_other;
DROP ROLE regress_cap_owner, regress_cap_writer, regress_cap_other;
