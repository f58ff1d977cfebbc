/*-------------------------------------------------------------------------
 * dbguard.c
 *	  Keeps the delivery worker out of the way of DROP DATABASE.
 *
 * The worker stays connected to rtpush.database_name, which would make
 * DROP DATABASE of that database fail ("being accessed by other users").
 * A ProcessUtility hook sees DROP DATABASE of it coming: it marks the
 * database as dropped in shared memory and asks the worker to exit; the
 * postmaster restarts the worker, which then waits without connecting
 * until CREATE DATABASE (or ALTER DATABASE ... RENAME TO) brings a database
 * of that name back, or the DROP fails.  No hang, no restart loop.
 *
 * A database that is missing (or refuses connections) when the worker
 * starts makes its connection attempt fail (FATAL, once).  The next worker
 * then connects to no database, only to the shared catalogs, and looks the
 * database up in pg_database every rtpush.poll_interval (and at once when a
 * CREATE DATABASE of that name commits), with a WARNING naming the setting
 * every rtpush.log_failure_interval; once the database is there it exits
 * for the postmaster to start a worker that connects.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "dbguard.h"
#include "settings.h"
#include "status.h"

static ProcessUtility_hook_type prev_utility = NULL;
static bool clear_at_commit = false;
static bool xact_callback_registered = false;

static void
set_dropped(bool dropped)
{
	Latch	   *latch;
	pid_t		pid;

	rtpush_status_set_db_dropped(dropped, &pid, &latch);
	if (dropped && pid != 0)
		kill(pid, SIGTERM);
	else if (latch)
		SetLatch(latch);
}

/* Waits (up to 5 s) for a connected worker to leave. */
static void
wait_worker_gone(void)
{
	for (int i = 0; i < 50 && rtpush_status_worker_is_connected(); i++)
	{
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static const char *
names_our_database(Node *stmt, bool *creates)
{
	*creates = false;
	if (IsA(stmt, DropdbStmt))
		return ((DropdbStmt *) stmt)->dbname;
	*creates = true;
	if (IsA(stmt, CreatedbStmt))
		return ((CreatedbStmt *) stmt)->dbname;
	if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		return ((RenameStmt *) stmt)->newname;
	return NULL;
}

static void
dbguard_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				ProcessUtilityContext context, ParamListInfo params,
				QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		creates_tmp;
	const char *db = names_our_database(pstmt->utilityStmt, &creates_tmp);
	volatile bool creates = creates_tmp;
	volatile bool ours = rtpush_status_available() && db && strcmp(db, rtpush_database_name) == 0 &&
		!IsTransactionBlock();	/* there, DROP DATABASE fails anyway */

	if (ours && !creates)
	{
		set_dropped(true);
		wait_worker_gone();
	}
	PG_TRY();
	{
		if (prev_utility)
			prev_utility(pstmt, queryString, readOnlyTree, context, params,
						 queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		if (ours && !creates)
			set_dropped(false); /* the database is still there */
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (ours && creates)
		clear_at_commit = true;
}

/* The database is back once CREATE DATABASE or the RENAME commits. */
static void
dbguard_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && clear_at_commit)
		set_dropped(false);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		clear_at_commit = false;
}

void
rtpush_dbguard_init(void)
{
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = dbguard_utility;
	if (!xact_callback_registered)
		RegisterXactCallback(dbguard_xact_callback, NULL);
	xact_callback_registered = true;
}

/* Waits rtpush.poll_interval or for the latch (set when CREATE DATABASE commits). */
static void
wait_a_poll(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 rtpush_poll_interval, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

void
rtpush_dbguard_wait(volatile sig_atomic_t *stop)
{
	bool		announced = false;

	while (rtpush_status_db_dropped() && !*stop)
	{
		if (!announced)
			ereport(LOG,
					(errmsg("rtpush delivery worker waiting for database \"%s\" to exist",
							rtpush_database_name)));
		announced = true;
		rtpush_status_set_state(WORKER_WAITING_FOR_DATABASE, NULL);
		wait_a_poll();
	}
}

/* Does rtpush.database_name exist and accept connections? */
static bool
database_ready(bool *exists)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		ready = false;

	*exists = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), rtpush_database_name) == 0)
		{
			*exists = true;
			ready = db->datallowconn;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return ready;
}

static void
warn_missing(bool exists)
{
	if (exists)
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush delivery worker cannot connect to database \"%s\": it does not allow connections",
						rtpush_database_name),
				 errdetail("Queued events wait in its outbox; the worker checks again every rtpush.poll_interval."),
				 errhint("ALTER DATABASE ... ALLOW_CONNECTIONS true, or set rtpush.database_name to the database where rtpush is installed and restart the server.")));
	else
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("rtpush delivery worker waiting for database \"%s\" to exist",
						rtpush_database_name),
				 errdetail("Nothing is delivered until it exists; the worker checks again every rtpush.poll_interval and starts once it is created."),
				 errhint("Set rtpush.database_name to the database where rtpush is installed and restart the server, or create the database.")));
}

/*
 * After a failed connection attempt: waits, connected to no database, until
 * rtpush.database_name can be connected to, then exits (code 1: the
 * postmaster starts a worker that connects).  Returns only on *stop.
 */
void
rtpush_dbguard_wait_connectable(volatile sig_atomic_t *stop)
{
	TimestampTz warned_at = 0;
	bool		exists;

	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	rtpush_status_set_state(WORKER_WAITING_FOR_DATABASE, NULL);
	while (!*stop)
	{
		TimestampTz now;

		if (database_ready(&exists))
		{
			ereport(LOG,
					(errmsg("rtpush delivery worker: database \"%s\" is there, connecting",
							rtpush_database_name)));
			rtpush_status_connectable();
			proc_exit(1);
		}
		now = GetCurrentTimestamp();
		if (warned_at == 0 ||
			now >= TimestampTzPlusMilliseconds(warned_at, rtpush_log_failure_interval))
		{
			warn_missing(exists);
			warned_at = now;
		}
		wait_a_poll();
	}
}
