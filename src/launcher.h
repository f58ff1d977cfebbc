/*-------------------------------------------------------------------------
 * launcher.h
 *	  The launcher, which starts one delivery worker per database
 *	  (launcher.c), and its look at pg_database (launcher_scan.c).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_LAUNCHER_H
#define RTPUSH_LAUNCHER_H

#include "postmaster/bgworker.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

/* what the launcher knows of one database (in its own memory) */
typedef struct LauncherDb
{
	Oid			oid;			/* hash key */
	char		name[NAMEDATALEN];
	bool		qualifies;		/* as of the last scan: gets a worker */
	int			slot;			/* in shared memory; -1: none */
	BackgroundWorkerHandle *handle; /* its worker, or NULL */
	bool		stopping;		/* asked to stop: it no longer qualifies */
	bool		no_extension;	/* its last worker found no rtpush */
	uint64		generation;		/* ... as of this CREATE EXTENSION count */
	TimestampTz probed_at;		/* ... then */
	uint64		created_generation; /* its last CREATE EXTENSION's count */
	TimestampTz started_at;		/* its last worker */
	TimestampTz retry_at;		/* no new worker before */
	int			failures;		/* workers in a row that ended in an error */
	TimestampTz warned_at;		/* shortage last logged */
} LauncherDb;

extern void rtpush_register_launcher(void); /* from _PG_init */

/*
 * Reads pg_database into dbs: an entry for each database that qualifies
 * (allows connections, not a template, valid, rtpush.database_name when
 * set), qualifies false for the others known; warns while
 * rtpush.database_name is missing or refuses connections.
 */
extern void launcher_scan(HTAB *dbs);

#endif
