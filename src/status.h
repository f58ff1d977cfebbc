/*-------------------------------------------------------------------------
 * status.h
 *	  rtpush's shared memory, behind one function per transition and
 *	  counter: one slot per database (its worker's identity, latch and
 *	  state, delivery counters, the latency histogram, the parked
 *	  channels), the launcher's side of the slots, the DROP/RENAME DATABASE
 *	  guard's list; the commit-time wakeup; rtpush.worker_status().
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_STATUS_H
#define RTPUSH_STATUS_H

#include "storage/latch.h"
#include "utils/timestamp.h"

#include "worker_state.h"

#define RTPUSH_CHANNEL_NAME_SIZE 165	/* a Pusher channel name and its NUL */

/* rtpush.status's counters */
typedef enum StatusCounter
{
	COUNT_REQUESTS,				/* HTTP requests started */
	COUNT_RETRIED,				/* events' failed attempts, to be tried again */
	COUNT_FAILED,				/* requests failed */
	COUNT_DEAD,					/* events dead-lettered */
	COUNT_DELIVERED,			/* events delivered (rtpush_status_delivered) */
	COUNT_WAKEUPS,				/* commits that woke the worker */
	NCOUNTERS
} StatusCounter;

extern void rtpush_status_init(void);	/* from _PG_init */
extern bool rtpush_status_available(void); /* preloaded: shared memory there */

/* capture side: the current transaction queued events; wake the worker at commit */
extern void rtpush_note_queued(void);
extern void rtpush_note_wake(void);

/* how a delivery worker left its slot (what the launcher does next) */
typedef enum SlotExit
{
	SLOT_EXIT_ERROR,			/* FATAL or crash: restart after a backoff */
	SLOT_EXIT_STOPPED,			/* SIGTERM, finished cleanly: restart */
	SLOT_EXIT_NO_EXTENSION		/* no rtpush there: wait for CREATE EXTENSION */
} SlotExit;

/* the worker's life (worker.c) */
/* takes slot for dboid; false: the database is being dropped or renamed */
extern bool rtpush_status_attach(int slot, Oid dboid);
extern void rtpush_status_worker_connected(void);
extern void rtpush_status_want_wakes(bool want);	/* by commits */
/* at exit; generation: SLOT_EXIT_NO_EXTENSION's, as of the check */
extern void rtpush_status_worker_exited(SlotExit how, uint64 generation);
/* is the worker's own database being dropped or renamed? */
extern bool rtpush_status_stepping_aside(void);

/*
 * CREATE EXTENSION: how many committed in the cluster; one more, in this
 * database (wakes the launcher); and the launcher taking the databases
 * where they were committed since it last looked (*overflow: more than
 * RTPUSH_MAX_CREATED, so look at every database again)
 */
#define RTPUSH_MAX_CREATED 8
typedef struct ExtensionCreated
{
	Oid			dboid;
	uint64		generation;		/* the count with this one */
} ExtensionCreated;
extern uint64 rtpush_status_extension_generation(void);
extern void rtpush_status_extension_created(void);
extern int	rtpush_status_take_created(ExtensionCreated created[RTPUSH_MAX_CREATED],
									   bool *overflow);

/*
 * the DROP/RENAME DATABASE guard (dbguard.c): step_aside records that
 * dboid's worker must stop and not be started again (false: no room) and
 * returns in *pid the worker to stop, or 0; step_back undoes it
 */
extern bool rtpush_status_step_aside(Oid dboid, pid_t *pid);
extern void rtpush_status_step_back(Oid dboid);
extern pid_t rtpush_status_worker_of(Oid dboid);	/* 0: none attached */

/* the launcher (launcher.c) */
extern void rtpush_status_launcher_started(void);
/* dboid's slot, or a free one now its; -1 when all are taken */
extern int	rtpush_status_claim_slot(Oid dboid);
extern void rtpush_status_release_slot(int slot);
/* how the slot's last worker left; *generation for SLOT_EXIT_NO_EXTENSION */
extern SlotExit rtpush_status_slot_exit(int slot, uint64 *generation);
extern bool rtpush_status_is_aside(Oid dboid);
/* databases being dropped or renamed at once (more: no stepping aside) */
#define RTPUSH_MAX_ASIDE 8
/* copies the list of databases stepped aside (InvalidOid: an empty entry) */
extern void rtpush_status_aside_list(Oid list[RTPUSH_MAX_ASIDE]);
/* the launcher's word on a slot without a worker (waiting_for_worker) */
extern void rtpush_status_set_slot_state(int slot, WorkerState state,
										 const char *note);
/* some database found no free slot (shown where a database has none) */
extern void rtpush_status_set_slots_short(bool short_of_slots);

/* worker side: state (note: see worker_state_text), errors and counters */
extern void rtpush_status_set_state(WorkerState state, const char *note);
extern void rtpush_status_error(const char *msg);
extern void rtpush_status_set_app(const char *app_id, bool own);
extern void rtpush_status_delivered(int nevents, double latency_us_each[]);
extern void rtpush_status_count(StatusCounter c); /* adds one */
extern void rtpush_status_counts(int in_flight, int held, int parked);
extern void rtpush_status_parked(const char *channel);	/* a channel parked */
extern void rtpush_status_unparked(void);	/* none parked any more */

#endif
