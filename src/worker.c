/*-------------------------------------------------------------------------
 * worker.c
 *	  A delivery background worker, one per database (started by the
 *	  launcher, launcher.c): its start, signals, the main loop and its
 *	  short transactions.
 *
 * It takes the slot the launcher gave it in shared memory, connects to its
 * database by oid and looks for the rtpush extension: without it, it says
 * so in its slot and exits (code 0), and the launcher starts it again
 * after a CREATE EXTENSION.  After a DROP EXTENSION it waits for the
 * extension for EXTENSION_WAIT_MS, then leaves the same way.  The worker
 * of a non-empty rtpush.database_name stays instead, waiting for the
 * extension (waiting_for_extension), as the one worker did before 0.7.
 *
 * Each turn of the loop: write the outcomes of finished requests and fetch
 * newly committed events (one short transaction, no snapshot or lock kept
 * afterwards), start the requests that order and free slots allow, then
 * wait on the latch (set at COMMIT by writers), curl's sockets, the next
 * retry and the fallback poll.  No network I/O ever happens inside a
 * transaction.  Events leave the outbox only once the endpoint accepted
 * them, so a crash or SIGKILL loses nothing: after a restart, what was in
 * flight is sent again (at least once).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "app.h"
#include "clock.h"
#include "delivery.h"
#include "delivery_health.h"
#include "history_store.h"
#include "http.h"
#include "outbox_drain.h"
#include "schedule.h"
#include "settings.h"
#include "status.h"
#include "worker_errors.h"

PGDLLEXPORT void rtpush_worker_main(Datum arg);

#define ERROR_PAUSE_MS 1000
#define EXTENSION_WAIT_MS 60000 /* after DROP EXTENSION, then the worker leaves */

static volatile sig_atomic_t got_sigterm = false;
static Oid	extension_oid = InvalidOid;
static TimestampTz next_poll = 0;
static bool fetch_more = true;
static bool held_in_xact = false;	/* this transaction gave events to the held set */
static bool wake_pending = true;
static bool recheck_extension = true;	/* look it up in the next transaction */
static const char *reported_state = NULL; /* its name; NULL: report again */
static SlotExit exit_how = SLOT_EXIT_ERROR; /* what the launcher is told */
static uint64 generation_before_xact = 0;	/* CREATE EXTENSIONs counted then */
static uint64 no_extension_generation = 0;	/* as of the last check that found none */
static TimestampTz extension_lost_at = 0;	/* since when it is gone, or 0 */
static char database_name[NAMEDATALEN];
static TimestampTz error_until = 0; /* no transaction before, after an error */
static Coalescer coalescer;	/* when a commit's fetch waits (schedule.h) */

static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
worker_exit(int code, Datum arg)
{
	http_cleanup();
	rtpush_status_worker_exited(exit_how, no_extension_generation);
}

/* ---- the short transaction ---- */

static void
write_outcomes(void)
{
	DeliveryOutcomes *o = delivery_outcomes();

	outbox_delete(o->deleted, o->ndeleted);
	outbox_retry(o->retries, o->nretries);
	outbox_dead_letter(o->dead, o->ndead);
}

/*
 * Fetches what delivery_start_fetch() says and hands it to delivery_add();
 * with history on, the events it holds get their positions and history
 * rows in this transaction, before any of them is sent.
 */
static void
fetch_events(void)
{
	OutboxEvent *evs[FETCH_PAGE];
	OutboxEvent *held[FETCH_PAGE];
	FetchPlan	plan = delivery_start_fetch();
	TimestampTz started = rtpush_clock_now();
	int			n,
				nheld = 0;
	bool		positions;

	if (plan.kind == FETCH_NOTHING)
		return;
	if (!history_prepare())
	{
		/*
		 * No partition for the next position yet (its upkeep failed, e.g.
		 * on a lock): events wait in the outbox, the next poll tries again.
		 */
		fetch_more = false;
		return;
	}
	positions = history_active();
	if (plan.kind == FETCH_FROM_START)
	{
		/* events of parked channels lie behind the read: read it all again */
		outbox_rewind();
		fetch_more = true;
	}
	if (outbox_reading_from_start())
	{
		/*
		 * A read from the start meets the rows of events delivered or
		 * dead-lettered just now, deleted by this transaction: a snapshot
		 * taken after those deletes does not see them.
		 */
		CommandCounterIncrement();
		PopActiveSnapshot();
		PushActiveSnapshot(GetTransactionSnapshot());
	}
	n = outbox_fetch(evs, Min(plan.max, FETCH_PAGE), &fetch_more, delivery_context());
	coalescer.max_window_ms = rtpush_coalesce_max_wait;
	schedule_fetched(&coalescer, started, n);
	for (int i = 0; i < n; i++)
	{
		if (positions)
			history_stamp(evs[i]);
		if (delivery_add(evs[i]))
			held[nheld++] = evs[i];
	}
	held_in_xact |= nheld > 0;
	if (positions)
		history_record(held, nheld);
}

