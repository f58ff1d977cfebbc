/*-------------------------------------------------------------------------
 * status.c
 *	  rtpush's shared memory (its layout: status_int.h), a delivery
 *	  worker's side of it: its database's slot (pid, latch, state,
 *	  delivery counters, the commit-to-delivery latency histogram, the
 *	  parked channels), each read and written by one small function below;
 *	  the commit callback that wakes the worker of the committing database;
 *	  and rtpush.worker_status() and rtpush.parked_channels(), which show
 *	  the slot of the database they run in.  The launcher's side of the
 *	  slots is status_slots.c.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "commands/dbcommands.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "settings.h"
#include "status_int.h"

/* Latency buckets: bucket b covers [LAT_BASE^b, LAT_BASE^(b+1)) microseconds. */
#define LAT_BASE 1.1

RtpushShared *rtpush_shared = NULL;
static RtpushShared *shared = NULL;		/* the same, for short */
static RtpushSlot *my_slot = NULL;	/* a delivery worker's */

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool queued_in_xact = false;
static bool wake_always_in_xact = false;	/* wakes the worker even unasked */
static bool xact_callback_registered = false;

static Size
shared_size(void)
{
	return add_size(offsetof(RtpushShared, slots),
					mul_size(rtpush_max_databases, sizeof(RtpushSlot)));
}

static void
status_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(shared_size()));
}

void
rtpush_slot_reset(RtpushSlot *slot)
{
	SpinLockAcquire(&slot->mutex);
	slot->worker_connected = false;
	slot->exit_kind = SLOT_EXIT_STOPPED;
	slot->state = WORKER_NOT_STARTED;
	slot->state_note[0] = '\0';
	slot->started_at = slot->last_error_at = slot->last_success_at = 0;
	slot->last_error[0] = '\0';
	slot->app_id[0] = '\0';
	slot->app_own = false;
	slot->in_flight = slot->held = slot->parked = slot->nlisted = 0;
	SpinLockRelease(&slot->mutex);
	for (int i = 0; i < NCOUNTERS; i++)
		pg_atomic_write_u64(&slot->count[i], 0);
	for (int i = 0; i < RTPUSH_LATENCY_BUCKETS; i++)
		pg_atomic_write_u64(&slot->latency[i], 0);
}

static void
status_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("rtpush", shared_size(), &found);
	if (!found)
	{
		memset(shared, 0, shared_size());
		SpinLockInit(&shared->mutex);
		pg_atomic_init_u64(&shared->extension_generation, 0);
		shared->nslots = rtpush_max_databases;
		for (int s = 0; s < shared->nslots; s++)
		{
			RtpushSlot *slot = &shared->slots[s];

			SpinLockInit(&slot->mutex);
			pg_atomic_init_u32(&slot->wakes_wanted, 1);
			for (int i = 0; i < NCOUNTERS; i++)
				pg_atomic_init_u64(&slot->count[i], 0);
			for (int i = 0; i < RTPUSH_LATENCY_BUCKETS; i++)
				pg_atomic_init_u64(&slot->latency[i], 0);
		}
	}
	rtpush_shared = shared;
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

/* the slot of database dboid, or NULL; the caller holds shared->mutex */
static RtpushSlot *
slot_of_locked(Oid dboid)
{
	for (int s = 0; s < shared->nslots; s++)
		if (shared->slots[s].dboid == dboid)
			return &shared->slots[s];
	return NULL;
}

/* ---- commit-time wakeup ---- */

/*
 * Wakes the worker of this database (events in another are not its own);
 * unless it said it need not be (rtpush_status_want_wakes()), or always.
 */
