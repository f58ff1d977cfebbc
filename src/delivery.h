/*-------------------------------------------------------------------------
 * delivery.h
 *	  The worker's in-memory delivery: events held, what to fetch next,
 *	  dispatch passes batching them into requests, outcomes and retries.
 *	  Implemented by delivery_held.c (held set, channels, parking,
 *	  rescans), delivery.c (dispatch and batching), delivery_request.c
 *	  (requests and their answers), delivery_outcomes.c (outcome queue).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_DELIVERY_H
#define RTPUSH_DELIVERY_H

#include "outbox_drain.h"
#include "schedule.h"

extern void delivery_init(void);

/* where fetched events are allocated for delivery_add() */
extern MemoryContext delivery_context(void);
extern void delivery_reset(void);	/* forget every held event */

/* events held in memory (not yet delivered or dead) */
extern int	delivery_held(void);
/* channels whose later events wait in the outbox (parked) */
extern int	delivery_parked(void);
/*
 * Takes ownership of ev (fetched in id order): holds it, or frees it when it
 * is held already (a rescan) or must wait in the outbox (parked); true if held.
 */
extern bool delivery_add(OutboxEvent *ev);

/*
 * What the worker should fetch next (schedule.h: FETCH_NOTHING, FETCH_ON or
 * FETCH_FROM_START when parked events are to be read again, and how many).
 * asked: the worker has a reason to read (a wake, a poll, more rows); a due
 * rescan is one too.  delivery_next_fetch() only says; delivery_start_fetch()
 * is called in the fetch's transaction and, for FETCH_FROM_START, releases
 * the parked channels: the caller then rewinds the outbox's read.
 */
extern FetchPlan delivery_next_fetch(bool asked);
extern FetchPlan delivery_start_fetch(void);

/* starts as many requests as slots and order allow; returns requests started */
extern int	delivery_dispatch(void);

/* endpoint unreachable or rate-limiting: no new requests for now */
extern bool delivery_paused(void);

/*
 * ms until the pause ends or the earliest retry the last pass waited for is
 * due (0: now); -1 if nothing waits for a time
 */
extern long delivery_next_due_ms(void);

/* the settings were reloaded: the next pass runs */
extern void delivery_settings_changed(void);

/* outcomes waiting to be written to the outbox */
typedef struct DeliveryOutcomes
{
	OutboxKey  *deleted;
	int			ndeleted;
	OutboxOutcome *retries;
	int			nretries;
	OutboxOutcome *dead;
	int			ndead;
} DeliveryOutcomes;

/*
 * Outcomes are written in batches: at once when a retry or dead letter is
 * among them, else after OUTCOME_BATCH deletions or OUTCOME_DELAY_MS, or
 * with the next fetch, whichever comes first.  What a crash loses of them
 * is delivered again.
 */
#define OUTCOME_BATCH 1000
#define OUTCOME_DELAY_MS 20

extern DeliveryOutcomes *delivery_outcomes(void);
extern bool delivery_has_outcomes(void);
/* should the worker write them now?  (the delay counts from the first ask) */
extern bool delivery_outcomes_due(TimestampTz now);
/* they were written (and committed): the queue starts over */
extern void delivery_outcomes_written(void);

#endif
