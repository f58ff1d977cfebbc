/*-------------------------------------------------------------------------
 * delivery.c
 *	  The dispatch pass: which held events go now, batched how, and when
 *	  the next pass is due.
 *
 * A pass walks the held events in id order and starts requests:
 * single-channel events are batched (up to rtpush.batch_size per
 * batch_events request and no request over rtpush.max_request_bytes on the
 * wire, the batch chosen by schedule.c), multi-channel
 * events go alone to /events.  A channel is busy while a request carrying
 * it is in flight; an event that cannot go (busy channel, retry not yet
 * due) blocks its channels for the rest of the pass, so no later event
 * overtakes it on any channel, while other channels go on.  The held set is
 * delivery_held.c's, requests and their answers delivery_request.c's, the
 * outcomes delivery_outcomes.c's.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "clock.h"
#include "delivery_health.h"
#include "delivery_int.h"
#include "schedule.h"
#include "settings.h"

/*
 * A pass considers no more than this many held events that might go: later
 * ones wait for earlier ones to finish.  Events that wait behind an earlier
 * one on their channel (in flight, or blocked in this pass) are stepped over
 * without counting, so that a channel holding thousands of events that wait
 * for a retry does not hold up the channels queued after it.
 */
#define LOOKAHEAD 4096

/*
 * A pass runs only when it may start something the last one could not:
 * after events were added, a request finished or the settings changed
 * (due), or once the earliest retry time the last pass was held up by has
 * come (retry_at; 0: none).  A commit wakes the worker thousands of times a
 * second under load; a pass over thousands of held events that can not go
 * yet would be repeated for nothing.
 */
typedef struct DispatchState
{
	bool		due;
	TimestampTz retry_at;
	uint64		pass;			/* the pass running, or the last one */
} DispatchState;

static DispatchState dispatch = {.due = true};

/* one dispatch pass */
typedef struct Pass
{
	Batcher		batches;		/* slots, and the batches being filled */
	Request   **open;			/* those batches */
	Request   **resends;		/* failed requests sent again as they were */
	int			nresends;
	int			started;
	TimestampTz now;
} Pass;

void
dispatch_wake(void)
{
	dispatch.due = true;
}

/* The settings changed (a reload): the next pass runs whatever else happened. */
void
delivery_settings_changed(void)
{
	dispatch.due = true;
	requests_settings_changed();
	health_settings_changed();
}

/* Drops every held event; requests in flight must have been abandoned. */
void
delivery_reset(void)
{
	held_reset();
	outcomes_drop();			/* the arrays are kept */
	requests_reset();
	dispatch.due = true;
	dispatch.retry_at = 0;
}

/* h waits for its retry time: the pass that saw it is due again then */
static void
note_retry_time(Held *h)
{
	if (dispatch.retry_at == 0 || h->ev->not_before < dispatch.retry_at)
		dispatch.retry_at = h->ev->not_before;
}

static void
block_channels(Held *h)
{
	for (int i = 0; i < h->ev->nchannels; i++)
		h->cs[i]->blocked_pass = dispatch.pass;
}

/* May h go now, in a request of its own? */
static bool
may_go(Held *h, TimestampTz now)
{
	if (h->ev->not_before > now)
	{
		note_retry_time(h);
		return false;
	}
	for (int i = 0; i < h->ev->nchannels; i++)
		if (h->cs[i]->blocked_pass == dispatch.pass || h->cs[i]->busy)
			return false;
	return true;
}

/* Is req no batch being filled (started, or a whole request to be started)? */
static bool
closed(const Request *req)
{
	return req->started || req->open_index < 0;
}

static void
join(Request *req, Held *h)
{
	req->items[req->n++] = h;
	h->req = req;
	for (int i = 0; i < h->ev->nchannels; i++)
		h->cs[i]->busy = req;
}

/* The open batch a single-channel event joins in this pass; NULL if it cannot go now. */
static Request *
batch_for(Held *h, Pass *p)
{
	ChannelState *c = h->cs[0];
	int			busy = BATCH_NONE;
	int			b;

	if (h->ev->not_before > p->now)
	{
		note_retry_time(h);
		return NULL;
	}
	if (c->blocked_pass == dispatch.pass)
		return NULL;
	if (c->busy)
		busy = closed(c->busy) ? BATCH_STARTED : c->busy->open_index;
	if ((b = schedule_batch_for(&p->batches, busy, request_item_size(h))) < 0)
		return NULL;
	if (p->open[b] == NULL)		/* a new batch */
	{
		p->open[b] = request_new(false);
		p->open[b]->open_index = b;
	}
	return p->open[b];
}

/*
 * Can h be passed over at no cost in this pass: in flight, or a
 * single-channel event whose channel already waits (an earlier event is
 * blocked in this pass, or a request carrying the channel has started)?
 */
static bool
waits_behind(Held *h)
{
	ChannelState *c;

	if (h->req != NULL)
		return true;
	if (h->ev->nchannels != 1)
		return false;
	c = h->cs[0];
	return c->blocked_pass == dispatch.pass || (c->busy != NULL && closed(c->busy));
}

/* Starts an event that goes alone (several channels, or split from a batch). */
static bool
dispatch_alone(Held *h, Pass *p)
{
	Request    *req;

	if (p->batches.slots <= 0 || !may_go(h, p->now))
		return false;
	(void) schedule_take_slot(&p->batches);
	req = request_new(true);
	join(req, h);
	request_start(req);
	p->started++;
	return true;
}

