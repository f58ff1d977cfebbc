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
 *   - first those history holds (delivered or in flight), by position;
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
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "args.h"
#include "auth.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_history);

/* at most this many events per call */
#define HISTORY_MAX_EVENTS 1000
/* a position more than this far in the future is from another history */
#define HISTORY_FUTURE_SLACK "1 minute"

/*
 * $1 channel, $2 after (0: from the start), $3 max_events.  Part 1: what
 * history holds, by position; part 2: what is queued and not in history.
 * The outbox part looks for an event's history rows from a minute before
 * it was queued: it cannot have been given a position earlier.
 */
static const char *READ_SQL =
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

/* The backend's kept plans of the two reads: planning them cost more than running them. */
typedef struct HistoryReadPlans
{
	SPIPlanPtr	read;
	SPIPlanPtr	expired;
} HistoryReadPlans;

static HistoryReadPlans plans;

static SPIPlanPtr
kept_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the history read: %s", SPI_result_code_string(SPI_result));
		*plan = p;
	}
	return *plan;
}

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

/* the owner of rtpush.history, as whom the reads run */
static Oid
history_owner(void)
{
	Oid			nsp = get_namespace_oid("rtpush", false);
	Oid			rel = get_relname_relid("history", nsp);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush history is not installed"),
				 errdetail("This database has rtpush at a version older than 0.4."),
				 errhint("Run ALTER EXTENSION rtpush UPDATE.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", rel);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* one row of READ_SQL as {"id", "position", "event", "data"} */
static void
put_event(JsonbParseState **st, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		pos = SPI_getbinval(tup, desc, 2, &isnull);
	char	   *data = SPI_getvalue(tup, desc, 5);

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	rtpush_jsonb_put_string(st, "id", SPI_getvalue(tup, desc, 3));
	rtpush_jsonb_put_string(st, "position", isnull ? NULL : psprintf(INT64_FORMAT, DatumGetInt64(pos)));
	rtpush_jsonb_put_string(st, "event", SPI_getvalue(tup, desc, 4));
	if (isnull)
	{
		const char *plain;
		size_t		len;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

		/* queued: the data as it is sent, less the members history adds */
		payload_plain(id, 0, data, strlen(data), &plain, &len);
		data = pnstrdup(plain, len);
	}
	rtpush_jsonb_put_string(st, "data", data);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* reads as the owner; builds the answer in the caller's memory */
static Jsonb *
read_history(const char *channel, int64 after, int max, MemoryContext caller)
{
	Oid			types[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		args[3] = {CStringGetTextDatum(channel), Int64GetDatum(after), Int32GetDatum(max)};
	JsonbParseState *st = NULL;
	JsonbValue *res;
	bool		expired = false;
	bool		isnull;
	int			n = 0;
	uint64		rows;
	MemoryContext spi;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (after != 0)
	{
		if (SPI_execute_plan(kept_plan(&plans.expired, EXPIRED_SQL, 1, &types[1]), &args[1], NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the history partitions");
		expired = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (expired)
		args[1] = Int64GetDatum(0); /* what is kept, for the client to go on from */
	if (SPI_execute_plan(kept_plan(&plans.read, READ_SQL, 3, types), args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read history");
	rows = SPI_processed;

	spi = MemoryContextSwitchTo(caller);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	rtpush_jsonb_put_key(&st, "events");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (uint64 i = 0; i < rows && n < max; i++, n++)
		put_event(&st, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	rtpush_jsonb_put_bool(&st, "more", rows > (uint64) max);
	rtpush_jsonb_put_bool(&st, "expired", expired);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
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

	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(history_owner(), saved_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		res = read_history(channel, after, max, CurrentMemoryContext);
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
