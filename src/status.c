/*-------------------------------------------------------------------------
 * status.c
 *	  rtpush's shared memory, and the only file that sees it: the worker's
 *	  pid, latch, database and state, the DROP DATABASE guard's flags,
 *	  delivery counters, the commit-to-delivery latency histogram and the
 *	  parked channels, each read and written by one small function below;
 *	  the commit callback that wakes the worker; and rtpush.worker_status()
 *	  and rtpush.parked_channels(), which show them.
 *
 * The mutex protects every field but the counters and the histogram: those
 * are pg_atomic_uint64, added to and read without it (a reader may see one
 * counter ahead of another: the view is a sample, not a snapshot).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "status.h"

#define RTPUSH_LATENCY_BUCKETS 200
/* parked channels listed by rtpush.parked_channels(): the first ones parked */
#define RTPUSH_PARKED_LISTED 16

/* Latency buckets: bucket b covers [LAT_BASE^b, LAT_BASE^(b+1)) microseconds. */
#define LAT_BASE 1.1

typedef struct RtpushShared
{
	slock_t		mutex;			/* protects the fields up to the counters */
	pid_t		worker_pid;
	Latch	   *worker_latch;
	WorkerState state;
	char		state_note[WORKER_STATE_NOTE_SIZE]; /* what to check, or "" */
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
	/* atomic: no lock */
	pg_atomic_uint64 count[NCOUNTERS];
	/* commit-to-2xx latency histogram, log-scaled microsecond buckets */
	pg_atomic_uint64 latency[RTPUSH_LATENCY_BUCKETS];
} RtpushShared;

static RtpushShared *shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool queued_in_xact = false;
static bool xact_callback_registered = false;

static void
status_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RtpushShared)));
}

static void
status_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("rtpush", sizeof(RtpushShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(RtpushShared));
		SpinLockInit(&shared->mutex);
		shared->state = WORKER_NOT_STARTED;
		for (int i = 0; i < NCOUNTERS; i++)
			pg_atomic_init_u64(&shared->count[i], 0);
		for (int i = 0; i < RTPUSH_LATENCY_BUCKETS; i++)
			pg_atomic_init_u64(&shared->latency[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
rtpush_status_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = status_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = status_shmem_startup;
}

bool
rtpush_status_available(void)
{
	return shared != NULL;
}

/* ---- commit-time wakeup ---- */

static void
wake_worker(void)
{
	Latch	   *latch;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	latch = shared->worker_latch;
	/* events queued in another database are not the worker's to deliver */
	if (shared->worker_dboid != MyDatabaseId)
		latch = NULL;
	SpinLockRelease(&shared->mutex);
	if (latch)
	{
		SetLatch(latch);
		pg_atomic_fetch_add_u64(&shared->count[COUNT_WAKEUPS], 1);
	}
}

static void
status_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (queued_in_xact)
				wake_worker();
			queued_in_xact = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is found by the fallback poll */
			queued_in_xact = false;
			break;
		default:
			break;
	}
}

void
rtpush_note_queued(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(status_xact_callback, NULL);
		xact_callback_registered = true;
	}
	queued_in_xact = true;
}

/* ---- the worker's life ---- */