static void
wake_worker(bool always)
{
	RtpushSlot *slot;
	Latch	   *latch = NULL;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	slot = slot_of_locked(MyDatabaseId);
	if (slot)
		latch = slot->worker_latch;
	SpinLockRelease(&shared->mutex);
	if (latch == NULL)
		return;
	/* this commit is visible already: see rtpush_status_want_wakes() */
	pg_memory_barrier();
	if (always || pg_atomic_read_u32(&slot->wakes_wanted) != 0)
	{
		SetLatch(latch);
		pg_atomic_fetch_add_u64(&slot->count[COUNT_WAKEUPS], 1);
	}
}

/*
 * The worker says whether commits should wake it.  Not while it waits out
 * a coalescing window, at whose end it fetches anyway: under a stream
 * every commit woke it (a signal from the writer, a context switch on its
 * core) only for the worker to see the window still open and sleep again.
 * A commit is visible before its transaction's callback reads the flag,
 * and the worker sets it again before it takes its next fetch's snapshot:
 * a commit that did not wake the worker is seen by that fetch.
 */
void
rtpush_status_want_wakes(bool want)
{
	if (my_slot == NULL)
		return;
	pg_atomic_write_u32(&my_slot->wakes_wanted, want ? 1 : 0);
	pg_memory_barrier();
}

static void
status_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (queued_in_xact || wake_always_in_xact)
				wake_worker(wake_always_in_xact);
			queued_in_xact = false;
			wake_always_in_xact = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is found by the fallback poll */
			queued_in_xact = false;
			wake_always_in_xact = false;
			break;
		default:
			break;
	}
}

static void
register_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(status_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

void
rtpush_note_queued(void)
{
	register_callback();
	queued_in_xact = true;
}

/*
 * At commit, wakes the worker even if it did not ask to be (rtpush.set_app(),
 * rtpush.wake_worker()).
 */
void
rtpush_note_wake(void)
{
	register_callback();
	wake_always_in_xact = true;
}

/* ---- the worker's life ---- */

static bool
is_aside_locked(Oid dboid)
{
	for (int i = 0; i < RTPUSH_MAX_ASIDE; i++)
		if (shared->aside[i] == dboid)
			return true;
	return false;
}

/*
 * Under the same lock as rtpush_status_step_aside(): either the guard sees
 * this worker's pid and stops it, or the worker sees the guard and leaves.
 */
bool
rtpush_status_attach(int slot, Oid dboid)
{
	RtpushSlot *s;
	bool		ok;
	TimestampTz now = GetCurrentTimestamp();

	if (slot < 0 || slot >= shared->nslots)
		return false;
	s = &shared->slots[slot];
	SpinLockAcquire(&shared->mutex);
	ok = s->dboid == dboid && s->worker_pid == 0 && !is_aside_locked(dboid);
	if (ok)
	{
		s->worker_pid = MyProcPid;
		s->worker_latch = MyLatch;
	}
	SpinLockRelease(&shared->mutex);
	if (!ok)
		return false;
	my_slot = s;
	pg_atomic_write_u32(&s->wakes_wanted, 1);
	SpinLockAcquire(&s->mutex);
	s->exit_kind = SLOT_EXIT_ERROR; /* until it says otherwise */
	s->started_at = now;
	SpinLockRelease(&s->mutex);
	return true;
}

void
rtpush_status_worker_connected(void)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->worker_connected = true;
	SpinLockRelease(&my_slot->mutex);
}

void
rtpush_status_worker_exited(SlotExit how, uint64 generation)
{
	Latch	   *launcher;

	if (my_slot == NULL)
		return;
	SpinLockAcquire(&my_slot->mutex);
	my_slot->worker_connected = false;
	my_slot->exit_kind = how;
	my_slot->probe_generation = generation;
	my_slot->state = WORKER_STOPPED;
	my_slot->state_note[0] = '\0';
	my_slot->in_flight = 0;
	SpinLockRelease(&my_slot->mutex);
	SpinLockAcquire(&shared->mutex);
	my_slot->worker_pid = 0;
	my_slot->worker_latch = NULL;
	/* the launcher that started it is gone: the new one knows not the slot */
	if (shared->launcher_pid != MyBgworkerEntry->bgw_notify_pid)
		my_slot->dboid = InvalidOid;
	launcher = shared->launcher_latch;
	SpinLockRelease(&shared->mutex);
	if (launcher)
		SetLatch(launcher);
	my_slot = NULL;
}

