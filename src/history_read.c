/*-------------------------------------------------------------------------
 * history_read.c
 *	  Catch-up: rtpush.history(user_id, channel, after, max_events), the
 *	  events of a channel after a position, for a client that reconnects.
 *	  An outbox module: with outbox*.c and history_store.c the only code
 *	  that touches rtpush's event tables.
 *
 * The answer is {"events": [{"id", "position", "event", "data"}...],
 * "more": bool, "expired": bool}.  It holds, in per-channel delivery
 * order, every event on the channel after 'after' that was committed
 * before the call:
 *   - first those history holds (delivered or in flight), by position
 *     (since 0.5 a history row holds a channel's events of one worker
 *     fetch; 0.4's row per event is read too, until the update);
 *   - then those still queued in the outbox and not yet in history, in
 *     the worker's (xid, id) order, with "position": null.
 * Both are read in one snapshot (the function is STABLE).  The worker
 * writes an event's history row in the transaction that reads it, before
 * sending it, and deletes its outbox row later: in any snapshot an event
 * committed before it is in one part or the other (or in both: the
 * outbox part leaves out what history holds).
 *
 * Authorization is the subscription's: for private and presence channels
 * rtpush.channel_rules, checked as the caller (rule functions run as the
 * calling role, as for rtpush.authorize_channel), deny by default; public
 * channels, which anyone may subscribe to, need none.  The reads then run as the
 * owner of rtpush.history: callers need EXECUTE on this function only,
 * never access to the tables, which hold PHI.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "args.h"
#include "auth.h"
#include "history_store.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_history);

/* at most this many events per call */
#define HISTORY_MAX_EVENTS 1000
/* history rows a read takes at a time (each holds up to 100 events) */
#define HISTORY_ROWS_PER_FETCH 8
/* a position more than this far in the future is from another history */
#define HISTORY_FUTURE_SLACK "1 minute"

/*
 * 0.5's reads (rtpush--0.4--0.5.sql, 50.3), a row per channel and fetch.
 * Rows: $1 channel, $2 after (0: from the start), $3 at most; from the row
 * holding 'after' (the last whose first position is not past it: a
 * channel's rows never overlap), by position.  Each row after that one
 * holds at least one event, so max_events + 2 rows answer any call; the
 * LIMIT also makes the kept generic plan walk the (channel, position)
 * index in order, where without it the plan read and sorted every row of
 * the channel after 'after' (25 ms at 10M rows retained, 10,000 on the
 * channel).  Queued: $1 channel, $2 at most; an event's
 * history row cannot have been written earlier than a minute before the
 * event was queued.
 */
static const char *ROWS_SQL =
"SELECT h.positions, h.ids, h.events, h.data FROM rtpush.history h"
" WHERE h.channel = $1"
"   AND h.position >= coalesce((SELECT pg_catalog.max(g.position) FROM rtpush.history g"
"                               WHERE g.channel = $1 AND g.position <= $2), 0)"
" ORDER BY h.position LIMIT $3";

static const char *QUEUED_SQL =
"SELECT o.id, o.event, o.data::pg_catalog.text FROM rtpush.outbox o"
" WHERE $1 OPERATOR(pg_catalog.=) ANY (o.channels)"
"   AND NOT EXISTS (SELECT FROM rtpush.history h WHERE h.channel = $1 AND o.id OPERATOR(pg_catalog.=) ANY (h.ids)"
"                    AND h.position >= rtpush.history_position_at(o.queued_at - interval '1 minute'))"
" ORDER BY o.xid, o.id LIMIT $2";

/*
 * 0.4's read, a row per event and channel (the library is updated before
 * ALTER EXTENSION UPDATE runs): $1 channel, $2 after, $3 max_events.
 * Part 1: what history holds, by position; part 2: what is queued and not
 * in history.
 */
