/*-------------------------------------------------------------------------
 * schedule.c
 *	  The delivery worker's scheduling decisions and their limits, pure C:
 *	  fetch limits, parking and rescans, retry backoff and pauses, and the
 *	  choice of batch.  The callers (delivery_held.c, delivery.c,
 *	  delivery_request.c) keep the events; these functions see counts,
 *	  flags and the clock only, so test/unit/test_schedule.c tests them.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>

#include "clock.h"
#include "pusher.h"
#include "schedule.h"

/* ---- fetching ---- */

FetchPlan
schedule_fetch(int held, bool asked, bool rescan_due)
{
	FetchPlan	p = {FETCH_NOTHING, 0};

	if (held > MAX_HELD - FETCH_PAGE || !(asked || rescan_due))
		return p;
	p.kind = rescan_due ? FETCH_FROM_START : FETCH_ON;
	p.max = FETCH_PAGE;
	return p;
}

/* ---- coalescing ---- */

void
schedule_fetched(Coalescer *c, TimestampTz started, int found)
{
	int64		since_us = c->last_fetch > 0 ? started - c->last_fetch : 0;
	/* events per ms since the fetch before, times 1,000 */
	int64		rate = since_us > 0 ? (int64) found * 1000000 / since_us : 0;
	int			window = Max(c->window_ms, COALESCE_WINDOW_MS);
	int			largest = c->max_window_ms > 0 ? c->max_window_ms : COALESCE_MAX_WINDOW_MS;

	if (found < COALESCE_MIN_EVENTS)
		window = COALESCE_WINDOW_MS;
	else if (rate >= COALESCE_FAST_PER_MS * 1000)
		window = Min(window * 2, largest);
	else if (rate < COALESCE_FAST_PER_MS * 500)
		window = Max(Min(window / 2, largest), COALESCE_WINDOW_MS);
	c->window_ms = window;
	c->last_fetch = started;
	c->last_found = found;
}

long
schedule_coalesce_ms(const Coalescer *c, TimestampTz now)
{
	TimestampTz until = c->last_fetch +
		(TimestampTz) Max(c->window_ms, COALESCE_WINDOW_MS) * 1000;

	if (c->last_fetch == 0 || c->last_found < COALESCE_MIN_EVENTS || now >= until)
		return 0;
	return (long) ((until - now + 999) / 1000);
}

/* ---- parking ---- */

bool
schedule_must_park(bool parked, bool failing, int held_on_it)
{
	return parked || (failing && held_on_it >= PARK_AT);
}

bool
schedule_park_tail(bool parked, bool failing, int held_on_it)
{
	return failing && !parked && held_on_it > PARK_AT;
}

bool
schedule_keep_held(int kept)
{
	return kept < PARK_AT;
}

bool
schedule_parked_moves(int held_on_it)
{
	return held_on_it < PARK_AT / 2;
}

void
schedule_channel_parked(Rescan *r)
{
	if (r->nparked++ == 0)
		r->wanted = false;		/* wanted for this parking from now on */
}

void
schedule_rescan_wanted(Rescan *r)
{
	r->wanted = true;
}

/* A rescan is wanted (a parked channel moves) and the last one is not too recent. */
bool
schedule_rescan_due(const Rescan *r)
{
	return r->wanted && r->nparked > 0 &&
		rtpush_clock_now() >= r->last + (TimestampTz) RESCAN_MS * 1000;
}

void
schedule_rescan_started(Rescan *r)
{
	r->nparked = 0;
	r->wanted = false;
	r->last = rtpush_clock_now();
}

/* ---- retries ---- */

long
schedule_backoff_ms(const Backoff *b, int attempts, double jitter, const char *retry_after)
{
	double		d = b->base_ms * pow(2.0, Min(attempts - 1, 30));
	long		ra;

	d = Min(d, (double) b->max_ms);
	d *= 0.5 + 0.5 * jitter;
	if (retry_after && (ra = pusher_retry_after(retry_after, rtpush_clock_unix_seconds())) >= 0)
		d = Max(d, ra * 1000.0);
	return (long) d;
}

/* like schedule_backoff_ms, but probes a down endpoint at least every PAUSE_MAX_MS */
static long
pause_ms(const Backoff *b, int n, double jitter, const char *retry_after)
{
	long		ms = Min(schedule_backoff_ms(b, n, jitter, NULL), PAUSE_MAX_MS);
	long		ra;

	if (retry_after && (ra = pusher_retry_after(retry_after, rtpush_clock_unix_seconds())) >= 0)
		ms = Max(ms, ra * 1000);
	return ms;
}

void
schedule_pause(Pause *p, const Backoff *b, double jitter, const char *retry_after)
{
	TimestampTz now = rtpush_clock_now();

	if (now < p->until)
		return;					/* already paused by another request */
	p->n++;
	p->until = now + (TimestampTz) pause_ms(b, p->n, jitter, retry_after) * 1000;
}

void
schedule_resume(Pause *p)
{
	p->n = 0;
	p->until = 0;
}

bool
schedule_paused(const Pause *p)
{
	return p->until != 0 && rtpush_clock_now() < p->until;
}

/* ---- batching ---- */

void
schedule_batcher_init(Batcher *b, int slots, int batch_size, int *fill)
{
	b->batch_size = batch_size;
	b->slots = slots;
	b->nopen = 0;
	b->fill = fill;
	b->room = 0;
	b->bytes = NULL;
}

void
schedule_batcher_bytes(Batcher *b, size_t max_bytes, const PusherRequestHead *head, size_t *bytes)
{
	b->bytes = bytes;
	b->max_bytes = max_bytes;
	b->head = *head;
}

/* does an item of this size fit in open batch i (by bytes; a first event always does)? */
static bool
fits(const Batcher *b, int i, size_t item)
{
	if (b->bytes == NULL || b->fill[i] == 0)
		return true;
	return pusher_request_size(&b->head, b->bytes[i] + 1 + item) <= b->max_bytes;
}

/* batch i takes no more events in this pass */
static void
close_batch(Batcher *b, int i)
{
	if (b->fill[i] < b->batch_size)
		b->room--;
	b->fill[i] = b->batch_size;
}

/*
 * Spreading channels over batches lets requests run side by side even when
 * few channels are busy: each request then waits only for its own channels.
 */
int
schedule_batch_for(Batcher *b, int busy, size_t item)
{
	int			best = -1;

	if (busy == BATCH_STARTED)
		return -1;
	if (busy != BATCH_NONE)
	{
		if (b->fill[busy] < b->batch_size && !fits(b, busy, item))
			close_batch(b, busy);
		return b->fill[busy] < b->batch_size ? busy : -1;
	}
	if (b->slots > 0)
	{
		b->fill[b->nopen] = 0;
		if (b->bytes)
			b->bytes[b->nopen] = PUSHER_BATCH_BODY_OVERHEAD;
		b->slots--;
		b->room++;
		return b->nopen++;
	}
	for (int i = 0; i < b->nopen; i++)
		if (b->fill[i] < b->batch_size && fits(b, i, item) &&
			(best < 0 || b->fill[i] < b->fill[best]))
			best = i;
	return best;
}

void
schedule_batch_joined(Batcher *b, int batch, size_t item)
{
	if (b->bytes)
		b->bytes[batch] += (b->fill[batch] > 0) + item;
	if (++b->fill[batch] == b->batch_size)
		b->room--;
}

bool
schedule_take_slot(Batcher *b)
{
	if (b->slots <= 0)
		return false;
	b->slots--;
	return true;
}

bool
schedule_batcher_full(const Batcher *b)
{
	return b->slots <= 0 && b->room == 0;
}