bool
rtpush_status_stepping_aside(void)
{
	bool		aside;

	SpinLockAcquire(&shared->mutex);
	aside = my_slot && is_aside_locked(my_slot->dboid);
	SpinLockRelease(&shared->mutex);
	return aside;
}

/* ---- worker side: state, errors, counters ---- */

void
rtpush_status_set_state(WorkerState state, const char *note)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->state = state;
	strlcpy(my_slot->state_note, note ? note : "", sizeof(my_slot->state_note));
	SpinLockRelease(&my_slot->mutex);
}

/* the app the worker delivers to, for rtpush.databases */
void
rtpush_status_set_app(const char *app_id, bool own)
{
	SpinLockAcquire(&my_slot->mutex);
	strlcpy(my_slot->app_id, app_id, sizeof(my_slot->app_id));
	my_slot->app_own = own;
	SpinLockRelease(&my_slot->mutex);
}

void
rtpush_status_error(const char *msg)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&my_slot->mutex);
	strlcpy(my_slot->last_error, msg, sizeof(my_slot->last_error));
	my_slot->last_error_at = now;
	SpinLockRelease(&my_slot->mutex);
}

void
rtpush_status_delivered(int nevents, double latency_us_each[])
{
	TimestampTz now;

	pg_atomic_fetch_add_u64(&my_slot->count[COUNT_DELIVERED], nevents);
	for (int i = 0; i < nevents; i++)
	{
		double		us = latency_us_each[i];
		int			b = us <= 1.0 ? 0 : (int) (log(us) / log(LAT_BASE));

		b = Min(Max(b, 0), RTPUSH_LATENCY_BUCKETS - 1);
		pg_atomic_fetch_add_u64(&my_slot->latency[b], 1);
	}
	now = GetCurrentTimestamp();
	SpinLockAcquire(&my_slot->mutex);
	my_slot->last_success_at = now;
	SpinLockRelease(&my_slot->mutex);
}

void
rtpush_status_count(StatusCounter c)
{
	Assert(c >= 0 && c < NCOUNTERS);
	pg_atomic_fetch_add_u64(&my_slot->count[c], 1);
}

void
rtpush_status_counts(int in_flight, int held, int parked)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->in_flight = in_flight;
	my_slot->held = held;
	my_slot->parked = parked;
	SpinLockRelease(&my_slot->mutex);
}

/* Lists a channel just parked (the first RTPUSH_PARKED_LISTED only). */
void
rtpush_status_parked(const char *channel)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&my_slot->mutex);
	if (my_slot->nlisted < RTPUSH_PARKED_LISTED)
	{
		int			i = my_slot->nlisted++;

		strlcpy(my_slot->parked_name[i], channel, RTPUSH_CHANNEL_NAME_SIZE);
		my_slot->parked_since[i] = now;
	}
	SpinLockRelease(&my_slot->mutex);
}

