/*-------------------------------------------------------------------------
 * launcher.c
 *	  The launcher: one static background worker per cluster that starts,
 *	  watches and restarts one dynamic delivery worker per database.
 *
 * It owns the decision which database has a worker.  Connected to the
 * shared catalogs only, it looks at pg_database (launcher_scan.c) every
 * second and whenever its latch is set (a worker started or exited, a
 * CREATE EXTENSION committed, a DROP/RENAME DATABASE ended).  Each
 * database that allows connections, is not a template and is the one
 * rtpush.database_name names (when set) gets a slot in shared memory
 * (rtpush.max_databases of them) and a worker (BGW_NEVER_RESTART, its
 * database's oid in bgw_main_arg, its slot in bgw_extra, the launcher
 * notified of its start and exit).  How the worker left its slot decides
 * what comes next:
 *
 *   no extension  the database has no rtpush: the slot is given back and
 *                 the database is looked at again once a CREATE EXTENSION
 *                 commits in it (dbguard.c reports where, with the
 *                 cluster's count of them: one that committed after the
 *                 worker looked counts), or after REPROBE_MS as a safety
 *                 net
 *   stopped       SIGTERM (pg_terminate_backend, ALLOW_CONNECTIONS false):
 *                 started again at the next look, if the database still
 *                 qualifies
 *   error         FATAL or an ERROR that ended it: started again after a
 *                 backoff, 1 s doubling up to BACKOFF_MAX_MS (reset once a
 *                 worker ran BACKOFF_RESET_MS), never a restart loop
 *
 * A database that is being dropped or renamed (dbguard.c) gets no worker
 * until that statement's transaction ends; one that is gone, refuses
 * connections or no longer matches has its worker stopped and its slot
 * given back.  A database that finds no free slot or no free background
 * worker is logged (once per rtpush.log_failure_interval) and shown in
 * rtpush.status as waiting_for_worker: never a silent stall.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "launcher.h"
#include "settings.h"
#include "status.h"

PGDLLEXPORT void rtpush_launcher_main(Datum arg);

#define LOOK_INTERVAL_MS 1000	/* pg_database looked at this often */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 30000	/* a worker that ran this long: backoff reset */
#define REPROBE_MS 300000		/* a database without rtpush, looked at again */

typedef struct Launcher
{
	HTAB	   *dbs;			/* LauncherDb by oid */
	Oid			aside[RTPUSH_MAX_ASIDE];	/* as before this look's scan */
	bool		short_of_slots; /* in this look */
	bool		got_sigterm;
} Launcher;

static Launcher L;

void
rtpush_register_launcher(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 1;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "rtpush");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "rtpush_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "rtpush launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "rtpush launcher");
	RegisterBackgroundWorker(&w);
}

static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	L.got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* ---- starting a worker ---- */

static void
log_no_slot(LauncherDb *d)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("rtpush launcher cannot start a delivery worker: all %d slots of rtpush.max_databases are taken",
					rtpush_max_databases),
			 errdetail("Database \"%s\" gets no delivery worker until a slot is free; its events wait in its outbox (a database without rtpush takes a slot only while a worker looks).",
					   d->name),
			 errhint("Raise rtpush.max_databases and restart the server, or set rtpush.database_name to the one database to deliver from.")));
}

static void
log_no_worker(LauncherDb *d)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("rtpush launcher cannot start a delivery worker: no background worker slot is free"),
			 errdetail("Database \"%s\" gets no delivery worker until one is free; its events wait in its outbox.",
					   d->name),
			 errhint("Raise max_worker_processes and restart the server: rtpush needs one for its launcher and one for each database with rtpush.")));
}

/* logs why d has no worker, once per rtpush.log_failure_interval */
static void
report_shortage(LauncherDb *d, bool no_slot, TimestampTz now)
{
	if (d->warned_at != 0 &&
		now < TimestampTzPlusMilliseconds(d->warned_at, rtpush_log_failure_interval))
		return;
	d->warned_at = now;
	if (no_slot)
		log_no_slot(d);
	else
		log_no_worker(d);
}