/*
 * Forgets every request in flight and every event held: what was not
 * recorded as delivered is read from the outbox again (at least once).
 */
static void
start_over(void)
{
	http_abandon_all();
	delivery_reset();
	outbox_forget();
	history_forget();
}

/* Checks that the extension is there, and notices it being recreated. */
static bool
extension_ready(void)
{
	Oid			oid;

	/*
	 * pg_extension has no syscache: look it up at start, at each poll and
	 * after an error only (a dropped extension makes the fetch fail).
	 */
	if (!recheck_extension && OidIsValid(extension_oid))
		return true;
	recheck_extension = false;
	oid = outbox_extension_oid();

	if (oid != extension_oid)
	{
		start_over();
		extension_oid = oid;
	}
	if (!OidIsValid(oid))
	{
		fetch_more = false;		/* nothing to read until CREATE EXTENSION */
		no_extension_generation = generation_before_xact;
		if (extension_lost_at == 0)
			extension_lost_at = GetCurrentTimestamp();
	}
	else
		extension_lost_at = 0;
	return OidIsValid(oid);
}

/*
 * A reload, or this database's app changed: sizes and limits again, and a
 * fetch (a worker that was not configured read nothing).
 */
static void
settings_changed(void)
{
	wake_pending = true;
	/* before the next fetch's snapshot: see rtpush_status_want_wakes() */
	if (rtpush_app_configured(rtpush_app_cached()))
		rtpush_status_want_wakes(true);
	outbox_settings_changed();
	delivery_settings_changed();
	rtpush_status_set_app(rtpush_app_cached()->app_id, rtpush_app_cached()->own);
}

static void
app_changed(void)
{
	const RtpushApp *app = rtpush_app_cached();

	settings_changed();
	if (rtpush_app_configured(app))
		ereport(LOG,
				(errmsg("rtpush delivers to app \"%s\" at %s://%s:%d", app->app_id, app->scheme,
						rtpush_app_host(app), rtpush_app_port(app)),
				 errdetail(app->own ? "The database's own app (rtpush.set_app)." :
						   "The cluster-wide settings (rtpush.app_id, rtpush.host, ...).")));
}

/*
 * One short transaction: write outcomes, then fetch.  Starting, committing
 * and aborting a transaction each leave CurrentMemoryContext elsewhere
 * (TopMemoryContext after the end): the caller's context, the worker's
 * per-turn one, is restored after each, so that per-turn memory is freed
 * with the turn.
 */
static bool
run_transaction(bool fetch)
{
	volatile bool ok = true;
	MemoryContext cxt = CurrentMemoryContext;

	held_in_xact = false;
	generation_before_xact = rtpush_status_extension_generation();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "rtpush: recording outcomes, fetching events");
		if (extension_ready())
		{
			write_outcomes();
			if (fetch)
				fetch_events();
			/* rtpush.set_app() in this database: before sending what it read */
			if (rtpush_app_refresh(held_in_xact))
				app_changed();
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
		delivery_outcomes_written();
		worker_error_cleared(true);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		worker_log_caught_error(edata, true);
		outbox_drop_plans();
		/* the history rows of what it held are gone: never send those */
		if (held_in_xact && history_active())
			start_over();
		else
			history_forget();
		recheck_extension = true;
		error_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ERROR_PAUSE_MS);
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_stat(false);
	reported_state = NULL;		/* report_state() shows it again */
	return ok;
}

/* ---- the loop ---- */