void
rtpush_status_unparked(void)
{
	SpinLockAcquire(&my_slot->mutex);
	my_slot->nlisted = 0;
	SpinLockRelease(&my_slot->mutex);
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

/*
 * Copies the fields under the slot's lock, then the counters and the
 * histogram, into copy (not the header's fields: dboid, pid, latch).
 */
void
rtpush_slot_copy(RtpushSlot *slot, RtpushSlot *copy)
{
	SpinLockAcquire(&slot->mutex);
	memcpy(&copy->worker_connected, &slot->worker_connected,
		   offsetof(RtpushSlot, count) - offsetof(RtpushSlot, worker_connected));
	SpinLockRelease(&slot->mutex);
	for (int c = 0; c < NCOUNTERS; c++)
		pg_atomic_init_u64(&copy->count[c], pg_atomic_read_u64(&slot->count[c]));
	for (int b = 0; b < RTPUSH_LATENCY_BUCKETS; b++)
		pg_atomic_init_u64(&copy->latency[b], pg_atomic_read_u64(&slot->latency[b]));
}

/*
 * What rtpush.status shows in this database: a copy of its slot (the
 * fields under the slot's lock, counters and histogram read after), or
 * without one of its own: while rtpush.database_name names another
 * database, that database's slot (as with the one worker of old), or
 * waiting_for_database when it has none; else waiting_for_worker when
 * some database found no free slot, not_started otherwise.
 */
static void
shown_slot(RtpushSlot *copy)
{
	Oid			dboid = MyDatabaseId;
	RtpushSlot *slot;

	memset(copy, 0, sizeof(*copy));
	if (rtpush_database_name[0] != '\0')
		dboid = get_database_oid(rtpush_database_name, true);
	SpinLockAcquire(&shared->mutex);
	slot = OidIsValid(dboid) ? slot_of_locked(dboid) : NULL;
	copy->state = dboid != MyDatabaseId ? WORKER_WAITING_FOR_DATABASE :
		shared->slots_short ? WORKER_WAITING_FOR_WORKER : WORKER_NOT_STARTED;
	if (copy->state == WORKER_WAITING_FOR_WORKER)
		strlcpy(copy->state_note, "rtpush.max_databases", sizeof(copy->state_note));
	if (slot)
		copy->worker_pid = slot->worker_pid;
	SpinLockRelease(&shared->mutex);
	if (slot == NULL)
		return;
	rtpush_slot_copy(slot, copy);
}

static Datum
counter(RtpushSlot *s, StatusCounter c)
{
	return Int64GetDatum(pg_atomic_read_u64(&s->count[c]));
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
	RtpushSlot *s;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	require_shared();
	s = palloc(sizeof(RtpushSlot));
	shown_slot(s);
	for (int b = 0; b < RTPUSH_LATENCY_BUCKETS; b++)
		total += (hist[b] = pg_atomic_read_u64(&s->latency[b]));
	worker_state_text(s->state, s->state_note, state, sizeof(state));

	v[0] = Int32GetDatum(s->worker_pid);
	n[0] = (s->worker_pid == 0);
	v[1] = CStringGetTextDatum(state);
	v[2] = Int32GetDatum(s->in_flight);
	v[3] = Int32GetDatum(s->held);
	v[4] = counter(s, COUNT_DELIVERED);
	v[5] = counter(s, COUNT_RETRIED);
	v[6] = counter(s, COUNT_FAILED);
	v[7] = counter(s, COUNT_DEAD);
	v[8] = counter(s, COUNT_REQUESTS);
	v[9] = CStringGetTextDatum(s->last_error);
	n[9] = (s->last_error[0] == '\0');
	v[10] = TimestampTzGetDatum(s->last_error_at);
	n[10] = (s->last_error_at == 0);
	v[11] = TimestampTzGetDatum(s->last_success_at);
	n[11] = (s->last_success_at == 0);
	v[12] = latency_quantile(hist, total, 0.50, &n[12]);
	v[13] = latency_quantile(hist, total, 0.99, &n[13]);
	v[14] = TimestampTzGetDatum(s->started_at);
	n[14] = (s->started_at == 0);
	v[15] = counter(s, COUNT_WAKEUPS);
	v[16] = Int32GetDatum(s->parked);

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
	RtpushSlot *s;

	require_shared();
	InitMaterializedSRF(fcinfo, 0);
	s = palloc(sizeof(RtpushSlot));
	shown_slot(s);
	for (int i = 0; i < s->nlisted; i++)
	{
		Datum		v[2] = {CStringGetTextDatum(s->parked_name[i]), TimestampTzGetDatum(s->parked_since[i])};
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
	rtpush_note_wake();
	PG_RETURN_VOID();
}
