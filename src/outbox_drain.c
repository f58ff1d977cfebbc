/*-------------------------------------------------------------------------
 * outbox_drain.c
 *	  The outbox's read side, used only by the delivery worker.
 *
 * Writers only ever INSERT.  The worker reads in windows between two
 * snapshots: a window holds the rows whose writing transaction (column
 * xid) is visible in the window's upper snapshot and was not visible in
 * the previous one.  Within a window it pages by id.  Every committed row
 * thus falls in exactly one window, however late its transaction commits
 * relative to its id, and nothing is read twice while the worker lives.
 * Delivered rows are deleted in batches; retry bookkeeping is an UPDATE on
 * the failure path only.  After a restart the first window has no lower
 * bound, so every row still in the table is delivered (at least once).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "outbox_drain.h"
#include "payload.h"

static char *window_lo = NULL;	/* lower snapshot; NULL: none (first window) */
static char *window_hi = NULL;	/* upper snapshot; NULL: no window open */
static uint64 window_last_xid = 0;	/* paging key within the window */
static int64 window_last_id = 0;
static SPIPlanPtr fetch_plan = NULL;
static SPIPlanPtr snapshot_plan = NULL;
static SPIPlanPtr delete_plan = NULL;
static uint64 plain_gen = 1;	/* bumped by a reload (rtpush.event_id_field) */

/*
 * The row of the outbox with the key (xid, id) of the row k, as a subquery:
 * one probe of the primary key.  The statements that change events the
 * worker holds (delete, retry, dead letter) find each one with it and change
 * the rows by ctid, a plan that does not depend on the outbox's statistics.
 * A join of the keys with the outbox, planned while the outbox looked nearly
 * empty (or for a batch of 100 keys against a few thousand queued events),
 * becomes a hash join or nested loop over a full scan of the primary key:
 * every batch then reads every queued row (see outbox_plan_settings()).
 */
#define CTID_OF(k) \
	"(SELECT p.ctid FROM rtpush.outbox p WHERE p.xid = " k ".xid AND p.id = " k ".id)"

static const char *FETCH_SQL =
"SELECT id, channels, event, data::text, socket_id, attempts, queued_at, next_attempt_at, xid "
"FROM rtpush.fetch_window($1, $2, $3::pg_snapshot, $4::pg_snapshot, $5)";

/*
 * Planner settings for the worker's session.  Every query of the worker is a
 * key range or key lookups on the outbox, and their plans are generic, kept,
 * and remade only when the outbox's relcache entry is invalidated (an
 * autovacuum or ANALYZE updating its statistics).  The outbox swings from
 * empty to a backlog of millions within a minute, so the statistics at the
 * last replan say little about the table the plan will run on.  No seq scan
 * keeps the fetch on the primary key and the ctid lookups of CTID_OF() on a
 * Tid Scan.  (The DELETE of delivered events used to join the keys with the
 * outbox; planned while the outbox looked nearly empty, that became a hash
 * join or nested loop over a full scan of the primary key: with a backlog
 * queued every batch read every queued row, the worker fell behind, the
 * backlog grew, until the next autovacuum forced a replan.)
 */
void
outbox_plan_settings(void)
{
	SetConfigOption("enable_seqscan", "off", PGC_SUSET, PGC_S_OVERRIDE);
	/*
	 * Its statements read a page of rows by index, thousands of times a
	 * minute: JIT compiling one (the outbox's estimate after a backlog can
	 * pass jit_above_cost) costs far more than running it.  With jit on, 16
	 * idle workers polling took 14 % of a core, and a quiet database's p99
	 * latency was 140-300 ms (bench/delivery/many_databases.mjs).
	 */
	SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);
}

Oid
outbox_extension_oid(void)
{
	return get_extension_oid("rtpush", true);
}

void
outbox_drop_plans(void)
{
	if (fetch_plan)
		SPI_freeplan(fetch_plan);
	if (snapshot_plan)
		SPI_freeplan(snapshot_plan);
	if (delete_plan)
		SPI_freeplan(delete_plan);
	fetch_plan = snapshot_plan = delete_plan = NULL;
}