static const char *READ_04_SQL =
"WITH positioned AS ("
"  SELECT h.position, h.id, h.event, h.data FROM rtpush.history h"
"   WHERE h.channel = $1 AND h.position > $2"
"   ORDER BY h.position LIMIT $3 + 1"
"), queued AS ("
"  SELECT o.xid, o.id, o.event, o.data::pg_catalog.text AS data FROM rtpush.outbox o"
"   WHERE $1 OPERATOR(pg_catalog.=) ANY (o.channels)"
"     AND (SELECT pg_catalog.count(*) FROM positioned) <= $3"
"     AND NOT EXISTS (SELECT FROM rtpush.history h WHERE h.channel = $1 AND h.id = o.id"
"                      AND h.position >= rtpush.history_position_at(o.queued_at - interval '1 minute'))"
"   ORDER BY o.xid, o.id LIMIT $3 + 1"
")"
" SELECT * FROM ("
"  SELECT 1 AS part, p.position, p.id, p.event, p.data, NULL::pg_catalog.xid8 AS xid FROM positioned p"
"  UNION ALL"
"  SELECT 2, NULL, q.id, q.event, q.data, q.xid FROM queued q) r"
" ORDER BY r.part, r.position, r.xid, r.id";

/*
 * Whether 'after' lies outside what history can answer for: below its
 * oldest partition (dropped, or given before history was on), or past
 * a minute from now (a position from another database's history).
 */
static const char *EXPIRED_SQL =
"SELECT $1 < coalesce(min(s.lo), 9223372036854775807)"
"    OR $1 > rtpush.history_position_at(pg_catalog.now() + interval '" HISTORY_FUTURE_SLACK "')"
"  FROM rtpush.history_slots s WHERE s.in_use";

/* The backend's kept plans of the reads: planning them cost more than running them. */
typedef struct HistoryReadPlans
{
	SPIPlanPtr	rows;
	SPIPlanPtr	queued;
	SPIPlanPtr	read_04;
	SPIPlanPtr	expired;
} HistoryReadPlans;

/* An answer being built, in the caller's memory. */
typedef struct HistoryAnswer
{
	JsonbParseState *st;
	int			n;				/* events put */
	int			max;
	bool		more;			/* one more than max was found */
	MemoryContext caller;
} HistoryAnswer;

static HistoryReadPlans plans;

/* the position a client passed: a positive decimal bigint; 0 for NULL */
static int64
parse_position(FunctionCallInfo fcinfo)
{
	char	   *s;
	char	   *end;
	long long	v;

	if (PG_ARGISNULL(2))
		return 0;
	s = text_to_cstring(PG_GETARG_TEXT_PP(2));
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid history position \"%s\"", s),
				 errdetail("A position is the decimal string an event carries as \"rtpush_position\"."),
				 errhint("Pass the rtpush_position of the last event the client received on the channel, or NULL for all of history.")));
	return (int64) v;
}

static int
parse_max_events(FunctionCallInfo fcinfo)
{
	int			n = PG_GETARG_INT32(3);

	if (n < 1 || n > HISTORY_MAX_EVENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid max_events %d", n),
				 errdetail("max_events must be between 1 and %d.", HISTORY_MAX_EVENTS),
				 errhint("Ask again from the last position returned while \"more\" is true.")));
	return n;
}

static void
require_history_on(void)
{
	if (rtpush_history_retention == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush history is off"),
				 errdetail("rtpush.history_retention is 0: delivered events are not kept."),
				 errhint("Set rtpush.history_retention (for example to '24h') and reload the configuration.")));
}

/* rtpush.history, locked for reading; *owner: its owner, as whom the reads run */
static Oid
history_table(Oid *owner)
{
	Oid			nsp = get_namespace_oid("rtpush", false);
	Oid			rel = get_relname_relid("history", nsp);
	HeapTuple	tup;

	if (!OidIsValid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush history is not installed"),
				 errdetail("This database has rtpush at a version older than 0.4."),
				 errhint("Run ALTER EXTENSION rtpush UPDATE.")));
	/* as the read will: the layout looked up next is the one it reads */
	LockRelationOid(rel, AccessShareLock);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", rel);
	*owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return rel;
}

