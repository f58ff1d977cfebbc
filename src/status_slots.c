/*-------------------------------------------------------------------------
 * status_slots.c
 *	  The launcher's and the DROP/RENAME DATABASE guard's side of rtpush's
 *	  shared memory (its layout: status_int.h): which database owns which
 *	  slot, how a slot's last worker left, the databases stepped aside
 *	  while they are dropped or renamed, and the CREATE EXTENSION commits
 *	  (where, and their count) that tell the launcher to look again at a
 *	  database that had no rtpush; and rtpush.database_workers(), every slot in use,
 *	  for superusers.  A delivery worker's side is status.c.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/builtins.h"

#include "status_int.h"

#define shared rtpush_shared

/* ---- the launcher ---- */

/*
 * A launcher restarted alone (an error in it: the postmaster starts it
 * again; its workers were stopped by its exit) begins with every slot free
 * but those of workers still leaving, which free theirs as they exit.
 */
void
rtpush_status_launcher_started(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->launcher_pid = MyProcPid;
	shared->launcher_latch = MyLatch;
	/* an earlier launcher's slots without a worker: free (see worker_exited) */
	for (int s = 0; s < shared->nslots; s++)
		if (shared->slots[s].worker_pid == 0)
			shared->slots[s].dboid = InvalidOid;
	SpinLockRelease(&shared->mutex);
}

static void
wake_launcher(void)
{
	Latch	   *latch;

	SpinLockAcquire(&shared->mutex);
	latch = shared->launcher_latch;
	SpinLockRelease(&shared->mutex);
	if (latch)
		SetLatch(latch);
}

/* (the launcher calls it before each start of a worker in it) */
int
rtpush_status_claim_slot(Oid dboid)
{
	int			found = -1;
	int			free_slot = -1;

	SpinLockAcquire(&shared->mutex);
	for (int s = 0; s < shared->nslots && found < 0; s++)
	{
		if (shared->slots[s].dboid == dboid)
			found = s;
		else if (free_slot < 0 && !OidIsValid(shared->slots[s].dboid))
			free_slot = s;
	}
	if (found < 0 && free_slot >= 0)
		shared->slots[free_slot].dboid = dboid;
	SpinLockRelease(&shared->mutex);
	if (found < 0 && free_slot >= 0)
		rtpush_slot_reset(&shared->slots[(found = free_slot)]);
	if (found >= 0)
	{
		/* a worker that never reaches its slot counts as an error */
		SpinLockAcquire(&shared->slots[found].mutex);
		shared->slots[found].exit_kind = SLOT_EXIT_ERROR;
		SpinLockRelease(&shared->slots[found].mutex);
	}
	return found;
}

void
rtpush_status_release_slot(int slot)
{
	SpinLockAcquire(&shared->mutex);
	Assert(shared->slots[slot].worker_pid == 0);
	shared->slots[slot].dboid = InvalidOid;
	SpinLockRelease(&shared->mutex);
}

SlotExit
rtpush_status_slot_exit(int slot, uint64 *generation)
{
	RtpushSlot *s = &shared->slots[slot];
	SlotExit	how;

	SpinLockAcquire(&s->mutex);
	how = s->exit_kind;
	*generation = s->probe_generation;
	SpinLockRelease(&s->mutex);
	return how;
}

void
rtpush_status_set_slot_state(int slot, WorkerState state, const char *note)
{
	RtpushSlot *s = &shared->slots[slot];

	SpinLockAcquire(&s->mutex);
	s->state = state;
	strlcpy(s->state_note, note ? note : "", sizeof(s->state_note));
	SpinLockRelease(&s->mutex);
}

void
rtpush_status_set_slots_short(bool short_of_slots)
{
	SpinLockAcquire(&shared->mutex);
	shared->slots_short = short_of_slots;
	SpinLockRelease(&shared->mutex);
}

/* ---- CREATE EXTENSION ---- */

uint64
rtpush_status_extension_generation(void)
{
	return pg_atomic_read_u64(&shared->extension_generation);
}

/* after the commit: the launcher's next look sees the new extension */
void
rtpush_status_extension_created(void)
{
	uint64		generation = pg_atomic_add_fetch_u64(&shared->extension_generation, 1);

	SpinLockAcquire(&shared->mutex);
	if (shared->ncreated < RTPUSH_MAX_CREATED)
	{
		shared->created[shared->ncreated].dboid = MyDatabaseId;
		shared->created[shared->ncreated].generation = generation;
		shared->ncreated++;
	}
	else
		shared->created_overflow = true;
	SpinLockRelease(&shared->mutex);
	wake_launcher();
}

int
rtpush_status_take_created(ExtensionCreated created[RTPUSH_MAX_CREATED], bool *overflow)
{
	int			n;

	SpinLockAcquire(&shared->mutex);
	n = shared->ncreated;
	memcpy(created, shared->created, n * sizeof(ExtensionCreated));
	*overflow = shared->created_overflow;
	shared->ncreated = 0;
	shared->created_overflow = false;
	SpinLockRelease(&shared->mutex);
	return n;
}

/* ---- DROP DATABASE, ALTER DATABASE ... RENAME ---- */