/* The next fetch reads the outbox from its start, as after a restart. */
void
outbox_rewind(void)
{
	if (window_lo)
		pfree(window_lo);
	if (window_hi)
		pfree(window_hi);
	window_lo = window_hi = NULL;
	window_last_xid = 0;
	window_last_id = 0;
}

/*
 * In the first window (after a start or a rewind) the fetch reads every
 * visible row from the start of the outbox, not only rows committed since
 * the last window.
 */
bool
outbox_reading_from_start(void)
{
	return window_lo == NULL;
}

void
outbox_forget(void)
{
	outbox_rewind();
	outbox_drop_plans();
}

static char *
current_snapshot(void)
{
	bool		isnull;
	char	   *snap;

	if (snapshot_plan == NULL)
	{
		snapshot_plan = SPI_prepare("SELECT pg_current_snapshot()::text", 0, NULL);
		if (snapshot_plan == NULL)
			elog(ERROR, "could not prepare the snapshot query");
		SPI_keepplan(snapshot_plan);
	}
	if (SPI_execute_plan(snapshot_plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the current snapshot");
	snap = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	return MemoryContextStrdup(TopMemoryContext, snap);
}

static void
prepare_fetch(void)
{
	Oid			types[5] = {XID8OID, INT8OID, TEXTOID, TEXTOID, INT4OID};

	if (fetch_plan)
		return;
	/* a generic plan: replanning the inlined function at every wake costs more than the read */
	fetch_plan = SPI_prepare_cursor(FETCH_SQL, 5, types, CURSOR_OPT_GENERIC_PLAN);
	if (fetch_plan == NULL)
		elog(ERROR, "could not prepare the outbox fetch: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(fetch_plan);
}

/* Copies one fetched row into a single allocation in cxt. */
static OutboxEvent *
copy_row(HeapTuple tup, TupleDesc desc, MemoryContext cxt)
{
	bool		isnull;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	   *event,
			   *data,
			   *sid;
	Size		size;
	OutboxEvent *ev;
	char	   *p;

	arr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	event = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
	data = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
	sid = SPI_getvalue(tup, desc, 5);

	size = MAXALIGN(sizeof(OutboxEvent)) + MAXALIGN(n * sizeof(char *)) +
		strlen(event) + strlen(data) + (sid ? strlen(sid) : 0) + 3;
	for (int i = 0; i < n; i++)
		size += nulls[i] ? 1 : VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])) + 1;

	ev = MemoryContextAllocZero(cxt, size);
	p = (char *) ev + MAXALIGN(sizeof(OutboxEvent));
	ev->channels = (char **) p;
	p += MAXALIGN(n * sizeof(char *));
	ev->nchannels = 0;
	for (int i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		ev->channels[ev->nchannels++] = p;
		memcpy(p, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		p += VARSIZE_ANY_EXHDR(t);
		*p++ = '\0';
	}
	ev->event = strcpy(p, event);
	p += strlen(event) + 1;
	ev->data = strcpy(p, data);
	ev->datalen = strlen(data);
	p += ev->datalen + 1;
	ev->socket_id = sid ? strcpy(p, sid) : NULL;

	ev->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	ev->attempts = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
	ev->queued_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull));
	ev->not_before = DatumGetTimestampTz(SPI_getbinval(tup, desc, 8, &isnull));
	if (isnull)
		ev->not_before = 0;
	ev->xid = U64FromFullTransactionId(DatumGetFullTransactionId(SPI_getbinval(tup, desc, 9, &isnull)));
	return ev;
}

/*
 * The event's data as clients get it, before encryption: payload_plain()
 * of it, made the first time it is asked for and kept with the event, so
 * that history, the request's size and its body do not each make it again.
 * Made again after a reload or when the event got another position.
 */
void
outbox_event_plain(OutboxEvent *ev, const char **out, size_t *outlen)
{
	if (ev->plain == NULL || ev->plain_gen != plain_gen || ev->plain_position != ev->position)
	{
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(ev));

		if (ev->plain != NULL && ev->plain != ev->data)
			pfree((void *) ev->plain);
		payload_plain(ev->id, ev->position, ev->data, ev->datalen, &ev->plain, &ev->plainlen);
		MemoryContextSwitchTo(old);
		ev->plain_position = ev->position;
		ev->plain_gen = plain_gen;
	}
	*out = ev->plain;
	*outlen = ev->plainlen;
}

