/*-------------------------------------------------------------------------
 * status.h
 *	  rtpush's shared memory, behind one function per transition and
 *	  counter: the worker's identity, latch and state, the DROP DATABASE
 *	  guard's flags, delivery counters, the latency histogram, the parked
 *	  channels; the commit-time wakeup; rtpush.worker_status().
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_STATUS_H
#define RTPUSH_STATUS_H

#include "storage/latch.h"

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

/* the worker's life (worker.c) */
extern void rtpush_status_worker_started(void);
extern void rtpush_status_worker_connected(void);
/* at exit; connecting: while connecting to its database (then it failed) */
extern void rtpush_status_worker_exited(bool connecting);
/* did the last worker fail to connect to its database? */
extern bool rtpush_status_connect_failed(void);

/* the DROP DATABASE guard (dbguard.c) */
extern bool rtpush_status_worker_is_connected(void);
extern bool rtpush_status_db_dropped(void);
/*
 * Records whether the worker's database is being dropped; *connected_pid:
 * the worker to stop, if connected, else 0; *latch: its latch, or NULL.
 */
extern void rtpush_status_set_db_dropped(bool dropped, pid_t *connected_pid,
										 Latch **latch);
/* the database accepts connections again */
extern void rtpush_status_connectable(void);

/* worker side: state (note: see worker_state_text), errors and counters */
extern void rtpush_status_set_state(WorkerState state, const char *note);
extern void rtpush_status_error(const char *msg);
extern void rtpush_status_delivered(int nevents, double latency_us_each[]);
extern void rtpush_status_count(StatusCounter c); /* adds one */
extern void rtpush_status_counts(int in_flight, int held, int parked);
extern void rtpush_status_parked(const char *channel);	/* a channel parked */
extern void rtpush_status_unparked(void);	/* none parked any more */

#endif