void
rtpush_status_worker_started(void)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	shared->worker_pid = MyProcPid;
	shared->worker_latch = MyLatch;
	shared->started_at = now;
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_worker_connected(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->connect_failed = false;
	shared->worker_connected = true;
	shared->worker_dboid = MyDatabaseId;
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_worker_exited(bool connecting)
{
	SpinLockAcquire(&shared->mutex);
	if (connecting && !shared->worker_connected)
		shared->connect_failed = true;	/* the next worker waits for it */
	shared->worker_pid = 0;
	shared->worker_latch = NULL;
	shared->worker_connected = false;
	shared->worker_dboid = InvalidOid;
	shared->state = WORKER_STOPPED;
	shared->state_note[0] = '\0';
	shared->in_flight = 0;
	SpinLockRelease(&shared->mutex);
}

/* reads one bool field under the lock */
static bool
read_flag(const bool *field)
{
	bool		v;

	SpinLockAcquire(&shared->mutex);
	v = *field;
	SpinLockRelease(&shared->mutex);
	return v;
}

bool
rtpush_status_connect_failed(void)
{
	return read_flag(&shared->connect_failed);
}

/* ---- the DROP DATABASE guard ---- */

bool
rtpush_status_worker_is_connected(void)
{
	return read_flag(&shared->worker_connected);
}

bool
rtpush_status_db_dropped(void)
{
	return read_flag(&shared->db_dropped);
}

void
rtpush_status_set_db_dropped(bool dropped, pid_t *connected_pid, Latch **latch)
{
	SpinLockAcquire(&shared->mutex);
	shared->db_dropped = dropped;
	*latch = shared->worker_latch;
	*connected_pid = shared->worker_connected ? shared->worker_pid : 0;
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_connectable(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->connect_failed = false;
	SpinLockRelease(&shared->mutex);
}

/* ---- worker side: state, errors, counters ---- */

void
rtpush_status_set_state(WorkerState state, const char *note)
{
	SpinLockAcquire(&shared->mutex);
	shared->state = state;
	strlcpy(shared->state_note, note ? note : "", sizeof(shared->state_note));
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_error(const char *msg)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	strlcpy(shared->last_error, msg, sizeof(shared->last_error));
	shared->last_error_at = now;
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_delivered(int nevents, double latency_us_each[])
{
	TimestampTz now;

	pg_atomic_fetch_add_u64(&shared->count[COUNT_DELIVERED], nevents);
	for (int i = 0; i < nevents; i++)
	{
		double		us = latency_us_each[i];
		int			b = us <= 1.0 ? 0 : (int) (log(us) / log(LAT_BASE));

		b = Min(Max(b, 0), RTPUSH_LATENCY_BUCKETS - 1);
		pg_atomic_fetch_add_u64(&shared->latency[b], 1);
	}
	now = GetCurrentTimestamp();
	SpinLockAcquire(&shared->mutex);
	shared->last_success_at = now;
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_count(StatusCounter c)
{
	Assert(c >= 0 && c < NCOUNTERS);
	pg_atomic_fetch_add_u64(&shared->count[c], 1);
}

void
rtpush_status_counts(int in_flight, int held, int parked)
{
	SpinLockAcquire(&shared->mutex);
	shared->in_flight = in_flight;
	shared->held = held;
	shared->parked = parked;
	SpinLockRelease(&shared->mutex);
}

/* Lists a channel just parked (the first RTPUSH_PARKED_LISTED only). */
void
rtpush_status_parked(const char *channel)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	if (shared->nlisted < RTPUSH_PARKED_LISTED)
	{
		int			i = shared->nlisted++;

		strlcpy(shared->parked_name[i], channel, RTPUSH_CHANNEL_NAME_SIZE);
		shared->parked_since[i] = now;
	}
	SpinLockRelease(&shared->mutex);
}

void
rtpush_status_unparked(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->nlisted = 0;
	SpinLockRelease(&shared->mutex);
}

/* ---- SQL ---- */

static void
require_shared(void)
{
	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush is not loaded through shared_preload_libraries"),
				 errhint("Add rtpush to shared_preload_libraries and restart the server.")));
}

/* quantile q of the latency histogram, in milliseconds; NULL when empty */
static Datum
latency_quantile(uint64 *hist, uint64 total, double q, bool *isnull)
{
	uint64		rank = (uint64) ceil(q * total);
	uint64		seen = 0;

	*isnull = (total == 0);
	if (total == 0)
		return (Datum) 0;
	for (int b = 0; b < RTPUSH_LATENCY_BUCKETS; b++)
	{
		seen += hist[b];
		if (seen >= rank)
		{
			/* geometric middle of the bucket */
			double		us = pow(LAT_BASE, b + 0.5);

			return Float8GetDatum(us / 1000.0);
		}
	}
	return Float8GetDatum(pow(LAT_BASE, RTPUSH_LATENCY_BUCKETS) / 1000.0);
}

static Datum
counter(StatusCounter c)
{
	return Int64GetDatum(pg_atomic_read_u64(&shared->count[c]));
}

PG_FUNCTION_INFO_V1(rtpush_worker_status);
Datum
rtpush_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		v[17];
	bool		n[17] = {0};
	uint64		hist[RTPUSH_LATENCY_BUCKETS];
	uint64		total = 0;
	char		state[WORKER_STATE_TEXT_SIZE];
	RtpushShared s;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	require_shared();

	/* the fields under the lock, not the atomics after them */
	SpinLockAcquire(&shared->mutex);
	memcpy(&s, shared, offsetof(RtpushShared, count));
	SpinLockRelease(&shared->mutex);
	for (int b = 0; b < RTPUSH_LATENCY_BUCKETS; b++)
		total += (hist[b] = pg_atomic_read_u64(&shared->latency[b]));
	worker_state_text(s.state, s.state_note, state, sizeof(state));

	v[0] = Int32GetDatum(s.worker_pid);
	n[0] = (s.worker_pid == 0);
	v[1] = CStringGetTextDatum(state);
	v[2] = Int32GetDatum(s.in_flight);
	v[3] = Int32GetDatum(s.held);
	v[4] = counter(COUNT_DELIVERED);
	v[5] = counter(COUNT_RETRIED);
	v[6] = counter(COUNT_FAILED);
	v[7] = counter(COUNT_DEAD);
	v[8] = counter(COUNT_REQUESTS);
	v[9] = CStringGetTextDatum(s.last_error);
	n[9] = (s.last_error[0] == '\0');
	v[10] = TimestampTzGetDatum(s.last_error_at);
	n[10] = (s.last_error_at == 0);
	v[11] = TimestampTzGetDatum(s.last_success_at);
	n[11] = (s.last_success_at == 0);
	v[12] = latency_quantile(hist, total, 0.50, &n[12]);
	v[13] = latency_quantile(hist, total, 0.99, &n[13]);
	v[14] = TimestampTzGetDatum(s.started_at);
	n[14] = (s.started_at == 0);
	v[15] = counter(COUNT_WAKEUPS);
	v[16] = Int32GetDatum(s.parked);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
}

