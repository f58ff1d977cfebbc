/*-------------------------------------------------------------------------
 * status.h
 *	  rtpush's shared memory: the worker's identity and latch, delivery
 *	  counters, the latency histogram, and the commit-time wakeup.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_STATUS_H
#define RTPUSH_STATUS_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#define RTPUSH_LATENCY_BUCKETS 200
/* parked channels listed by rtpush.parked_channels(): the first ones parked */
#define RTPUSH_PARKED_LISTED 16
#define RTPUSH_CHANNEL_NAME_SIZE 165	/* a Pusher channel name and its NUL */

typedef struct RtpushShared
{
	slock_t		mutex;			/* protects the non-atomic fields */
	pid_t		worker_pid;
	Latch	   *worker_latch;
	char		state[128];
	bool		worker_connected;	/* connected to its database */
	Oid			worker_dboid;	/* that database */
	bool		db_dropped;		/* DROP DATABASE of it seen */
	bool		connect_failed; /* the last worker could not connect to it */
	TimestampTz started_at;
	TimestampTz last_error_at;
	TimestampTz last_success_at;
	char		last_error[256];
	int			in_flight;		/* requests in flight */
	int			held;			/* events held in the worker's memory */
	int			parked;			/* channels whose later events wait in the outbox */
	int			nlisted;		/* of them named below */
	char		parked_name[RTPUSH_PARKED_LISTED][RTPUSH_CHANNEL_NAME_SIZE];
	TimestampTz parked_since[RTPUSH_PARKED_LISTED];
	pg_atomic_uint64 delivered;
	pg_atomic_uint64 retried;
	pg_atomic_uint64 failed;	/* failed attempts */
	pg_atomic_uint64 dead;
	pg_atomic_uint64 requests;
	pg_atomic_uint64 wakeups;
	/* commit-to-2xx latency histogram, log-scaled microsecond buckets */
	pg_atomic_uint64 latency[RTPUSH_LATENCY_BUCKETS];
} RtpushShared;

extern RtpushShared *rtpush_shared;

extern void rtpush_status_init(void);	/* from _PG_init */

/* capture side: the current transaction queued events; wake the worker at commit */
extern void rtpush_note_queued(void);

/* worker side */
extern void rtpush_status_set_state(const char *state);
extern void rtpush_status_error(const char *msg);
extern void rtpush_status_delivered(int nevents, double latency_us_each[]);
extern void rtpush_status_counts(int in_flight, int held, int parked);
extern void rtpush_status_parked(const char *channel);	/* a channel parked */
extern void rtpush_status_unparked(void);	/* none parked any more */

#endif