/* the state now (the states: worker_state.h); *note: what to check, or NULL */
static WorkerState
current_state(const char **note)
{
	*note = NULL;
	if (!OidIsValid(extension_oid))
		return WORKER_WAITING_FOR_EXTENSION;
	if (!rtpush_app_configured(rtpush_app_cached()))
		return WORKER_NOT_CONFIGURED;
	if ((*note = health_state()) != NULL)
		return WORKER_MISCONFIGURED;
	if (http_active() > 0)
		return WORKER_DELIVERING;
	if (delivery_paused())
		return WORKER_PAUSED;
	if (delivery_held() > 0)
		return WORKER_WAITING_TO_RETRY;
	return WORKER_IDLE;
}

/* rtpush.status and pg_stat_activity (as the query text) show the state */
static void
report_state(void)
{
	const char *note;
	WorkerState state = current_state(&note);
	char		text[WORKER_STATE_TEXT_SIZE];

	if (worker_state_name(state) == reported_state)
		return;
	rtpush_status_set_state(state, note);
	worker_state_text(state, note, text, sizeof(text));
	pgstat_report_activity(http_active() > 0 ? STATE_RUNNING : STATE_IDLE, text);
	reported_state = worker_state_name(state);
}

static long
wait_timeout(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		t = TimestampDifferenceMilliseconds(now, next_poll);
	long		due = delivery_next_due_ms();

	if (!OidIsValid(extension_oid))
		return t;
	if (due >= 0 && due < t)
		t = due;
	return t;
}

static void
reload_if_asked(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		settings_changed();
	}
}

/*
 * What to fetch now.  Nothing without an app to deliver to: a worker not
 * configured reads no events (it would hold them, and write their history
 * rows, for nothing); it only looks for its app in a transaction now and
 * then (see loop_once()).
 */
static FetchKind
fetch_kind(bool asked)
{
	if (!rtpush_app_configured(rtpush_app_cached()))
		return FETCH_NOTHING;
	return delivery_next_fetch(asked).kind;
}

static void
loop_once(MemoryContext turn, bool *woken)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		poll_due = now >= next_poll;
	bool		configured = rtpush_app_configured(rtpush_app_cached());
	FetchKind	kind;
	bool		want_fetch;
	bool		look_for_app;
	long		coalesce_ms = 0;
	long		timeout;

	/* a wake is kept until a fetch has seen what woke us */
	wake_pending |= *woken;
	kind = fetch_kind(wake_pending || poll_due || fetch_more);
	want_fetch = kind != FETCH_NOTHING;
	/* not configured: rtpush.set_app() woke it, or the poll is due */
	look_for_app = !configured && (wake_pending || poll_due);
	/* under a stream, a commit's fetch waits for the commits behind it */
	if (want_fetch && kind == FETCH_ON && !poll_due && !fetch_more &&
		(coalesce_ms = schedule_coalesce_ms(&coalescer, rtpush_clock_now())) > 0)
		want_fetch = false;

	if (poll_due)
		next_poll = TimestampTzPlusMilliseconds(now, rtpush_poll_interval);
	if (now < error_until)
		want_fetch = false;		/* a pause after an error: outcomes wait too */
	if (now >= error_until && (want_fetch || look_for_app || delivery_outcomes_due(now)))
	{
		if (want_fetch || look_for_app)
			wake_pending = false;
		if (poll_due)
			recheck_extension = true;
		if (!run_transaction(want_fetch))
			next_poll = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ERROR_PAUSE_MS);
	}

	MemoryContextReset(turn);
	if (OidIsValid(extension_oid))
		delivery_dispatch();
	report_state();
	health_tick(delivery_held());
	rtpush_status_counts(http_active(), delivery_held(), delivery_parked());

	timeout = wait_timeout();
	if (fetch_more && fetch_kind(true) != FETCH_NOTHING)
		timeout = 0;			/* more rows in the window */
	else if (delivery_has_outcomes())
		timeout = Min(timeout, OUTCOME_DELAY_MS);
	if (coalesce_ms > 0)
		timeout = Min(timeout, coalesce_ms);
	if (now < error_until)
		timeout = Max(timeout, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), error_until));
	/*
	 * The window's end fetches what commits during it: they need not wake
	 * it.  Nor need they wake a worker without an app (rtpush.set_app()
	 * still does).
	 */
	if (coalesce_ms > 0 || !rtpush_app_configured(rtpush_app_cached()))
		rtpush_status_want_wakes(false);
	*woken = http_wait(timeout, PG_WAIT_EXTENSION);
	rtpush_status_want_wakes(rtpush_app_configured(rtpush_app_cached()));
	CHECK_FOR_INTERRUPTS();
	reload_if_asked();
}

