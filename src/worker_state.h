/*-------------------------------------------------------------------------
 * worker_state.h
 *	  The delivery worker's states, and the names rtpush.status shows.
 *
 * rtpush.status.state is a state's name, followed for some by a note in
 * parentheses naming what to check ("not_configured (rtpush.app_id,
 * rtpush.key, rtpush.secret)").  The transitions:
 *
 *   not_started        until the first worker reports a state
 *   waiting_for_worker the launcher could not start a worker for the
 *                      database: every slot (rtpush.max_databases) or every
 *                      background worker (max_worker_processes) is taken
 *   waiting_for_database
 *                      shown in another database while rtpush.database_name
 *                      names a database that is gone, being dropped or
 *                      refusing connections; the launcher starts its worker
 *                      once it is back
 *   each turn of the main loop, the first of these that holds:
 *     waiting_for_extension  no CREATE EXTENSION rtpush in the database yet
 *     not_configured         rtpush.app_id, rtpush.key or rtpush.secret empty
 *     misconfigured          the endpoint refused the configuration (HTTP
 *                            401, 403, 404, 405, 407): sending paused until
 *                            a reload or a probe that goes through
 *     delivering             requests in flight
 *     paused                 endpoint unreachable or rate-limiting (429):
 *                            no new request until the backoff ends
 *     waiting_to_retry       events held, each waiting for its retry
 *     idle                   nothing held
 *   stopping           SIGTERM: requests in flight get a moment to finish
 *   stopped            the worker exited (the launcher starts it again: at
 *                      once after SIGTERM, after a growing backoff after an
 *                      error); a new worker shows it until it reports a state
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_WORKER_STATE_H
#define RTPUSH_WORKER_STATE_H

typedef enum WorkerState
{
	WORKER_NOT_STARTED,
	WORKER_WAITING_FOR_WORKER,
	WORKER_WAITING_FOR_DATABASE,
	WORKER_WAITING_FOR_EXTENSION,
	WORKER_NOT_CONFIGURED,
	WORKER_MISCONFIGURED,
	WORKER_DELIVERING,
	WORKER_PAUSED,
	WORKER_WAITING_TO_RETRY,
	WORKER_IDLE,
	WORKER_STOPPING,
	WORKER_STOPPED,
} WorkerState;

#define WORKER_NSTATES (WORKER_STOPPED + 1)

/* a state's note, the longest kept: "HTTP 401: check rtpush.key, rtpush.secret" */
#define WORKER_STATE_NOTE_SIZE 128
/* the name, " (", the note and ")" */
#define WORKER_STATE_TEXT_SIZE (WORKER_STATE_NOTE_SIZE + 32)

/* "idle", "misconfigured", ... */
extern const char *worker_state_name(WorkerState state);

/*
 * The name, and the note in parentheses: note, or without one (NULL or
 * empty) the state's own if it has one.
 */
extern void worker_state_text(WorkerState state, const char *note,
							  char *buf, size_t size);

#endif