void
outbox_event_free(OutboxEvent *ev)
{
	if (ev->plain != NULL && ev->plain != ev->data)
		pfree((void *) ev->plain);
	pfree(ev);
}

void
outbox_settings_changed(void)
{
	plain_gen++;
}

/* xmin of a snapshot's text form "xmin:xmax:xip,..." */
static uint64
snapshot_xmin(const char *snap)
{
	return strtou64(snap, NULL, 10);
}

/*
 * Fetches up to max newly visible events into events[], in (xid, id)
 * order: per writing session that is the order written, since a session's
 * later transaction has a later xid.  Paging starts at the lower
 * snapshot's xmin; rtpush.fetch_window (rtpush--0.3--0.4.sql, 20.1) probes
 * that snapshot's in-progress xids, each by its own key range since 0.7
 * (rtpush--0.6--0.7.sql, 20.2), and starts its range at its xmax, so
 * rows already read (held by the worker, not yet deleted) and the dead rows
 * of delivered events are not walked, whatever the backlog and however old
 * the oldest open transaction.  *more is set when the window may hold
 * further rows.
 */
int
outbox_fetch(OutboxEvent **events, int max, bool *more, MemoryContext cxt)
{
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	uint64		n;

	prepare_fetch();
	if (window_hi == NULL)
	{
		window_hi = current_snapshot();
		window_last_xid = window_lo ? snapshot_xmin(window_lo) : 0;
		window_last_id = 0;
	}
	args[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64(window_last_xid));
	args[1] = Int64GetDatum(window_last_id);
	args[2] = CStringGetTextDatum(window_hi);
	args[3] = window_lo ? CStringGetTextDatum(window_lo) : (Datum) 0;
	nulls[3] = window_lo ? ' ' : 'n';
	args[4] = Int32GetDatum(max);

	if (SPI_execute_plan(fetch_plan, args, nulls, true, max) != SPI_OK_SELECT)
		elog(ERROR, "could not fetch from the outbox");
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
		events[i] = copy_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, cxt);

	if (n > 0)
	{
		window_last_xid = events[n - 1]->xid;
		window_last_id = events[n - 1]->id;
	}
	*more = (n == (uint64) max);
	if (!*more)
	{
		/* window exhausted: the next one starts where this one ended */
		if (window_lo)
			pfree(window_lo);
		window_lo = window_hi;
		window_hi = NULL;
	}
	return (int) n;
}

