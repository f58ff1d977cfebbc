/*-------------------------------------------------------------------------
 * worker_state.c
 *	  The delivery worker's state names, as rtpush.status and
 *	  pg_stat_activity show them (the states: worker_state.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "worker_state.h"

typedef struct StateName
{
	const char *name;			/* a stable lower-case identifier */
	const char *note;			/* what to check, shown after it; or NULL */
} StateName;

static const StateName state_names[] = {
	[WORKER_NOT_STARTED] = {"not_started", NULL},
	[WORKER_WAITING_FOR_WORKER] = {"waiting_for_worker", "rtpush.max_databases, max_worker_processes"},
	[WORKER_WAITING_FOR_DATABASE] = {"waiting_for_database", "rtpush.database_name"},
	[WORKER_WAITING_FOR_EXTENSION] = {"waiting_for_extension", "CREATE EXTENSION rtpush"},
	[WORKER_NOT_CONFIGURED] = {"not_configured", "rtpush.app_id, rtpush.key, rtpush.secret"},
	/* the note comes from delivery_health.c: the HTTP status and what to check */
	[WORKER_MISCONFIGURED] = {"misconfigured", NULL},
	[WORKER_DELIVERING] = {"delivering", NULL},
	[WORKER_PAUSED] = {"paused", "endpoint unreachable or rate-limiting"},
	[WORKER_WAITING_TO_RETRY] = {"waiting_to_retry", NULL},
	[WORKER_IDLE] = {"idle", NULL},
	[WORKER_STOPPING] = {"stopping", NULL},
	[WORKER_STOPPED] = {"stopped", NULL},
};

StaticAssertDecl(lengthof(state_names) == WORKER_NSTATES,
				 "every worker state has a name");

const char *
worker_state_name(WorkerState state)
{
	Assert(state >= 0 && state < WORKER_NSTATES && state_names[state].name);
	return state_names[state].name;
}

void
worker_state_text(WorkerState state, const char *note, char *buf, size_t size)
{
	if (note == NULL || note[0] == '\0')
		note = state_names[state].note;
	if (note)
		snprintf(buf, size, "%s (%s)", worker_state_name(state), note);
	else
		strlcpy(buf, worker_state_name(state), size);
}