static void
fill_worker(BackgroundWorker *w, LauncherDb *d)
{
	memset(w, 0, sizeof(*w));
	w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w->bgw_start_time = BgWorkerStart_RecoveryFinished;
	w->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "rtpush");
	snprintf(w->bgw_function_name, BGW_MAXLEN, "rtpush_worker_main");
	snprintf(w->bgw_name, BGW_MAXLEN, "rtpush delivery worker for database %s", d->name);
	snprintf(w->bgw_type, BGW_MAXLEN, "rtpush delivery worker");
	w->bgw_main_arg = ObjectIdGetDatum(d->oid);
	memcpy(w->bgw_extra, &d->slot, sizeof(d->slot));
	w->bgw_notify_pid = MyProcPid;
}

static void
start_worker(LauncherDb *d, TimestampTz now)
{
	BackgroundWorker w;
	pid_t		pid;

	d->slot = rtpush_status_claim_slot(d->oid);
	if (d->slot < 0)
	{
		L.short_of_slots = true;
		report_shortage(d, true, now);
		return;
	}
	fill_worker(&w, d);
	if (!RegisterDynamicBackgroundWorker(&w, &d->handle))
	{
		d->handle = NULL;
		rtpush_status_set_slot_state(d->slot, WORKER_WAITING_FOR_WORKER, "max_worker_processes");
		report_shortage(d, false, now);
		return;
	}
	d->started_at = now;
	d->warned_at = 0;
	if (WaitForBackgroundWorkerStartup(d->handle, &pid) == BGWH_POSTMASTER_DIED)
		proc_exit(1);
}

/* ---- what a worker's exit means ---- */

static void
give_back_slot(LauncherDb *d)
{
	if (d->slot >= 0)
		rtpush_status_release_slot(d->slot);
	d->slot = -1;
}

static void
worker_exited(LauncherDb *d, TimestampTz now)
{
	uint64		generation;
	SlotExit	how = rtpush_status_slot_exit(d->slot, &generation);
	int			backoff;

	pfree(d->handle);
	d->handle = NULL;
	d->stopping = false;
	if (how == SLOT_EXIT_NO_EXTENSION)
	{
		d->no_extension = true;
		d->generation = generation;
		d->probed_at = now;
		d->failures = 0;
		give_back_slot(d);
		return;
	}
	if (how == SLOT_EXIT_STOPPED)
	{
		d->retry_at = now;
		return;
	}
	if (now >= TimestampTzPlusMilliseconds(d->started_at, BACKOFF_RESET_MS))
		d->failures = 0;
	backoff = BACKOFF_MIN_MS << Min(d->failures, 5);
	backoff = Min(backoff, BACKOFF_MAX_MS);
	d->failures++;
	d->retry_at = TimestampTzPlusMilliseconds(now, backoff);
	ereport(LOG,
			(errmsg("rtpush launcher: the delivery worker of database \"%s\" exited with an error, starting it again in %d ms",
					d->name, backoff)));
}

/* ---- one look ---- */

static bool
is_aside(Oid dboid)
{
	for (int i = 0; i < RTPUSH_MAX_ASIDE; i++)
		if (L.aside[i] == dboid)
			return true;
	return rtpush_status_is_aside(dboid);
}

/* should d get a worker now (it qualifies and has none)? */
static bool
worker_due(LauncherDb *d, TimestampTz now)
{
	if (is_aside(d->oid) || now < d->retry_at)
		return false;
	/* a worker of an earlier launcher still in the slot: wait for it */
	if (rtpush_status_worker_of(d->oid) != 0)
		return false;
	if (!d->no_extension)
		return true;
	/* a CREATE EXTENSION there committed after its worker looked */
	return d->created_generation > d->generation ||
		now >= TimestampTzPlusMilliseconds(d->probed_at, REPROBE_MS);
}