/*
 * The held events of h's resend group, h (the first) included, in id
 * order; fewer than h->resend_n if some are no longer held.
 */
static int
resend_group(Held *h, Held **m)
{
	int			n = 0;

	for (dlist_node *node = &h->node; n < h->resend_n; node = node->next)
	{
		Held	   *o = dlist_container(Held, node, node);

		if (o->resend == h->resend && o->req == NULL)
			m[n++] = o;
		if (!dlist_has_next(held_list(), node))
			break;
	}
	return n;
}

/*
 * Sends the failed request whose first held event is h again, with the same
 * events (so the same idempotency key), once every one of them may go.
 * Until then all their channels wait.  False if the group is no longer
 * whole: its events are then batched as any other.
 */
static bool
dispatch_resend(Held *h, Pass *p)
{
	Held	   *m[PUSHER_MAX_BATCH];
	int			n = resend_group(h, m);
	bool		go = p->batches.slots > 0;
	Request    *req;

	if (n != h->resend_n || n > PUSHER_MAX_BATCH)
	{
		for (int i = 0; i < n; i++)
			m[i]->resend = 0;
		return false;
	}
	for (int i = 0; i < n && go; i++)
		go = may_go(m[i], p->now);
	if (!go)
	{
		for (int i = 0; i < n; i++)
			block_channels(m[i]);
		return true;
	}
	(void) schedule_take_slot(&p->batches);
	req = request_new(n == 1 || h->alone);
	for (int i = 0; i < n; i++)
		join(req, m[i]);
	p->resends[p->nresends++] = req;	/* started after the walk */
	return true;
}

/* Is a pass due: something changed, a retry is due, or a probe? */
static bool
pass_due(TimestampTz now)
{
	if (dispatch.due)
		return true;
	if (dispatch.retry_at != 0 && now >= dispatch.retry_at)
		return true;
	return health_next_probe_ms() == 0;
}

/* Walks the held events in order, filling p's batches and starting lone ones. */
static void
walk(Pass *p)
{
	int			scanned = 0;
	dlist_mutable_iter iter;

	/* _modify: a request failing at once may forget events up to h */
	dlist_foreach_modify(iter, held_list())
	{
		Held	   *h = dlist_container(Held, node, iter.cur);
		Request    *req;

		if (schedule_batcher_full(&p->batches))
			break;
		if (waits_behind(h))
			continue;
		if (++scanned > LOOKAHEAD)
			break;
		if (h->resend != 0 && dispatch_resend(h, p))
			continue;
		if (h->alone || h->ev->nchannels != 1)
		{
			if (!dispatch_alone(h, p))
				block_channels(h);
			continue;
		}
		if ((req = batch_for(h, p)) == NULL)
		{
			block_channels(h);
			continue;
		}
		join(req, h);
		schedule_batch_joined(&p->batches, req->open_index, request_item_size(h));
	}
}

int
delivery_dispatch(void)
{
	Pass		p = {0};
	int			slots;
	int		   *fill;
	size_t	   *bytes;
	PusherRequestHead head;
	char		host[300];

	p.now = rtpush_clock_now();
	held_release_burst_memory();
	if (!request_configured() || p.now < requests_paused_until())
		return 0;
	if (!pass_due(p.now))
		return 0;
	slots = health_slots(rtpush_max_in_flight - requests_in_flight(), requests_in_flight());
	if (slots <= 0)
		return 0;				/* misconfigured: no probe due yet */
	dispatch.due = false;
	dispatch.retry_at = 0;
	dispatch.pass++;
	p.open = palloc0(sizeof(Request *) * slots);
	p.resends = palloc0(sizeof(Request *) * slots);
	fill = palloc(sizeof(int) * slots);
	bytes = palloc(sizeof(size_t) * slots);
	schedule_batcher_init(&p.batches, slots, rtpush_batch_size, fill);
	request_batch_head(&head, host, sizeof(host));
	schedule_batcher_bytes(&p.batches, rtpush_max_request_bytes, &head, bytes);
	walk(&p);
	for (int i = 0; i < p.nresends; i++)
		request_start(p.resends[i]);
	for (int i = 0; i < p.batches.nopen; i++)
		request_start(p.open[i]);
	p.started += p.nresends + p.batches.nopen;
	pfree(p.resends);
	pfree(p.open);
	pfree(fill);
	pfree(bytes);
	held_prune_channels();
	return p.started;
}

bool
delivery_paused(void)
{
	TimestampTz until = requests_paused_until();

	return until != 0 && rtpush_clock_now() < until;
}

long
delivery_next_due_ms(void)
{
	TimestampTz now = rtpush_clock_now();
	TimestampTz paused_until = requests_paused_until();
	long		probe = health_next_probe_ms();

	if (now < paused_until && delivery_held() > 0)
		return TimestampDifferenceMilliseconds(now, paused_until);
	if (probe >= 0 && delivery_held() > 0)
		return probe;
	if (dispatch.retry_at == 0 || !request_configured())
		return -1;				/* nothing waits for a time */
	return now >= dispatch.retry_at ? 0 : TimestampDifferenceMilliseconds(now, dispatch.retry_at);
}