/* {"id", "position", "event", "data"}; position NULL for a queued event */
static void
put_event(HistoryAnswer *a, const char *id, const char *position, const char *event, const char *data)
{
	MemoryContext spi = MemoryContextSwitchTo(a->caller);

	if (a->n == a->max)
		a->more = true;
	else
	{
		/* the values are SPI's, gone at SPI_finish: the answer keeps copies */
		pushJsonbValue(&a->st, WJB_BEGIN_OBJECT, NULL);
		rtpush_jsonb_put_string(&a->st, "id", pstrdup(id));
		rtpush_jsonb_put_string(&a->st, "position", position ? pstrdup(position) : NULL);
		rtpush_jsonb_put_string(&a->st, "event", pstrdup(event));
		rtpush_jsonb_put_string(&a->st, "data", pstrdup(data));
		pushJsonbValue(&a->st, WJB_END_OBJECT, NULL);
		a->n++;
	}
	MemoryContextSwitchTo(spi);
}

/* a queued event: the data as it is sent, less the members history adds */
static void
put_queued(HistoryAnswer *a, int64 id, const char *event, const char *data)
{
	const char *plain;
	size_t		len;

	payload_plain(id, 0, data, strlen(data), &plain, &len);
	put_event(a, psprintf(INT64_FORMAT, id), NULL, event, pnstrdup(plain, len));
}

static Datum *
elements(HeapTuple tup, TupleDesc desc, int col, Oid type, int *n)
{
	bool		isnull;
	Datum	   *d;
	int16		len;
	bool		byval;
	char		align;

	get_typlenbyvalalign(type, &len, &byval, &align);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, col, &isnull)),
					  type, len, byval, align, &d, NULL, n);
	return d;
}

/* the events of one history row after 'after' */
static void
put_row(HistoryAnswer *a, HeapTuple tup, TupleDesc desc, int64 after)
{
	int			n,
				k;
	Datum	   *pos = elements(tup, desc, 1, INT8OID, &n);
	Datum	   *ids = elements(tup, desc, 2, INT8OID, &k);
	Datum	   *events = elements(tup, desc, 3, TEXTOID, &k);
	Datum	   *data = elements(tup, desc, 4, TEXTOID, &k);

	for (int j = 0; j < n && !a->more; j++)
	{
		if (DatumGetInt64(pos[j]) <= after)
			continue;
		put_event(a, psprintf(INT64_FORMAT, DatumGetInt64(ids[j])), psprintf(INT64_FORMAT, DatumGetInt64(pos[j])),
				  TextDatumGetCString(events[j]), TextDatumGetCString(data[j]));
	}
}

/* 0.5: history's rows from the one holding 'after', then what is queued */
static void
read_groups(HistoryAnswer *a, Datum channel, int64 after)
{
	Oid			types[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		args[3] = {channel, Int64GetDatum(after), Int32GetDatum(a->max + 2)};
	Portal		rows = SPI_cursor_open(NULL, history_kept_plan(&plans.rows, ROWS_SQL, 3, types), args, NULL, true);

	while (!a->more)
	{
		SPI_cursor_fetch(rows, true, HISTORY_ROWS_PER_FETCH);
		for (uint64 i = 0; i < SPI_processed && !a->more; i++)
			put_row(a, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, after);
		if (SPI_processed < HISTORY_ROWS_PER_FETCH)
			break;
	}
	SPI_cursor_close(rows);
	if (a->more)
		return;

	types[1] = INT4OID;
	args[1] = Int32GetDatum(a->max - a->n + 1);
	if (SPI_execute_plan(history_kept_plan(&plans.queued, QUEUED_SQL, 2, types), args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the queued events");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;

		put_queued(a, DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)),
				   SPI_getvalue(tup, SPI_tuptable->tupdesc, 2), SPI_getvalue(tup, SPI_tuptable->tupdesc, 3));
	}
}