/*
 * A pause after an error, cut short only by SIGTERM (commits set the latch
 * too: they must not turn the pause into a busy loop).
 */
static void
pause_after_error(void)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ERROR_PAUSE_MS);
	long		left;

	while (!got_sigterm &&
		   (left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until)) > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * One turn; an error outside the turn's transaction (building, starting or
 * finishing requests: libcurl refusing a setting, out of memory) is logged
 * whole, every request and held event is forgotten (the outbox still has
 * them), and the worker goes on after a pause instead of exiting.
 */
static void
guarded_turn(MemoryContext turn, bool *woken)
{
	PG_TRY();
	{
		loop_once(turn, woken);
		worker_error_cleared(false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(turn);
		edata = CopyErrorData();
		FlushErrorState();
		/* nothing runs in a transaction here, but leave none behind */
		AbortOutOfAnyTransaction();
		MemoryContextSwitchTo(TopMemoryContext);
		rtpush_status_want_wakes(true);
		worker_log_caught_error(edata, false);
		MemoryContextReset(turn);
		MemoryContextSwitchTo(turn);
		start_over();
		reported_state = NULL;
		pause_after_error();
		*woken = true;
		fetch_more = true;
	}
	PG_END_TRY();
}

/* On SIGTERM: give requests in flight a moment, record what finished. */
static void
drain_on_exit(MemoryContext turn)
{
	TimestampTz stop_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  rtpush_status_stepping_aside() ? 500 : 2000);

	rtpush_status_set_state(WORKER_STOPPING, NULL);
	while (http_active() > 0 && GetCurrentTimestamp() < stop_at)
	{
		MemoryContextReset(turn);
		(void) http_wait(100, PG_WAIT_EXTENSION);
	}
	if (delivery_has_outcomes())
		(void) run_transaction(false);
}

/*
 * gone since DROP EXTENSION for EXTENSION_WAIT_MS: leave the slot (but
 * rtpush.database_name's worker waits, as before 0.7)
 */
static bool
extension_gone_long(void)
{
	return rtpush_database_name[0] == '\0' &&
		!OidIsValid(extension_oid) && extension_lost_at != 0 &&
		GetCurrentTimestamp() >= TimestampTzPlusMilliseconds(extension_lost_at, EXTENSION_WAIT_MS);
}

/*
 * At start, connected: is rtpush there?  Also reads the database's name.
 * The CREATE EXTENSION count is read before the look: one that commits
 * after it makes the launcher start a worker again.
 */
static bool
extension_at_start(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			oid;
	char	   *name;

	no_extension_generation = rtpush_status_extension_generation();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	oid = outbox_extension_oid();
	name = get_database_name(MyDatabaseId);
	strlcpy(database_name, name ? name : "", sizeof(database_name));
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return OidIsValid(oid);
}

/* takes its slot and connects; false: no rtpush in the database */
static bool
worker_start(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	int			slot;

	memcpy(&slot, MyBgworkerEntry->bgw_extra, sizeof(slot));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, handle_sigterm);
	BackgroundWorkerUnblockSignals();
	/* not its slot any more, or its database is being dropped or renamed */
	if (!rtpush_status_attach(slot, dboid))
		proc_exit(0);
	on_shmem_exit(worker_exit, (Datum) 0);
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	rtpush_status_worker_connected();
	pgstat_report_appname("rtpush delivery worker");
	return extension_at_start();
}

void
rtpush_worker_main(Datum arg)
{
	MemoryContext turn;
	bool		woken = true;

	/* rtpush.database_name's worker waits for the extension, as before 0.7 */
	if (!worker_start(arg) && rtpush_database_name[0] == '\0')
	{
		exit_how = SLOT_EXIT_NO_EXTENSION;
		proc_exit(0);
	}
	outbox_plan_settings();
	http_init();
	delivery_init();
	turn = AllocSetContextCreate(TopMemoryContext, "rtpush worker turn",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(turn);
	next_poll = GetCurrentTimestamp();

	ereport(LOG,
			(errmsg("rtpush delivery worker started in database \"%s\"",
					database_name)));
	while (!got_sigterm && !extension_gone_long())
		guarded_turn(turn, &woken);
	drain_on_exit(turn);
	/* the launcher starts it again, or after a CREATE EXTENSION */
	exit_how = got_sigterm ? SLOT_EXIT_STOPPED : SLOT_EXIT_NO_EXTENSION;
	proc_exit(0);
}