static Datum
int8_array(const int64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
xid8_array(const uint64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = FullTransactionIdGetDatum(FullTransactionIdFromU64(v[i]));
	return PointerGetDatum(construct_array(d, n, XID8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Deletes delivered events, by their key (xid, id). */
void
outbox_delete(const OutboxKey *keys, int n)
{
	Oid			types[2] = {XID8ARRAYOID, INT8ARRAYOID};
	Datum		args[2];
	uint64	   *xids;
	int64	   *ids;

	if (n == 0)
		return;
	if (delete_plan == NULL)
	{
		delete_plan = SPI_prepare_cursor("DELETE FROM rtpush.outbox WHERE ctid = ANY (ARRAY("
										 "SELECT " CTID_OF("d") " FROM unnest($1, $2) AS d(xid, id)))",
										 2, types, CURSOR_OPT_GENERIC_PLAN);
		if (delete_plan == NULL)
			elog(ERROR, "could not prepare the outbox delete");
		SPI_keepplan(delete_plan);
	}
	xids = palloc(sizeof(uint64) * n);
	ids = palloc(sizeof(int64) * n);
	for (int i = 0; i < n; i++)
	{
		xids[i] = keys[i].xid;
		ids[i] = keys[i].id;
	}
	args[0] = xid8_array(xids, n);
	args[1] = int8_array(ids, n);
	if (SPI_execute_plan(delete_plan, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete delivered events from the outbox");
}

/* Builds the argument arrays shared by retry and dead letter. */
static void
outcome_arrays(const OutboxOutcome *o, int n, Datum *xids, Datum *ids, Datum *attempts,
			   Datum *times, Datum *statuses, Datum *responses, Datum *reasons,
			   bool *resp_nulls)
{
	Datum	   *a = palloc(sizeof(Datum) * n),
			   *t = palloc(sizeof(Datum) * n),
			   *s = palloc(sizeof(Datum) * n),
			   *r = palloc(sizeof(Datum) * n),
			   *why = palloc(sizeof(Datum) * n);
	int64	   *idv = palloc(sizeof(int64) * n);
	uint64	   *xidv = palloc(sizeof(uint64) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		idv[i] = o[i].id;
		xidv[i] = o[i].xid;
		a[i] = Int32GetDatum(o[i].attempts);
		t[i] = TimestampTzGetDatum(o[i].not_before);
		s[i] = Int32GetDatum(o[i].http_status);
		resp_nulls[i] = (o[i].response == NULL);
		r[i] = o[i].response ? CStringGetTextDatum(o[i].response) : (Datum) 0;
		why[i] = CStringGetTextDatum(o[i].reason ? o[i].reason : "");
	}
	*ids = int8_array(idv, n);
	*xids = xid8_array(xidv, n);
	*attempts = PointerGetDatum(construct_array(a, n, INT4OID, 4, true, TYPALIGN_INT));
	*times = PointerGetDatum(construct_array(t, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	*statuses = PointerGetDatum(construct_array(s, n, INT4OID, 4, true, TYPALIGN_INT));
	*responses = PointerGetDatum(construct_md_array(r, resp_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	*reasons = PointerGetDatum(construct_array(why, n, TEXTOID, -1, false, TYPALIGN_INT));
}

void
outbox_retry(const OutboxOutcome *o, int n)
{
	Oid			types[5] = {INT8ARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, XID8ARRAYOID};
	Datum		args[5],
				statuses,
				responses;
	bool	   *rn = palloc(sizeof(bool) * Max(n, 1));

	if (n == 0)
		return;
	outcome_arrays(o, n, &args[4], &args[0], &args[1], &args[2], &statuses, &responses, &args[3], rn);
	if (SPI_execute_with_args(
							  "UPDATE rtpush.outbox o SET attempts = x.attempts, "
							  "next_attempt_at = x.next_at, last_error = x.err "
							  "FROM (SELECT x.*, " CTID_OF("x") " AS tid "
							  "      FROM unnest($1, $2, $3, $4, $5) AS x(id, attempts, next_at, err, xid)) x "
							  "WHERE o.ctid = x.tid",
							  5, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record retries in the outbox");
}

void
outbox_dead_letter(const OutboxOutcome *o, int n)
{
	Oid			types[6] = {INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, XID8ARRAYOID};
	Datum		args[6],
				times;
	bool	   *rn = palloc(sizeof(bool) * Max(n, 1));

	if (n == 0)
		return;
	outcome_arrays(o, n, &args[5], &args[0], &args[1], &times, &args[2], &args[3], &args[4], rn);
	if (SPI_execute_with_args(
							  "WITH x AS (SELECT * FROM unnest($1, $2, $3, $4, $5, $6) "
							  "    AS x(id, attempts, status, response, reason, xid)), "
							  "d AS (DELETE FROM rtpush.outbox o "
							  "    WHERE o.ctid = ANY (ARRAY(SELECT " CTID_OF("x") " FROM x)) RETURNING o.*) "
							  "INSERT INTO rtpush.dead_letter AS l (id, queued_at, channels, event, data, "
							  "    socket_id, attempts, http_status, response, reason) "
							  "SELECT d.id, d.queued_at, d.channels, d.event, d.data, d.socket_id, "
							  "    x.attempts, nullif(x.status, 0), x.response, x.reason "
							  "FROM d JOIN x USING (id) "
							  "ON CONFLICT (id) DO UPDATE SET attempts = excluded.attempts, "
							  "    http_status = excluded.http_status, response = excluded.response, "
							  "    reason = excluded.reason, failed_at = now()",
							  6, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not move events to the dead letter");
}
