-- rtpush install script, built from src/sql/*.sql in name order.
-- 00: the outbox and dead letter: rtpush's only tables of events.

\echo Use "CREATE EXTENSION rtpush" to load this file. \quit

-- Events waiting for delivery.  Writers only INSERT; the worker reads rows
-- that became visible between two snapshots (by xid), and DELETEs them in
-- batches once the endpoint accepted them.  Logged, so queued events survive
-- a crash and replicate to standbys.
CREATE SEQUENCE rtpush.outbox_id_seq CACHE 1;

CREATE TABLE rtpush.outbox (
    id              bigint      NOT NULL DEFAULT nextval('rtpush.outbox_id_seq'),
    xid             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    queued_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    channels        text[]      NOT NULL,
    event           text        NOT NULL,
    data            json        NOT NULL,
    socket_id       text,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text,
    CONSTRAINT outbox_pkey PRIMARY KEY (id)
) WITH (fillfactor = 100,
        autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_threshold = 20000,
        autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 100000,
        autovacuum_vacuum_cost_delay = 0);
ALTER SEQUENCE rtpush.outbox_id_seq OWNED BY rtpush.outbox.id;

COMMENT ON TABLE rtpush.outbox IS
    'rtpush: committed events waiting for delivery (holds PHI: not readable by PUBLIC)';

-- Events the endpoint rejected, or that ran out of attempts.
CREATE TABLE rtpush.dead_letter (
    id          bigint      NOT NULL PRIMARY KEY,
    queued_at   timestamptz NOT NULL,
    channels    text[]      NOT NULL,
    event       text        NOT NULL,
    data        json        NOT NULL,
    socket_id   text,
    attempts    integer     NOT NULL,
    http_status integer,
    response    text,
    reason      text        NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE rtpush.dead_letter IS
    'rtpush: events not delivered (rejected or out of attempts); see rtpush.redeliver()';

REVOKE ALL ON rtpush.outbox, rtpush.dead_letter, rtpush.outbox_id_seq FROM PUBLIC;
