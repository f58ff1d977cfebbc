/*-------------------------------------------------------------------------
 * history_store.c
 *	  The worker's side of history (rtpush--0.3--0.4.sql, section 50): the
 *	  positions it gives and the upkeep of the partitions.  An outbox module: with outbox*.c and history_read.c the
 *	  only code that touches rtpush's event tables.
 *
 * A position is the clock in milliseconds since 1970 shifted left by 20
 * bits, or one more than the last position when that is greater: positions
 * strictly increase while the worker lives, and since the clock goes on,
 * across restarts and failovers too.  They are given in fetch order to the
 * events the held set accepted, which it dispatches per channel in that
 * order: per channel, positions increase in the order events are sent.
 *
 * The rows are written (history_write.c) in the transaction that fetched
 * the events, before any request is sent: a client can never have received
 * an event live that history does not hold.  (If that transaction fails,
 * the worker forgets what it held and reads it again: see worker.c.)
 *
 * Upkeep is rtpush.history_maintain(): it drops the partitions older than
 * rtpush.history_retention and creates them ahead; this file calls it when
 * due, in a subtransaction, and keeps the position the partitions reach.
 * An extension older than 0.4 has no history: it is then off.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "history_store.h"
#include "settings.h"

#define POSITION_SHIFT 20
#define UNIX_EPOCH_MS ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)

typedef struct HistoryStore
{
	int64		last;			/* the last position given */
	int64		covered;		/* partitions reach below this; 0: unknown */
	bool		available;		/* the extension has rtpush.history_maintain */
	int			maintained_for; /* retention (s) of the last upkeep; -1: none */
	TimestampTz next_due;		/* next upkeep */
	TimestampTz logged_at;		/* the last failed upkeep logged */
	int			failures;		/* failed upkeeps since then */
	bool		failing;		/* the last upkeep failed: wait for next_due */
} HistoryStore;

/* available until an upkeep finds otherwise: no event goes without history by mistake */
static HistoryStore store = {.available = true, .maintained_for = -1};

static int64
position_at(TimestampTz t)
{
	return (t / 1000 + UNIX_EPOCH_MS) << POSITION_SHIFT;
}

void
history_forget(void)
{
	store.covered = 0;
	store.available = true;
	store.maintained_for = -1;
	store.next_due = 0;
	store.failing = false;
	history_write_forget();
}

bool
history_active(void)
{
	return rtpush_history_retention > 0 && store.available &&
		store.maintained_for == rtpush_history_retention;
}

/* Runs rtpush.history_maintain(); errors propagate. */
static void
maintain(void)
{
	Oid			type = INT4OID;
	Datum		arg = Int32GetDatum(rtpush_history_retention);
	bool		isnull;

	if (SPI_execute("SELECT to_regprocedure('rtpush.history_maintain(interval,timestamptz)') IS NOT NULL",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up rtpush.history_maintain");
	store.available = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!store.available)
		return;
	if (SPI_execute_with_args("SELECT rtpush.history_maintain(make_interval(secs => $1::float8))",
							  1, &type, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not maintain the history partitions");
	store.covered = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (store.last == 0 && store.covered > 0)
	{
		/* go on after the positions given before, even if the clock went back */
		if (SPI_execute("SELECT rtpush.history_last_position()", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the last history position");
		store.last = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
}

/* The upkeep in a subtransaction: a failure is logged, and tried again. */
static void
maintain_in_subtransaction(TimestampTz now)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		maintain();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		store.maintained_for = rtpush_history_retention;
		store.next_due = TimestampTzPlusMilliseconds(now, HISTORY_MAINTAIN_MS);
		store.failing = false;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		store.next_due = TimestampTzPlusMilliseconds(now, HISTORY_RETRY_MS);
		store.failing = true;
		store.failures++;
		/* once per rtpush.log_failure_interval while it goes on failing */
		if (TimestampDifferenceExceeds(store.logged_at, now, rtpush_log_failure_interval))
		{
			ereport(LOG,
					(errcode(edata->sqlerrcode),
					 errmsg("rtpush delivery worker could not keep up the history partitions: %s",
							edata->message),
					 errdetail_plural("%d failed attempt since the last report.",
									  "%d failed attempts since the last report.",
									  store.failures, store.failures),
					 errhint("The worker tries again every second; events wait in the outbox while no partition holds their position.  A lock timeout means a session holds a lock on rtpush.history.")));
			store.logged_at = now;
			store.failures = 0;
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

bool
history_prepare(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		changed = store.maintained_for != rtpush_history_retention;
	bool		off = rtpush_history_retention == 0;
	int64		next = Max(store.last + 1, position_at(now));

	/*
	 * Upkeep when the retention changed, when due, when the partitions are
	 * about to run out (unless the last upkeep failed: then when due, a
	 * second later), and each time on an extension older than 0.4 (it may
	 * be updated).
	 */
	if (changed || now >= store.next_due || !store.available ||
		(!off && !store.failing &&
		 next + ((int64) HISTORY_MARGIN_MS << POSITION_SHIFT) >= store.covered))
	{
		/* with history off, one upkeep drops what was kept; then none */
		if (!(off && !changed))
			maintain_in_subtransaction(now);
	}
	if (off || !store.available)
		return true;			/* events go without history */
	return store.maintained_for == rtpush_history_retention && next < store.covered;
}

void
history_stamp(OutboxEvent *ev)
{
	int64		next = Max(store.last + 1, position_at(GetCurrentTimestamp()));

	ev->position = next;
	store.last = next;
}
