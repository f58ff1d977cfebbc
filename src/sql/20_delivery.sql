-- 20: delivery: the worker's status and the dead letter's way back.

CREATE FUNCTION rtpush.worker_status(
    OUT pid integer, OUT state text, OUT in_flight integer, OUT held integer,
    OUT delivered bigint, OUT retried bigint, OUT failed bigint,
    OUT dead_lettered bigint, OUT http_requests bigint,
    OUT last_error text, OUT last_error_at timestamptz,
    OUT last_success_at timestamptz,
    OUT latency_p50_ms double precision, OUT latency_p99_ms double precision,
    OUT started_at timestamptz, OUT wakeups bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'rtpush_worker_status'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION rtpush.worker_status() IS
    'rtpush: the delivery worker''s shared-memory counters';

CREATE VIEW rtpush.status AS
SELECT w.pid, w.state,
       q.queued, q.oldest_queued_age,
       w.in_flight, w.held,
       w.delivered, w.retried, w.failed, w.dead_lettered,
       d.dead_letter_size,
       w.http_requests, w.last_error, w.last_error_at, w.last_success_at,
       w.latency_p50_ms, w.latency_p99_ms, w.started_at, w.wakeups
FROM rtpush.worker_status() AS w,
     LATERAL (SELECT count(*) AS queued, now() - min(queued_at) AS oldest_queued_age
              FROM rtpush.outbox) AS q,
     LATERAL (SELECT count(*) AS dead_letter_size FROM rtpush.dead_letter) AS d;

COMMENT ON VIEW rtpush.status IS
    'rtpush: delivery worker state, queue depth, totals and commit-to-2xx latency';

-- The worker's read: rows whose transaction is visible in snapshot hi but
-- was not in lo (NULL: no lower bound), after id after_id, in id order.
-- STABLE and not STRICT, so it is inlined into the worker's query.
CREATE FUNCTION rtpush.fetch_window(after_id bigint, hi pg_snapshot,
                                    lo pg_snapshot, n integer)
RETURNS SETOF rtpush.outbox
LANGUAGE sql STABLE AS $$
    SELECT * FROM rtpush.outbox o
    WHERE o.id > after_id
      AND pg_visible_in_snapshot(o.xid, hi)
      AND (lo IS NULL OR NOT pg_visible_in_snapshot(o.xid, lo))
    ORDER BY o.id
    LIMIT n
$$;

COMMENT ON FUNCTION rtpush.fetch_window(bigint, pg_snapshot, pg_snapshot, integer) IS
    'rtpush: the delivery worker''s read of the outbox between two snapshots';

CREATE FUNCTION rtpush.wake_worker() RETURNS void
AS 'MODULE_PATHNAME', 'rtpush_wake_worker'
LANGUAGE C VOLATILE;

-- Puts dead letters (all, or those with the given ids) back in the queue,
-- keeping their ids; the worker is woken at COMMIT.
CREATE FUNCTION rtpush.redeliver(ids bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    WITH d AS (DELETE FROM rtpush.dead_letter
               WHERE redeliver.ids IS NULL OR id = ANY (redeliver.ids)
               RETURNING *),
         i AS (INSERT INTO rtpush.outbox (id, queued_at, channels, event, data, socket_id)
               SELECT d.id, clock_timestamp(), d.channels, d.event, d.data, d.socket_id
               FROM d ORDER BY d.id
               RETURNING 1)
    SELECT count(*) INTO n FROM i;
    IF n > 0 THEN
        PERFORM rtpush.wake_worker();
    END IF;
    RETURN n;
END
$$;

COMMENT ON FUNCTION rtpush.redeliver(bigint[]) IS
    'rtpush: moves dead letters back to the outbox for another delivery';

REVOKE ALL ON FUNCTION rtpush.worker_status(), rtpush.wake_worker(),
    rtpush.fetch_window(bigint, pg_snapshot, pg_snapshot, integer),
    rtpush.redeliver(bigint[]) FROM PUBLIC;
REVOKE ALL ON rtpush.status FROM PUBLIC;
GRANT SELECT ON rtpush.status TO pg_monitor;
GRANT EXECUTE ON FUNCTION rtpush.worker_status() TO pg_monitor;
