/*-------------------------------------------------------------------------
 * status.c
 *	  rtpush's shared memory: the worker's pid, latch and state, delivery
 *	  counters and the commit-to-delivery latency histogram; the commit
 *	  callback that wakes the worker; and rtpush.worker_status(), which the
 *	  rtpush.status view shows.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

#include "status.h"

RtpushShared *rtpush_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool queued_in_xact = false;
static bool xact_callback_registered = false;

/* Latency buckets: bucket b covers [LAT_BASE^b, LAT_BASE^(b+1)) microseconds. */
#define LAT_BASE 1.1

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
	rtpush_shared = ShmemInitStruct("rtpush", sizeof(RtpushShared), &found);
	if (!found)
	{
		memset(rtpush_shared, 0, sizeof(RtpushShared));
		SpinLockInit(&rtpush_shared->mutex);
		strlcpy(rtpush_shared->state, "not started", sizeof(rtpush_shared->state));
		pg_atomic_init_u64(&rtpush_shared->delivered, 0);
		pg_atomic_init_u64(&rtpush_shared->retried, 0);
		pg_atomic_init_u64(&rtpush_shared->failed, 0);
		pg_atomic_init_u64(&rtpush_shared->dead, 0);
		pg_atomic_init_u64(&rtpush_shared->requests, 0);
		pg_atomic_init_u64(&rtpush_shared->wakeups, 0);
		for (int i = 0; i < RTPUSH_LATENCY_BUCKETS; i++)
			pg_atomic_init_u64(&rtpush_shared->latency[i], 0);
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

/* ---- commit-time wakeup ---- */

static void
wake_worker(void)
{
	Latch	   *latch;

	if (rtpush_shared == NULL)
		return;
	SpinLockAcquire(&rtpush_shared->mutex);
	latch = rtpush_shared->worker_latch;
	/* events queued in another database are not the worker's to deliver */
	if (rtpush_shared->worker_dboid != MyDatabaseId)
		latch = NULL;
	SpinLockRelease(&rtpush_shared->mutex);
	if (latch)
	{
		SetLatch(latch);
		pg_atomic_fetch_add_u64(&rtpush_shared->wakeups, 1);
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

/* ---- worker side ---- */

void
rtpush_status_set_state(const char *state)
{
	SpinLockAcquire(&rtpush_shared->mutex);
	strlcpy(rtpush_shared->state, state, sizeof(rtpush_shared->state));
	SpinLockRelease(&rtpush_shared->mutex);
}

void
rtpush_status_error(const char *msg)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&rtpush_shared->mutex);
	strlcpy(rtpush_shared->last_error, msg, sizeof(rtpush_shared->last_error));
	rtpush_shared->last_error_at = now;
	SpinLockRelease(&rtpush_shared->mutex);
}

void
rtpush_status_delivered(int nevents, double latency_us_each[])
{
	TimestampTz now;

	pg_atomic_fetch_add_u64(&rtpush_shared->delivered, nevents);
	for (int i = 0; i < nevents; i++)
	{
		double		us = latency_us_each[i];
		int			b = us <= 1.0 ? 0 : (int) (log(us) / log(LAT_BASE));

		b = Min(Max(b, 0), RTPUSH_LATENCY_BUCKETS - 1);
		pg_atomic_fetch_add_u64(&rtpush_shared->latency[b], 1);
	}
	now = GetCurrentTimestamp();
	SpinLockAcquire(&rtpush_shared->mutex);
	rtpush_shared->last_success_at = now;
	SpinLockRelease(&rtpush_shared->mutex);
}

void
rtpush_status_counts(int in_flight, int held, int parked)
{
	SpinLockAcquire(&rtpush_shared->mutex);
	rtpush_shared->in_flight = in_flight;
	rtpush_shared->held = held;
	rtpush_shared->parked = parked;
	SpinLockRelease(&rtpush_shared->mutex);
}

/* Lists a channel just parked (the first RTPUSH_PARKED_LISTED only). */
void
rtpush_status_parked(const char *channel)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&rtpush_shared->mutex);
	if (rtpush_shared->nlisted < RTPUSH_PARKED_LISTED)
	{
		int			i = rtpush_shared->nlisted++;

		strlcpy(rtpush_shared->parked_name[i], channel, RTPUSH_CHANNEL_NAME_SIZE);
		rtpush_shared->parked_since[i] = now;
	}
	SpinLockRelease(&rtpush_shared->mutex);
}

void
rtpush_status_unparked(void)
{
	SpinLockAcquire(&rtpush_shared->mutex);
	rtpush_shared->nlisted = 0;
	SpinLockRelease(&rtpush_shared->mutex);
}

/* ---- SQL ---- */

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

PG_FUNCTION_INFO_V1(rtpush_worker_status);
Datum
rtpush_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		v[17];
	bool		n[17] = {0};
	uint64		hist[RTPUSH_LATENCY_BUCKETS];
	uint64		total = 0;
	RtpushShared s;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (rtpush_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush is not loaded through shared_preload_libraries"),
				 errhint("Add rtpush to shared_preload_libraries and restart the server.")));

	SpinLockAcquire(&rtpush_shared->mutex);
	memcpy(&s, rtpush_shared, offsetof(RtpushShared, delivered));
	SpinLockRelease(&rtpush_shared->mutex);
	for (int b = 0; b < RTPUSH_LATENCY_BUCKETS; b++)
		total += (hist[b] = pg_atomic_read_u64(&rtpush_shared->latency[b]));

	v[0] = Int32GetDatum(s.worker_pid);
	n[0] = (s.worker_pid == 0);
	v[1] = CStringGetTextDatum(s.state);
	v[2] = Int32GetDatum(s.in_flight);
	v[3] = Int32GetDatum(s.held);
	v[4] = Int64GetDatum(pg_atomic_read_u64(&rtpush_shared->delivered));
	v[5] = Int64GetDatum(pg_atomic_read_u64(&rtpush_shared->retried));
	v[6] = Int64GetDatum(pg_atomic_read_u64(&rtpush_shared->failed));
	v[7] = Int64GetDatum(pg_atomic_read_u64(&rtpush_shared->dead));
	v[8] = Int64GetDatum(pg_atomic_read_u64(&rtpush_shared->requests));
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
	v[15] = Int64GetDatum(pg_atomic_read_u64(&rtpush_shared->wakeups));
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

	if (rtpush_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush is not loaded through shared_preload_libraries"),
				 errhint("Add rtpush to shared_preload_libraries and restart the server.")));
	InitMaterializedSRF(fcinfo, 0);
	name = palloc(sizeof(rtpush_shared->parked_name));
	SpinLockAcquire(&rtpush_shared->mutex);
	n = rtpush_shared->nlisted;
	memcpy(name, rtpush_shared->parked_name, sizeof(rtpush_shared->parked_name));
	memcpy(since, rtpush_shared->parked_since, sizeof(since));
	SpinLockRelease(&rtpush_shared->mutex);
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
