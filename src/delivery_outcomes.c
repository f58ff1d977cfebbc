/*-------------------------------------------------------------------------
 * delivery_outcomes.c
 *	  The outcome queue: deletions, retries and dead letters of finished
 *	  requests, kept until the worker writes them to the outbox in its next
 *	  short transaction.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "delivery_int.h"

#define OUTCOMES_MIN_CAP 64		/* entries an array first has room for */

typedef struct OutcomeQueue
{
	DeliveryOutcomes o;
	int			deleted_cap;
	int			retries_cap;
	int			dead_cap;
	TimestampTz first_at;		/* first asked whether due; 0: not since written */
} OutcomeQueue;

static OutcomeQueue queue;

static void *
grow(void *arr, int *cap, int need, Size elem)
{
	if (need <= *cap)
		return arr;
	*cap = Max(OUTCOMES_MIN_CAP, *cap * 2);
	if (arr == NULL)
		return MemoryContextAlloc(TopMemoryContext, *cap * elem);
	return repalloc(arr, *cap * elem);
}

void
outcome_deleted(const OutboxEvent *ev)
{
	DeliveryOutcomes *o = &queue.o;

	o->deleted = grow(o->deleted, &queue.deleted_cap, o->ndeleted + 1, sizeof(OutboxKey));
	o->deleted[o->ndeleted++] = delivery_key_of(ev);
}

static char *
keep(const char *s)
{
	return s ? MemoryContextStrdup(TopMemoryContext, s) : NULL;
}

void
outcome_add(bool dead, const OutboxEvent *ev, int status, const char *response,
			const char *reason)
{
	DeliveryOutcomes *q = &queue.o;
	OutboxOutcome *o;

	if (dead)
	{
		q->dead = grow(q->dead, &queue.dead_cap, q->ndead + 1, sizeof(OutboxOutcome));
		o = &q->dead[q->ndead++];
	}
	else
	{
		q->retries = grow(q->retries, &queue.retries_cap, q->nretries + 1, sizeof(OutboxOutcome));
		o = &q->retries[q->nretries++];
	}
	o->id = ev->id;
	o->xid = ev->xid;
	o->attempts = ev->attempts;
	o->not_before = ev->not_before;
	o->http_status = status;
	o->response = keep(response);
	o->reason = keep(reason);
}

DeliveryOutcomes *
delivery_outcomes(void)
{
	return &queue.o;
}

bool
delivery_has_outcomes(void)
{
	return queue.o.ndeleted + queue.o.nretries + queue.o.ndead > 0;
}

static void
free_strings(OutboxOutcome *o, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (o[i].response)
			pfree((void *) o[i].response);
		pfree((void *) o[i].reason);
	}
}

bool
delivery_outcomes_due(TimestampTz now)
{
	DeliveryOutcomes *o = &queue.o;

	if (!delivery_has_outcomes())
		return false;
	if (queue.first_at == 0)
		queue.first_at = now;
	return o->nretries > 0 || o->ndead > 0 || o->ndeleted >= OUTCOME_BATCH ||
		now >= TimestampTzPlusMilliseconds(queue.first_at, OUTCOME_DELAY_MS);
}

void
outcomes_drop(void)
{
	free_strings(queue.o.retries, queue.o.nretries);
	free_strings(queue.o.dead, queue.o.ndead);
	queue.o.ndeleted = queue.o.nretries = queue.o.ndead = 0;
}

void
delivery_outcomes_written(void)
{
	outcomes_drop();
	queue.first_at = 0;
}
