/*-------------------------------------------------------------------------
 * status_int.h
 *	  The layout of rtpush's shared memory, private to status.c (a delivery
 *	  worker's own slot, the commit wakeup, rtpush.status) and
 *	  status_slots.c (the launcher's side: which database has which slot,
 *	  the databases stepped aside for DROP/RENAME DATABASE, the extension
 *	  generation).  No other file includes it.
 *
 * Locking: RtpushShared.mutex protects the header and, in each slot, the
 * fields up to `mutex` (which database owns the slot, its worker's pid and
 * latch): one lock, so that a worker attaching to its slot and a backend
 * stepping its database aside never miss each other.  A slot's own mutex
 * protects the rest of it but the counters and the histogram, which are
 * pg_atomic_uint64 and read without a lock (the view is a sample).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_STATUS_INT_H
#define RTPUSH_STATUS_INT_H

#include "port/atomics.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "status.h"

#define RTPUSH_LATENCY_BUCKETS 200
/* parked channels listed by rtpush.parked_channels(): the first ones parked */
#define RTPUSH_PARKED_LISTED 16

#define RTPUSH_SLOT_APP_ID_SIZE 64

typedef struct RtpushSlot
{
	/* under RtpushShared.mutex */
	Oid			dboid;			/* InvalidOid: free */
	pid_t		worker_pid;		/* 0: no worker attached */
	Latch	   *worker_latch;

	slock_t		mutex;			/* protects the fields below, up to count */
	bool		worker_connected;	/* connected to its database */
	SlotExit	exit_kind;		/* how the last worker left */
	uint64		probe_generation;	/* SLOT_EXIT_NO_EXTENSION: as of which */
	WorkerState state;
	char		state_note[WORKER_STATE_NOTE_SIZE]; /* what to check, or "" */
	TimestampTz started_at;
	TimestampTz last_error_at;
	TimestampTz last_success_at;
	char		last_error[256];
	char		app_id[RTPUSH_SLOT_APP_ID_SIZE];	/* the app it delivers to */
	bool		app_own;		/* the database's own (rtpush.set_app) */
	int			in_flight;		/* requests in flight */
	int			held;			/* events held in the worker's memory */
	int			parked;			/* channels whose later events wait in the outbox */
	int			nlisted;		/* of them named below */
	char		parked_name[RTPUSH_PARKED_LISTED][RTPUSH_CHANNEL_NAME_SIZE];
	TimestampTz parked_since[RTPUSH_PARKED_LISTED];
	/* atomic: no lock */
	pg_atomic_uint32 wakes_wanted;	/* 0: commits need not wake the worker */
	pg_atomic_uint64 count[NCOUNTERS];
	/* commit-to-2xx latency histogram, log-scaled microsecond buckets */
	pg_atomic_uint64 latency[RTPUSH_LATENCY_BUCKETS];
} RtpushSlot;

typedef struct RtpushShared
{
	slock_t		mutex;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	bool		slots_short;	/* a database found no free slot */
	Oid			aside[RTPUSH_MAX_ASIDE];	/* being dropped or renamed */
	pid_t		aside_by[RTPUSH_MAX_ASIDE]; /* by that backend */
	pg_atomic_uint64 extension_generation;	/* CREATE EXTENSIONs committed */
	ExtensionCreated created[RTPUSH_MAX_CREATED];	/* since the launcher's look */
	int			ncreated;
	bool		created_overflow;	/* more than that */
	int			nslots;			/* rtpush.max_databases */
	RtpushSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} RtpushShared;

/* NULL unless preloaded (status.c) */
extern RtpushShared *rtpush_shared;

/* resets a slot's state and counters for a new database (status.c) */
extern void rtpush_slot_reset(RtpushSlot *slot);
/* a copy of the slot's own fields, counters and histogram (status.c) */
extern void rtpush_slot_copy(RtpushSlot *slot, RtpushSlot *copy);

#endif
