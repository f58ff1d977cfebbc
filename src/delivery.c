/*-------------------------------------------------------------------------
 * delivery.c
 *	  The delivery worker's in-memory state and scheduling.
 *
 * Events fetched from the outbox are held in id order until their outcome
 * is known.  A dispatch pass walks them in that order and starts requests:
 * single-channel events are batched (up to rtpush.batch_size per
 * batch_events request), multi-channel events go alone to /events.  A
 * channel is busy while a request carrying it is in flight; an event that
 * cannot go (busy channel, retry not yet due) blocks its channels for the
 * rest of the pass, so no later event overtakes it on any channel, while
 * other channels go on.  Outcomes (delete, retry, dead letter) are queued
 * for the worker to write in its next short transaction.
 *
 * A channel whose request failed keeps at most PARK_AT events held: its
 * later events (and those of every channel they share an event with) are
 * "parked", left in the outbox, so that one refused channel cannot fill the
 * held set and stop the reading of every other channel.  When a parked
 * channel moves again, the worker reads the outbox again from its start (a
 * rescan); events already held are skipped by their key, parked ones are
 * held or parked again, in id order.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "common/pg_prng.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "delivery.h"
#include "delivery_health.h"
#include "http.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"
#include "status.h"

/*
 * A pass considers no more than this many held events that might go: later
 * ones wait for earlier ones to finish.  Events that wait behind an earlier
 * one on their channel (in flight, or blocked in this pass) are stepped over
 * without counting, so that a channel holding thousands of events that wait
 * for a retry does not hold up the channels queued after it.
 */
#define LOOKAHEAD 4096

/*
 * Parking: a failing channel keeps at most PARK_AT events held; a rescan
 * waits RESCAN_MS after the previous one.
 */
#define PARK_AT 100
#define RESCAN_MS 1000

typedef struct Request Request;

typedef struct ChannelState ChannelState;

typedef struct Held
{
	dlist_node	node;
	OutboxEvent *ev;
	ChannelState **cs;			/* the state of each of its channels */
	Request    *req;			/* in flight with this request, or NULL */
	bool		alone;			/* send in a request of its own */
} Held;

struct Request
{
	Held	   *items[PUSHER_MAX_BATCH];
	int			n;
	bool		alone;			/* one event to /events */
	bool		started;		/* sent (else still being filled) */
	bool		unsendable;		/* its body could not be built: about its events */
};

/* one dispatch pass */
typedef struct Dispatch
{
	int			slots;			/* requests that may still start */
	Request   **open;			/* batches being filled */
	int			nopen;
	int			room;			/* open batches not yet full */
	int			started;
} Dispatch;

struct ChannelState
{
	char		name[PUSHER_MAX_CHANNEL_LEN + 1];	/* hash key */
	Request    *busy;			/* request in flight carrying it */
	uint64		blocked_pass;	/* pass in which an earlier event waits */
	int			refs;			/* held events on it (they point here) */
	bool		failing;		/* its last request failed and will be retried */
	bool		parked;			/* later events of it wait in the outbox */
};

static ChannelState *channel(const char *name, bool create);

StaticAssertDecl(RTPUSH_CHANNEL_NAME_SIZE == PUSHER_MAX_CHANNEL_LEN + 1,
				 "rtpush.parked_channels() lists whole channel names");

static dlist_head held_list = DLIST_STATIC_INIT(held_list);
static int	nheld = 0;
static int	inflight = 0;

/*
 * A pass runs only when it may start something the last one could not:
 * after events were added, a request finished or the settings changed
 * (dispatch_due), or once the earliest retry time the last pass was held up
 * by has come (retry_at; 0: none).  A commit wakes the worker thousands of
 * times a second under load; a pass over thousands of held events that can
 * not go yet would be repeated for nothing.
 */
static bool dispatch_due = true;
static TimestampTz retry_at = 0;
static TimestampTz paused_until = 0;	/* endpoint down or rate-limiting us */
static int	pauses = 0;			/* consecutive pauses */
static uint64 pass = 0;
static HTAB *channels = NULL;
static HTAB *held_keys = NULL;	/* OutboxKey of every held event */

