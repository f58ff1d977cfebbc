/*-------------------------------------------------------------------------
 * dbguard.c
 *	  Keeps delivery workers out of the way of DROP DATABASE and ALTER
 *	  DATABASE ... RENAME, and tells the launcher about CREATE EXTENSION.
 *
 * A worker stays connected to its database, which would make DROP
 * DATABASE and RENAME of it wait 5 s and fail ("being accessed by other
 * users").  A ProcessUtility hook sees them coming: it records the
 * database as stepped aside in shared memory (the launcher starts no
 * worker for it meanwhile, and a worker just starting leaves at once),
 * stops its worker with SIGTERM and waits (up to GONE_WAIT_MS) until it
 * is gone, before the statement looks for other sessions.  The entry is
 * cleared when the statement fails or its transaction ends; after a
 * RENAME the launcher starts the worker again, a dropped database is no
 * longer there to start one for.  No hang, no restart loop.
 *
 * ALTER DATABASE ... ALLOW_CONNECTIONS false does not wait for sessions:
 * the launcher stops the worker of a database that refuses connections at
 * its next look (launcher.c).
 *
 * CREATE EXTENSION (of any extension: rtpush_telemedicine ... CASCADE
 * creates rtpush too) tells the launcher at commit in which database it
 * ran, with the cluster's count of them, and wakes it: if a worker found
 * no rtpush there before, the launcher starts one again, and delivery
 * starts within a second of the commit.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/wait_event.h"

#include "dbguard.h"
#include "status.h"

/* how long DROP/RENAME waits for the worker to leave (CountOtherDBBackends: 5 s) */
#define GONE_WAIT_MS 3000
#define GONE_POLL_MS 20

typedef struct DbGuard
{
	ProcessUtility_hook_type prev_utility;
	bool		xact_callback_registered;
	Oid			aside[RTPUSH_MAX_ASIDE];	/* stepped aside until the transaction ends */
	int			naside;
	bool		created_extension;	/* tell the launcher at commit */
} DbGuard;

static DbGuard guard;

/* Waits (up to GONE_WAIT_MS) for dboid's worker to leave its slot. */
static void
wait_worker_gone(Oid dboid)
{
	for (int i = 0; i < GONE_WAIT_MS / GONE_POLL_MS && rtpush_status_worker_of(dboid) != 0; i++)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 GONE_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* the database a DROP DATABASE or ALTER DATABASE ... RENAME is about, or NULL */
static const char *
database_needing_way(Node *stmt)
{
	if (IsA(stmt, DropdbStmt) && !IsTransactionBlock()) /* there, it fails anyway */
		return ((DropdbStmt *) stmt)->dbname;
	if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		return ((RenameStmt *) stmt)->subname;
	return NULL;
}

static Oid
step_aside(const char *dbname)
{
	Oid			dboid = get_database_oid(dbname, true);
	pid_t		pid;

	if (!OidIsValid(dboid) || guard.naside == RTPUSH_MAX_ASIDE)
		return InvalidOid;
	if (!rtpush_status_step_aside(dboid, &pid))
		return InvalidOid;		/* no room: the statement waits as without rtpush */
	guard.aside[guard.naside++] = dboid;
	if (pid != 0)
		kill(pid, SIGTERM);
	wait_worker_gone(dboid);
	return dboid;
}

static void
step_back(void)
{
	for (int i = 0; i < guard.naside; i++)
		rtpush_status_step_back(guard.aside[i]);
	guard.naside = 0;
}

static void
dbguard_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				ProcessUtilityContext context, ParamListInfo params,
				QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	const char *db = rtpush_status_available() ? database_needing_way(stmt) : NULL;

	if (db)
		(void) step_aside(db);
	PG_TRY();
	{
		if (guard.prev_utility)
			guard.prev_utility(pstmt, queryString, readOnlyTree, context, params,
							   queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		step_back();			/* the database is still there, as it was */
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (IsA(stmt, CreateExtensionStmt) && rtpush_status_available())
		guard.created_extension = true;
}

/*
 * At the end of the transaction: a dropped database is gone for every new
 * snapshot, a renamed one has its new name; the launcher may look again.
 */
static void
dbguard_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && guard.created_extension)
		rtpush_status_extension_created();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
	{
		step_back();
		guard.created_extension = false;
	}
}

void
rtpush_dbguard_init(void)
{
	guard.prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = dbguard_utility;
	if (!guard.xact_callback_registered)
		RegisterXactCallback(dbguard_xact_callback, NULL);
	guard.xact_callback_registered = true;
}
