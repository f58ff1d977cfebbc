/*-------------------------------------------------------------------------
 * launcher_scan.c
 *	  The launcher's look at pg_database: which databases qualify for a
 *	  delivery worker, and the warning while rtpush.database_name names a
 *	  database that is missing or refuses connections.
 *
 * One short transaction per look, a heap scan of the shared catalog (the
 * launcher is connected to no database); the memory context the caller
 * was in is restored after it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "launcher.h"
#include "settings.h"

typedef struct NamedDb
{
	bool		exists;			/* rtpush.database_name was seen */
	bool		allows;			/* ... and allows connections */
	TimestampTz warned_at;
} NamedDb;

static NamedDb named;

static bool
qualifies(Form_pg_database db)
{
	if (rtpush_database_name[0] && strcmp(NameStr(db->datname), rtpush_database_name) != 0)
		return false;
	return db->datallowconn && !db->datistemplate && !compat_database_is_invalid(db);
}

static void
note_database(HTAB *dbs, Oid oid, Form_pg_database db)
{
	LauncherDb *d;
	bool		found;

	if (rtpush_database_name[0] && strcmp(NameStr(db->datname), rtpush_database_name) == 0)
	{
		named.exists = true;
		named.allows = db->datallowconn && !compat_database_is_invalid(db);
	}
	if (!qualifies(db))
		return;
	d = hash_search(dbs, &oid, HASH_ENTER, &found);
	if (!found)
	{
		memset((char *) d + sizeof(Oid), 0, sizeof(LauncherDb) - sizeof(Oid));
		d->slot = -1;
	}
	strlcpy(d->name, NameStr(db->datname), sizeof(d->name));
	d->qualifies = true;
}

static void
warn_named(void)
{
	if (named.exists)
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush delivery worker cannot connect to database \"%s\": it does not allow connections",
						rtpush_database_name),
				 errdetail("Queued events wait in its outbox; the launcher checks again every second."),
				 errhint("ALTER DATABASE ... ALLOW_CONNECTIONS true, or set rtpush.database_name to the database where rtpush is installed (or to '' for every database) and restart the server.")));
	else
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("rtpush delivery worker waiting for database \"%s\" to exist",
						rtpush_database_name),
				 errdetail("Nothing is delivered until it exists; the launcher checks again every second and starts its worker once it is created."),
				 errhint("Set rtpush.database_name to the database where rtpush is installed (or to '' for every database) and restart the server, or create the database.")));
}

/* while rtpush.database_name cannot get a worker: a WARNING per interval */
static void
check_named(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!rtpush_database_name[0] || (named.exists && named.allows))
	{
		named.warned_at = 0;
		return;
	}
	if (named.warned_at != 0 &&
		now < TimestampTzPlusMilliseconds(named.warned_at, rtpush_log_failure_interval))
		return;
	named.warned_at = now;
	warn_named();
}

void
launcher_scan(HTAB *dbs)
{
	MemoryContext cxt = CurrentMemoryContext;
	HASH_SEQ_STATUS it;
	LauncherDb *d;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	hash_seq_init(&it, dbs);
	while ((d = hash_seq_search(&it)) != NULL)
		d->qualifies = false;
	named.exists = named.allows = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "rtpush launcher: reading pg_database");
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		note_database(dbs, db->oid, db);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	check_named();
}