/*
 * Held events, their channel arrays, their keys' hash and the fetched rows
 * live in held_cxt.
 * It is reset once nothing is held and a burst made it grow past
 * HELD_CXT_KEEP, so that the memory of a burst goes back rather than stay
 * on the context's free lists for the life of the worker.
 */
static MemoryContext held_cxt = NULL;
static MemoryContext channels_cxt = NULL;	/* the channels' hash is in it */
#define HELD_CXT_KEEP (256 * 1024)
static int	nparked = 0;		/* channels parked */
static bool rescan_wanted = false;
static TimestampTz last_rescan = 0;
static DeliveryOutcomes outcomes;
static int	deleted_cap = 0,
			retries_cap = 0,
			dead_cap = 0;

static HTAB *
new_held_keys(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(OutboxKey);
	ctl.entrysize = sizeof(OutboxKey);
	ctl.hcxt = held_cxt;
	return hash_create("rtpush held events", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static HTAB *
new_channels(void)
{
	HASHCTL		ctl;

	if (channels_cxt == NULL)
		channels_cxt = AllocSetContextCreate(TopMemoryContext, "rtpush channel states",
											 ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = PUSHER_MAX_CHANNEL_LEN + 1;
	ctl.entrysize = sizeof(ChannelState);
	ctl.hcxt = channels_cxt;
	return hash_create("rtpush channels", 1024, &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * Once nothing is held, the memory a burst left behind goes back: the held
 * events' context, and the channels' hash (a hash keeps the entries of its
 * largest size on a free list; with a channel per user, a burst over many
 * users would keep that for the life of the worker).  With nothing held, no
 * request is in flight and nothing points into either.
 */
static void
release_burst_memory(void)
{
	if (nheld != 0)
		return;
	if (MemoryContextMemAllocated(held_cxt, true) > HELD_CXT_KEEP)
	{
		MemoryContextReset(held_cxt);
		held_keys = new_held_keys();
	}
	/* parked channels keep their state: their events wait in the outbox */
	if (nparked == 0 && MemoryContextMemAllocated(channels_cxt, true) > HELD_CXT_KEEP)
	{
		hash_destroy(channels);
		channels = new_channels();
	}
}

void
delivery_init(void)
{
	channels = new_channels();
	if (held_cxt == NULL)
		held_cxt = AllocSetContextCreate(TopMemoryContext, "rtpush held events",
										 ALLOCSET_DEFAULT_SIZES);
	held_keys = new_held_keys();
	nparked = 0;
	rtpush_status_unparked();
	rescan_wanted = false;
}

MemoryContext
delivery_context(void)
{
	return held_cxt;
}

int
delivery_held(void)
{
	return nheld;
}

int
delivery_parked(void)
{
	return nparked;
}

static OutboxKey
key_of(const OutboxEvent *ev)
{
	OutboxKey	k;

	memset(&k, 0, sizeof(k));
	k.xid = ev->xid;
	k.id = ev->id;
	return k;
}

/*
 * Must ev wait in the outbox?  Yes behind a parked channel, and on a failing
 * channel that already has PARK_AT events held.
 */
static bool
must_park(ChannelState **cs, int n)
{
	for (int i = 0; i < n; i++)
		if (cs[i]->parked || (cs[i]->failing && cs[i]->refs >= PARK_AT))
			return true;
	return false;
}

/* Leaves an event in the outbox; its channels' later events follow it. */
static void
park(ChannelState **cs, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (cs[i]->parked)
			continue;
		if (nparked++ == 0)
			rescan_wanted = false;	/* wanted for this parking from now on */
		cs[i]->parked = true;
		rtpush_status_parked(cs[i]->name);
	}
}

bool
delivery_add(OutboxEvent *ev)
{
	OutboxKey	key = key_of(ev);
	ChannelState **cs;
	Held	   *h;
	bool		found;

	(void) hash_search(held_keys, &key, HASH_FIND, &found);
	if (found)
	{
		pfree(ev);				/* read again by a rescan: held already */
		return false;
	}
	/* resolve the channels once: a dispatch pass then only follows pointers */
	cs = MemoryContextAlloc(held_cxt, sizeof(ChannelState *) * Max(ev->nchannels, 1));
	for (int i = 0; i < ev->nchannels; i++)
		cs[i] = channel(ev->channels[i], true);
	if (must_park(cs, ev->nchannels))
	{
		park(cs, ev->nchannels);
		pfree(cs);
		pfree(ev);
		return false;
	}
	h = MemoryContextAllocZero(held_cxt, sizeof(Held));
	h->ev = ev;
	h->cs = cs;
	for (int i = 0; i < ev->nchannels; i++)
		cs[i]->refs++;
	(void) hash_search(held_keys, &key, HASH_ENTER, NULL);
	dlist_push_tail(&held_list, &h->node);
	nheld++;
	dispatch_due = true;
	return true;
}

/* A rescan is wanted (a parked channel moves) and the last one is not too recent. */
bool
delivery_rescan_due(void)
{
	return rescan_wanted && nparked > 0 &&
		GetCurrentTimestamp() >= TimestampTzPlusMilliseconds(last_rescan, RESCAN_MS);
}

/* The worker reads the outbox again from its start: nothing is parked now. */
void
delivery_rescan_started(void)
{
	HASH_SEQ_STATUS seq;
	ChannelState *c;

	elog(DEBUG1, "rtpush: reading the outbox again for the events of %d parked channels", nparked);
	hash_seq_init(&seq, channels);
	while ((c = hash_seq_search(&seq)) != NULL)
		c->parked = false;
	nparked = 0;
	rtpush_status_unparked();
	rescan_wanted = false;
	last_rescan = GetCurrentTimestamp();
}

/* The settings changed (a reload): the next pass runs whatever else happened. */
void
delivery_settings_changed(void)
{
	dispatch_due = true;
	health_settings_changed();
}

/* h waits for its retry time: the pass that saw it is due again then */
static void
note_retry_time(Held *h)
{
	if (retry_at == 0 || h->ev->not_before < retry_at)
		retry_at = h->ev->not_before;
}

static void
forget(Held *h)
{
	OutboxKey	key = key_of(h->ev);

	dlist_delete(&h->node);
	nheld--;
	for (int i = 0; i < h->ev->nchannels; i++)
	{
		h->cs[i]->refs--;
		if (h->cs[i]->parked && h->cs[i]->refs < PARK_AT / 2)
			rescan_wanted = true;	/* it moves: read its parked events */
	}
	(void) hash_search(held_keys, &key, HASH_REMOVE, NULL);
	pfree(h->cs);
	pfree(h->ev);
	pfree(h);
}

/* Drops every held event; requests in flight must have been abandoned. */
void
delivery_reset(void)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &held_list)
		forget(dlist_container(Held, node, iter.cur));
	delivery_outcomes_written();	/* drops them; the arrays are kept */
	hash_destroy(channels);
	hash_destroy(held_keys);
	inflight = 0;
	dispatch_due = true;
	retry_at = 0;
	paused_until = 0;
	pauses = 0;
	delivery_init();
}

/* ---- outcomes ---- */

static void *
grow(void *arr, int *cap, int need, Size elem)
{
	if (need <= *cap)
		return arr;
	*cap = Max(64, *cap * 2);
	if (arr == NULL)
		return MemoryContextAlloc(TopMemoryContext, *cap * elem);
	return repalloc(arr, *cap * elem);
}

static void
add_deleted(const OutboxEvent *ev)
{
	outcomes.deleted = grow(outcomes.deleted, &deleted_cap, outcomes.ndeleted + 1, sizeof(OutboxKey));
	outcomes.deleted[outcomes.ndeleted++] = key_of(ev);
}

static char *
keep(const char *s)
{
	return s ? MemoryContextStrdup(TopMemoryContext, s) : NULL;
}

static void
add_outcome(bool dead, const OutboxEvent *ev, int status, const char *response,
			const char *reason)
{
	OutboxOutcome *o;

	if (dead)
	{
		outcomes.dead = grow(outcomes.dead, &dead_cap, outcomes.ndead + 1, sizeof(OutboxOutcome));
		o = &outcomes.dead[outcomes.ndead++];
	}
	else
	{
		outcomes.retries = grow(outcomes.retries, &retries_cap, outcomes.nretries + 1, sizeof(OutboxOutcome));
		o = &outcomes.retries[outcomes.nretries++];
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
	return &outcomes;
}

bool
delivery_has_outcomes(void)
{
	return outcomes.ndeleted + outcomes.nretries + outcomes.ndead > 0;
}

void
delivery_outcomes_written(void)
{
	for (int i = 0; i < outcomes.nretries; i++)
	{
		if (outcomes.retries[i].response)
			pfree((void *) outcomes.retries[i].response);
		pfree((void *) outcomes.retries[i].reason);
	}
	for (int i = 0; i < outcomes.ndead; i++)
	{
		if (outcomes.dead[i].response)
			pfree((void *) outcomes.dead[i].response);
		pfree((void *) outcomes.dead[i].reason);
	}
	outcomes.ndeleted = outcomes.nretries = outcomes.ndead = 0;
}

/* ---- channels ---- */

static ChannelState *
channel(const char *name, bool create)
{
	char		key[PUSHER_MAX_CHANNEL_LEN + 1];
	bool		found;
	ChannelState *c;

	strlcpy(key, name, sizeof(key));
	c = hash_search(channels, key, create ? HASH_ENTER : HASH_FIND, &found);
	if (create && !found)
	{
		c->busy = NULL;
		c->blocked_pass = 0;
		c->refs = 0;
		c->failing = false;
		c->parked = false;
	}
	return c;
}

static void
block_channels(Held *h)
{
	for (int i = 0; i < h->ev->nchannels; i++)
		h->cs[i]->blocked_pass = pass;
}

static void
release_channels(Held *h, Request *req)
{
	for (int i = 0; i < h->ev->nchannels; i++)
		if (h->cs[i]->busy == req)
			h->cs[i]->busy = NULL;
}

/* A request carrying h failed (failing) or went through (not). */
static void
set_failing(Held *h, bool failing)
{
	for (int i = 0; i < h->ev->nchannels; i++)
	{
		if (h->cs[i]->parked && h->cs[i]->failing && !failing)
			rescan_wanted = true;	/* it moves again */
		h->cs[i]->failing = failing;
	}
}

/*
 * Channel a has just failed with more than PARK_AT events held: keep its
 * first PARK_AT and leave the rest in the outbox, with every later event of
 * a channel that one of those shares.  Events in flight stay: no earlier
 * event of their channels waits (a channel's events go in order).
 */
static void
park_tail(ChannelState *a)
{
	int			kept = 0,
				left = 0;
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &held_list)
	{
		Held	   *h = dlist_container(Held, node, iter.cur);
		bool		on_a = false,
					behind = false;

		if (h->req != NULL)
			continue;
		for (int i = 0; i < h->ev->nchannels; i++)
		{
			on_a |= (h->cs[i] == a);
			behind |= h->cs[i]->parked;
		}
		if (!behind && !on_a)
			continue;
		if (!behind && kept < PARK_AT)
		{
			kept++;
			continue;
		}
		park(h->cs, h->ev->nchannels);
		forget(h);
		left++;
	}
	elog(DEBUG1, "rtpush: a failing channel keeps %d events held; %d later events wait in the outbox",
		 kept, left);
}

/* Forgets channels no request, no held event and no parked event refers to. */
static void
prune_channels(void)
{
	HASH_SEQ_STATUS seq;
	ChannelState *c;

	if (hash_get_num_entries(channels) < 4096)
		return;
	hash_seq_init(&seq, channels);
	while ((c = hash_seq_search(&seq)) != NULL)
	{
		if (c->busy == NULL && c->refs == 0 && !c->parked)
			hash_search(channels, c->name, HASH_REMOVE, NULL);
	}
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
		if (h->cs[i]->blocked_pass == pass || h->cs[i]->busy)
			return false;
	return true;
}

static void
join(Request *req, Held *h)
{
	req->items[req->n++] = h;
	h->req = req;
	for (int i = 0; i < h->ev->nchannels; i++)
		h->cs[i]->busy = req;
}

/* ---- requests ---- */

static void request_done(void *arg, const HttpResult *r);

static bool
configured(void)
{
	return rtpush_app_id[0] && rtpush_key[0] && rtpush_secret[0];
}

/* Builds the request body; false with *why if an event cannot be sent. */
static bool
build_body(StringInfo body, Request *req, const char **why)
{
	PusherEvent evs[PUSHER_MAX_BATCH];

	for (int i = 0; i < req->n; i++)
	{
		OutboxEvent *ev = req->items[i]->ev;

		evs[i].name = ev->event;
		evs[i].channels = (const char *const *) ev->channels;
		evs[i].nchannels = ev->nchannels;
		evs[i].socket_id = ev->socket_id;
		if (!payload_for_channels(ev->id, ev->channels, ev->nchannels, ev->data, ev->datalen,
								  &evs[i].data, &evs[i].datalen, why))
			return false;
	}
	if (req->alone)
		pusher_events_body(body, &evs[0]);
	else
		pusher_batch_body(body, evs, req->n);
	return true;
}

static void
start(Request *req)
{
	StringInfoData body,
				url;
	char		path[128];
	HttpOptions opts;
	const char *why = NULL;

	inflight++;
	req->started = true;
	if (req->n == 1)
		req->alone = true;		/* a single event goes to /events */
	initStringInfo(&body);
	if (!build_body(&body, req, &why))
	{
		/* fails like a transport error: retried, then dead-lettered */
		HttpResult	r = {0};

		r.error = why;
		req->unsendable = true;
		request_done(req, &r);
		return;
	}
	snprintf(path, sizeof(path), "/apps/%s/%s", rtpush_app_id,
			 req->alone ? "events" : "batch_events");
	initStringInfo(&url);
	appendStringInfo(&url, "%s://%s:%d%s?", rtpush_scheme, rtpush_effective_host(),
					 rtpush_effective_port(), path);
	pusher_sign_request(&url, "POST", path, rtpush_key, rtpush_secret,
						(long) time(NULL), body.data, body.len);

	opts.connect_timeout_ms = rtpush_connect_timeout;
	opts.timeout_ms = rtpush_request_timeout;
	opts.ca_file = rtpush_ca_file;
	opts.max_connections = rtpush_max_in_flight;
	http_post(url.data, body.data, body.len, &opts, request_done, req);
	rtpush_status_count(COUNT_REQUESTS);
	pfree(body.data);
	pfree(url.data);
}

static Request *
new_request(bool alone)
{
	Request    *req = MemoryContextAllocZero(TopMemoryContext, sizeof(Request));

	req->alone = alone;
	return req;
}

/*
 * The batch a single-channel event may join in this pass: the open batch
 * that already carries its channel (while it has room), else a new batch
 * while slots remain, else the least filled open batch.  Spreading channels
 * over batches lets requests run side by side even when few channels are
 * busy: each request then waits only for its own channels.  NULL if the
 * event cannot go now.
 */
static Request *
batch_for(Held *h, Dispatch *d, TimestampTz now)
{
	ChannelState *c = h->cs[0];
	Request    *best = NULL;

	if (h->ev->not_before > now)
	{
		note_retry_time(h);
		return NULL;
	}
	if (c->blocked_pass == pass)
		return NULL;
	if (c->busy)
		return (!c->busy->started && c->busy->n < rtpush_batch_size) ? c->busy : NULL;
	if (d->slots > 0)
	{
		best = new_request(false);
		d->open[d->nopen++] = best;
		d->slots--;
		d->room++;
		return best;
	}
	for (int i = 0; i < d->nopen; i++)
		if (d->open[i]->n < rtpush_batch_size && (!best || d->open[i]->n < best->n))
			best = d->open[i];
	return best;
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
	return c->blocked_pass == pass || (c->busy != NULL && c->busy->started);
}

/* Starts an event that goes alone (several channels, or split from a batch). */
static bool
dispatch_alone(Held *h, Dispatch *d, TimestampTz now)
{
	Request    *req;

	if (d->slots <= 0 || !may_go(h, now))
		return false;
	req = new_request(true);
	join(req, h);
	start(req);
	d->slots--;
	d->started++;
	return true;
}

int
delivery_dispatch(void)
{
	TimestampTz now = GetCurrentTimestamp();
	Dispatch	d = {0};
	int			scanned = 0;
	dlist_mutable_iter iter;

	release_burst_memory();
	if (!configured() || now < paused_until)
		return 0;
	if (!dispatch_due && (retry_at == 0 || now < retry_at) && health_next_probe_ms() != 0)
		return 0;
	d.slots = health_slots(rtpush_max_in_flight - inflight, inflight);
	if (d.slots <= 0)
		return 0;				/* misconfigured: no probe due yet */
	dispatch_due = false;
	retry_at = 0;
	pass++;
	d.open = palloc(sizeof(Request *) * Max(d.slots, 1));
	/* _modify: a request failing at once may forget events up to h */
	dlist_foreach_modify(iter, &held_list)
	{
		Held	   *h = dlist_container(Held, node, iter.cur);
		Request    *req;

		if (d.slots <= 0 && d.room == 0)
			break;
		if (waits_behind(h))
			continue;
		if (++scanned > LOOKAHEAD)
			break;
		if (h->alone || h->ev->nchannels != 1)
		{
			if (!dispatch_alone(h, &d, now))
				block_channels(h);
			continue;
		}
		if ((req = batch_for(h, &d, now)) == NULL)
		{
			block_channels(h);
			continue;
		}
		join(req, h);
		if (req->n == rtpush_batch_size)
			d.room--;
	}
	for (int i = 0; i < d.nopen; i++)
		start(d.open[i]);
	d.started += d.nopen;
	pfree(d.open);
	prune_channels();
	return d.started;
}

bool
delivery_paused(void)
{
	return paused_until != 0 && GetCurrentTimestamp() < paused_until;
}

long
delivery_next_due_ms(void)
{
	TimestampTz now = GetCurrentTimestamp();

	long		probe = health_next_probe_ms();

	if (now < paused_until && nheld > 0)
		return TimestampDifferenceMilliseconds(now, paused_until);
	if (probe >= 0 && nheld > 0)
		return probe;
	if (retry_at == 0 || !configured())
		return -1;				/* nothing waits for a time */
	return now >= retry_at ? 0 : TimestampDifferenceMilliseconds(now, retry_at);
}

/* ---- outcomes of a request ---- */

static long
backoff_ms(int attempts, const char *retry_after)
{
	double		d = rtpush_retry_base * pow(2.0, Min(attempts - 1, 30));
	long		ra;

	d = Min(d, (double) rtpush_retry_max);
	d *= 0.5 + 0.5 * pg_prng_double(&pg_global_prng_state);
	if (retry_after && (ra = pusher_retry_after(retry_after, time(NULL))) >= 0)
		d = Max(d, ra * 1000.0);
	return (long) d;
}

/* like backoff_ms, but probes a down endpoint at least every PAUSE_MAX_MS */
#define PAUSE_MAX_MS 5000
static long
pause_ms(int n, const char *retry_after)
{
	long		ms = Min(backoff_ms(n, NULL), PAUSE_MAX_MS);
	long		ra;

	if (retry_after && (ra = pusher_retry_after(retry_after, time(NULL))) >= 0)
		ms = Max(ms, ra * 1000);
	return ms;
}

static void
delivered(Request *req, TimestampTz now)
{
	double		lat[PUSHER_MAX_BATCH];

	for (int i = 0; i < req->n; i++)
	{
		Held	   *h = req->items[i];

		lat[i] = (double) (now - h->ev->queued_at);
		add_deleted(h->ev);
		set_failing(h, false);
		forget(h);
	}
	rtpush_status_delivered(req->n, lat);
}

static void
dead(Held *h, int status, const char *response, const char *reason)
{
	add_outcome(true, h->ev, status, response, reason);
	rtpush_status_count(COUNT_DEAD);
	forget(h);
}

static void
retry_later(Request *req, const HttpResult *r, const char *why, TimestampTz now)
{
	ChannelState *failed[PUSHER_MAX_CHANNELS];
	int			nfailed = 0;

	/* the channels it failed on (a multi-channel event goes alone) */
	for (int i = 0; i < req->n; i++)
		for (int j = 0; j < req->items[i]->ev->nchannels && nfailed < PUSHER_MAX_CHANNELS; j++)
			failed[nfailed++] = req->items[i]->cs[j];
	for (int i = 0; i < req->n; i++)
	{
		Held	   *h = req->items[i];
		OutboxEvent *ev = h->ev;
		bool		too_old = (now - ev->queued_at) / USECS_PER_SEC >= rtpush_max_age;

		if (!r->unreachable)
			ev->attempts++;		/* nothing reached the endpoint: not an attempt */
		h->req = NULL;
		/* the endpoint refused it (not down, not rate-limiting everyone) */
		if (!r->unreachable && r->status != 429)
			set_failing(h, true);
		if (ev->attempts >= rtpush_max_attempts || too_old)
		{
			char		reason[512];

			snprintf(reason, sizeof(reason), "%s after %d attempts: %s",
					 too_old ? "expired" : "gave up", ev->attempts, why);
			dead(h, (int) r->status, r->body, reason);
			continue;
		}
		ev->not_before = TimestampTzPlusMilliseconds(now, backoff_ms(ev->attempts, r->retry_after));
		add_outcome(false, ev, (int) r->status, NULL, why);
		rtpush_status_count(COUNT_RETRIED);
	}
	for (int i = 0; i < nfailed; i++)
		if (failed[i]->failing && !failed[i]->parked && failed[i]->refs > PARK_AT)
			park_tail(failed[i]);
}

static void
rejected(Request *req, const HttpResult *r, long status, const char *why)
{
	if (req->n > 1)
	{
		/* split: each event alone, so one bad event takes nobody with it */
		for (int i = 0; i < req->n; i++)
		{
			req->items[i]->alone = true;
			req->items[i]->req = NULL;
		}
		return;
	}
	req->items[0]->ev->attempts++;
	dead(req->items[0], (int) status, r->body, why);
}

/*
 * The answer was about the configuration, not these events: they go back
 * to waiting, in order, without spending an attempt, until the pause ends.
 */
static void
put_back(Request *req)
{
	for (int i = 0; i < req->n; i++)
		req->items[i]->req = NULL;
}

static void
describe(char *buf, size_t len, const HttpResult *r, long status)
{
	if (r->error)
		snprintf(buf, len, "%s", r->error);
	else
		snprintf(buf, len, "HTTP %ld: %.200s", status, r->body ? r->body : "");
}

/*
 * An unreachable endpoint, or a 429 with Retry-After, pauses every new
 * request (with backoff) rather than spending the retries of every held
 * event; any success resumes.
 */
static void
pause_or_resume(PusherOutcome outcome, const HttpResult *r, TimestampTz now)
{
	if (outcome == PUSHER_DELIVERED)
	{
		pauses = 0;
		paused_until = 0;
		return;
	}
	if (outcome != PUSHER_RETRY || !(r->unreachable || (r->status == 429 && r->retry_after)))
		return;
	if (now < paused_until)
		return;					/* already paused by another request */
	pauses++;
	paused_until = TimestampTzPlusMilliseconds(now, pause_ms(pauses, r->retry_after));
}

static void
request_done(void *arg, const HttpResult *r)
{
	Request    *req = (Request *) arg;
	TimestampTz now = GetCurrentTimestamp();
	long		status;
	char		why[320];
	PusherOutcome outcome;

	inflight--;
	dispatch_due = true;
	for (int i = 0; i < req->n; i++)
		release_channels(req->items[i], req);
	outcome = pusher_classify(r->status, r->body, r->bodylen, &status);
	if (outcome != PUSHER_DELIVERED)
	{
		describe(why, sizeof(why), r, status);
		rtpush_status_error(why);
		rtpush_status_count(COUNT_FAILED);
	}
	pause_or_resume(outcome, r, now);
	if (outcome == PUSHER_DELIVERED)
		health_delivered();
	else if ((outcome == PUSHER_RETRY || outcome == PUSHER_MISCONFIGURED) && !req->unsendable)
		health_failed(outcome, status, r->unreachable, why, nheld);
	if (outcome == PUSHER_DELIVERED)
		delivered(req, now);
	else if (outcome == PUSHER_MISCONFIGURED)
		put_back(req);
	else if (outcome == PUSHER_RETRY)
		retry_later(req, r, why, now);
	else
		rejected(req, r, status, why);
	pfree(req);
}