/* the CREATE EXTENSIONs committed since the last look: where, and when */
static void
note_created(void)
{
	ExtensionCreated created[RTPUSH_MAX_CREATED];
	bool		overflow;
	int			n = rtpush_status_take_created(created, &overflow);
	uint64		now_generation = rtpush_status_extension_generation();
	HASH_SEQ_STATUS it;
	LauncherDb *d;

	for (int i = 0; i < n; i++)
	{
		d = hash_search(L.dbs, &created[i].dboid, HASH_FIND, NULL);
		if (d)
			d->created_generation = Max(d->created_generation, created[i].generation);
	}
	if (!overflow)
		return;
	/* too many to tell apart: look at every database without rtpush again */
	hash_seq_init(&it, L.dbs);
	while ((d = hash_seq_search(&it)) != NULL)
		d->created_generation = now_generation;
}

/* d's worker, if any, is running (or starting), has exited, or there is none */
static void
follow_worker(LauncherDb *d, TimestampTz now)
{
	pid_t		pid;

	if (d->handle == NULL)
		return;
	if (GetBackgroundWorkerPid(d->handle, &pid) == BGWH_STOPPED)
		worker_exited(d, now);
	else if (!d->qualifies && !d->stopping)
	{
		/* gone, refusing connections or no longer rtpush.database_name */
		TerminateBackgroundWorker(d->handle);
		d->stopping = true;
	}
}

static void
look(void)
{
	TimestampTz now = GetCurrentTimestamp();
	HASH_SEQ_STATUS it;
	LauncherDb *d;

	/* taken before the scan: a DROP that ends during it is seen by it */
	rtpush_status_aside_list(L.aside);
	launcher_scan(L.dbs);
	note_created();
	L.short_of_slots = false;
	hash_seq_init(&it, L.dbs);
	while ((d = hash_seq_search(&it)) != NULL)
	{
		follow_worker(d, now);
		if (d->qualifies && d->handle == NULL && worker_due(d, now))
			start_worker(d, now);
		else if (!d->qualifies && d->handle == NULL)
		{
			give_back_slot(d);
			(void) hash_search(L.dbs, &d->oid, HASH_REMOVE, NULL);
		}
	}
	rtpush_status_set_slots_short(L.short_of_slots);
}

/* until the next look: a second, or a retry that is due sooner */
static long
next_look_ms(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next = TimestampTzPlusMilliseconds(now, LOOK_INTERVAL_MS);
	HASH_SEQ_STATUS it;
	LauncherDb *d;

	hash_seq_init(&it, L.dbs);
	while ((d = hash_seq_search(&it)) != NULL)
		if (d->qualifies && d->handle == NULL && d->retry_at > now && d->retry_at < next)
			next = d->retry_at;
	return Max(TimestampDifferenceMilliseconds(now, next), 10);
}

/* when the launcher exits, so do its workers: a new one starts them again */
static void
launcher_exit(int code, Datum arg)
{
	HASH_SEQ_STATUS it;
	LauncherDb *d;

	if (L.dbs == NULL)
		return;
	hash_seq_init(&it, L.dbs);
	while ((d = hash_seq_search(&it)) != NULL)
		if (d->handle)
			TerminateBackgroundWorker(d->handle);
}

void
rtpush_launcher_main(Datum arg)
{
	HASHCTL		ctl;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, handle_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("rtpush launcher");
	rtpush_status_launcher_started();

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(LauncherDb);
	L.dbs = hash_create("rtpush launcher databases", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	on_shmem_exit(launcher_exit, (Datum) 0);
	if (rtpush_database_name[0])
		ereport(LOG,
				(errmsg("rtpush launcher started: delivery from database \"%s\" only (rtpush.database_name)",
						rtpush_database_name)));
	else
		ereport(LOG,
				(errmsg("rtpush launcher started: delivery from every database with rtpush")));

	while (!L.got_sigterm)
	{
		look();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 next_look_ms(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	/* exit code 1: the postmaster starts the launcher again unless shutting down */
	proc_exit(1);
}