static int
aside_index_locked(Oid dboid)
{
	for (int i = 0; i < RTPUSH_MAX_ASIDE; i++)
		if (shared->aside[i] == dboid)
			return i;
	return -1;
}

bool
rtpush_status_is_aside(Oid dboid)
{
	bool		aside;

	SpinLockAcquire(&shared->mutex);
	aside = aside_index_locked(dboid) >= 0;
	SpinLockRelease(&shared->mutex);
	return aside;
}

void
rtpush_status_aside_list(Oid list[RTPUSH_MAX_ASIDE])
{
	SpinLockAcquire(&shared->mutex);
	memcpy(list, shared->aside, sizeof(shared->aside));
	SpinLockRelease(&shared->mutex);
}

pid_t
rtpush_status_worker_of(Oid dboid)
{
	pid_t		pid = 0;

	SpinLockAcquire(&shared->mutex);
	for (int s = 0; s < shared->nslots; s++)
		if (shared->slots[s].dboid == dboid)
			pid = shared->slots[s].worker_pid;
	SpinLockRelease(&shared->mutex);
	return pid;
}

bool
rtpush_status_step_aside(Oid dboid, pid_t *pid)
{
	int			i;

	*pid = 0;
	SpinLockAcquire(&shared->mutex);
	i = aside_index_locked(dboid);
	if (i < 0)
		i = aside_index_locked(InvalidOid);
	if (i >= 0)
	{
		shared->aside[i] = dboid;
		shared->aside_by[i] = MyProcPid;
		for (int s = 0; s < shared->nslots; s++)
			if (shared->slots[s].dboid == dboid)
				*pid = shared->slots[s].worker_pid;
	}
	SpinLockRelease(&shared->mutex);
	return i >= 0;
}

/* clears this backend's entry for dboid; the launcher may start it again */
void
rtpush_status_step_back(Oid dboid)
{
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < RTPUSH_MAX_ASIDE; i++)
	{
		if (shared->aside[i] == dboid && shared->aside_by[i] == MyProcPid)
		{
			shared->aside[i] = InvalidOid;
			shared->aside_by[i] = 0;
		}
	}
	SpinLockRelease(&shared->mutex);
	wake_launcher();
}

/* ---- SQL: rtpush.database_workers() ---- */

/* 0.7's rtpush.database_workers() has the first 12; 0.8's adds the app */
#define DATABASE_WORKERS_COLS 14

static void
put_slot_row(ReturnSetInfo *rsinfo, Oid dboid, pid_t pid, RtpushSlot *s)
{
	Datum		v[DATABASE_WORKERS_COLS];
	bool		n[DATABASE_WORKERS_COLS] = {0};
	char		state[WORKER_STATE_TEXT_SIZE];
	char	   *name = get_database_name(dboid);

	worker_state_text(s->state, s->state_note, state, sizeof(state));
	v[0] = ObjectIdGetDatum(dboid);
	v[1] = name ? CStringGetTextDatum(name) : (Datum) 0;
	n[1] = name == NULL;
	v[2] = Int32GetDatum(pid);
	n[2] = pid == 0;
	v[3] = CStringGetTextDatum(state);
	v[4] = Int32GetDatum(s->in_flight);
	v[5] = Int32GetDatum(s->held);
	v[6] = Int64GetDatum(pg_atomic_read_u64(&s->count[COUNT_DELIVERED]));
	v[7] = Int64GetDatum(pg_atomic_read_u64(&s->count[COUNT_FAILED]));
	v[8] = CStringGetTextDatum(s->last_error);
	n[8] = s->last_error[0] == '\0';
	v[9] = TimestampTzGetDatum(s->last_error_at);
	n[9] = s->last_error_at == 0;
	v[10] = TimestampTzGetDatum(s->last_success_at);
	n[10] = s->last_success_at == 0;
	v[11] = TimestampTzGetDatum(s->started_at);
	n[11] = s->started_at == 0;
	v[12] = CStringGetTextDatum(s->app_own ? "database" : "cluster");
	n[12] = pid == 0;
	v[13] = CStringGetTextDatum(s->app_id);
	n[13] = pid == 0 || s->app_id[0] == '\0';
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
}

/*
 * Every slot in use, whatever database it is called in: the database, its
 * worker and what it does.  Superusers only (the install script grants it
 * to no one): it names every database of the cluster.
 */
PG_FUNCTION_INFO_V1(rtpush_database_workers);
Datum
rtpush_database_workers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RtpushSlot *copy;

	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush is not loaded through shared_preload_libraries"),
				 errhint("Add rtpush to shared_preload_libraries and restart the server.")));
	InitMaterializedSRF(fcinfo, 0);
	copy = palloc0(sizeof(RtpushSlot));
	for (int i = 0; i < shared->nslots; i++)
	{
		RtpushSlot *slot = &shared->slots[i];
		Oid			dboid;
		pid_t		pid;

		SpinLockAcquire(&shared->mutex);
		dboid = slot->dboid;
		pid = slot->worker_pid;
		SpinLockRelease(&shared->mutex);
		if (!OidIsValid(dboid))
			continue;
		rtpush_slot_copy(slot, copy);
		put_slot_row(rsinfo, dboid, pid, copy);
	}
	return (Datum) 0;
}