/*
 * rtpush.parked_channels(): the channels whose later events wait in the
 * outbox behind a failing request, as the worker last published them.
 */
PG_FUNCTION_INFO_V1(rtpush_parked_channels);
Datum
rtpush_parked_channels(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char		(*name)[RTPUSH_CHANNEL_NAME_SIZE];
	TimestampTz since[RTPUSH_PARKED_LISTED];
	int			n;

	require_shared();
	InitMaterializedSRF(fcinfo, 0);
	name = palloc(sizeof(shared->parked_name));
	SpinLockAcquire(&shared->mutex);
	n = shared->nlisted;
	memcpy(name, shared->parked_name, sizeof(shared->parked_name));
	memcpy(since, shared->parked_since, sizeof(since));
	SpinLockRelease(&shared->mutex);
	for (int i = 0; i < n; i++)
	{
		Datum		v[2] = {CStringGetTextDatum(name[i]), TimestampTzGetDatum(since[i])};
		bool		isnull[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, isnull);
	}
	return (Datum) 0;
}

/* rtpush.wake_worker(): wake the worker at COMMIT (e.g. after redeliver) */
PG_FUNCTION_INFO_V1(rtpush_wake_worker);
Datum
rtpush_wake_worker(PG_FUNCTION_ARGS)
{
	rtpush_note_queued();
	PG_RETURN_VOID();
}