/* 0.4: one query, a row per event */
static void
read_rows_04(HistoryAnswer *a, Datum channel, int64 after)
{
	Oid			types[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		args[3] = {channel, Int64GetDatum(after), Int32GetDatum(a->max)};

	if (SPI_execute_plan(history_kept_plan(&plans.read_04, READ_04_SQL, 3, types), args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read history");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		pos = SPI_getbinval(tup, desc, 2, &isnull);

		if (isnull)
			put_queued(a, DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)),
					   SPI_getvalue(tup, desc, 4), SPI_getvalue(tup, desc, 5));
		else
			put_event(a, SPI_getvalue(tup, desc, 3), psprintf(INT64_FORMAT, DatumGetInt64(pos)),
					  SPI_getvalue(tup, desc, 4), SPI_getvalue(tup, desc, 5));
	}
}

/* reads as the owner; builds the answer in the caller's memory */
static Jsonb *
read_history(Oid rel, const char *channel, int64 after, int max, MemoryContext caller)
{
	HistoryAnswer a = {.max = max, .caller = caller};
	Oid			type = INT8OID;
	Datum		arg = Int64GetDatum(after);
	JsonbValue *res;
	bool		expired = false;
	bool		isnull;
	MemoryContext spi;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (after != 0)
	{
		if (SPI_execute_plan(history_kept_plan(&plans.expired, EXPIRED_SQL, 1, &type), &arg, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the history partitions");
		expired = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (expired)
		after = 0;				/* what is kept, for the client to go on from */

	spi = MemoryContextSwitchTo(caller);
	pushJsonbValue(&a.st, WJB_BEGIN_OBJECT, NULL);
	rtpush_jsonb_put_key(&a.st, "events");
	pushJsonbValue(&a.st, WJB_BEGIN_ARRAY, NULL);
	MemoryContextSwitchTo(spi);
	if (get_attnum(rel, "positions") != InvalidAttrNumber)
		read_groups(&a, CStringGetTextDatum(channel), after);
	else
		read_rows_04(&a, CStringGetTextDatum(channel), after);

	MemoryContextSwitchTo(caller);
	pushJsonbValue(&a.st, WJB_END_ARRAY, NULL);
	rtpush_jsonb_put_bool(&a.st, "more", a.more);
	rtpush_jsonb_put_bool(&a.st, "expired", expired);
	res = pushJsonbValue(&a.st, WJB_END_OBJECT, NULL);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return JsonbValueToJsonb(res);
}

/* read_history() as the owner of rtpush.history */
static Jsonb *
read_as_owner(const char *channel, int64 after, int max)
{
	Oid			saved_user;
	int			saved_sec;
	Jsonb	   *volatile res = NULL;
	Oid			owner;
	Oid			rel = history_table(&owner);

	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		res = read_history(rel, channel, after, max, CurrentMemoryContext);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_sec);
	}
	PG_END_TRY();
	return res;
}

/*
 * rtpush.history(user_id text, channel text, after text DEFAULT NULL,
 *				  max_events integer DEFAULT 100) RETURNS jsonb
 */
Datum
rtpush_history(PG_FUNCTION_ARGS)
{
	char	   *user_id;
	char	   *channel;
	int64		after;
	int			max;

	rtpush_require_arg(fcinfo, 0, "user_id");
	rtpush_require_arg(fcinfo, 1, "channel");
	rtpush_require_arg(fcinfo, 3, "max_events");
	user_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
	rtpush_check_channel(channel);
	rtpush_check_user_id(user_id);
	after = parse_position(fcinfo);
	max = parse_max_events(fcinfo);
	require_history_on();

	/* a public channel needs no authorization to subscribe: nor to catch up */
	if (pusher_channel_is_private(channel) || pusher_channel_is_presence(channel))
		rtpush_enforce_channel_rules(channel, user_id);
	PG_RETURN_JSONB_P(read_as_owner(channel, after, max));
}
