/*-------------------------------------------------------------------------
 * delivery_held.c
 *	  The held set: events fetched from the outbox and held in id order
 *	  until their outcome is known, their keys, the state of their
 *	  channels, parking and the rescans that read parked events again, and
 *	  the answer to what the worker should fetch next.
 *
 * A channel whose request failed keeps at most PARK_AT events held: its
 * later events (and those of every channel they share an event with) are
 * "parked", left in the outbox, so that one refused channel cannot fill the
 * held set and stop the reading of every other channel.  When a parked
 * channel moves again, the worker reads the outbox again from its start (a
 * rescan); events already held are skipped by their key, parked ones are
 * held or parked again, in id order.  The limits and decisions are
 * schedule.c's.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "delivery_int.h"
#include "schedule.h"
#include "status.h"

/*
 * Held events, their channel arrays, their keys' hash and the fetched rows
 * live in cxt.  It is reset once nothing is held and a burst made it grow
 * past HELD_CXT_KEEP, so that the memory of a burst goes back rather than
 * stay on the context's free lists for the life of the worker.
 */
#define HELD_CXT_KEEP (256 * 1024)

/* channels are forgotten once this many are known */
#define PRUNE_CHANNELS_AT 4096

StaticAssertDecl(RTPUSH_CHANNEL_NAME_SIZE == PUSHER_MAX_CHANNEL_LEN + 1,
				 "rtpush.parked_channels() lists whole channel names");

typedef struct HeldSet
{
	dlist_head	list;			/* held events in id order */
	int			n;
	HTAB	   *keys;			/* OutboxKey of every held event */
	HTAB	   *channels;		/* ChannelState by name */
	MemoryContext cxt;			/* the held events, their keys' hash */
	MemoryContext channels_cxt; /* the channels' hash */
	Rescan		rescan;
} HeldSet;

static HeldSet held = {.list = DLIST_STATIC_INIT(held.list)};

static HTAB *
new_held_keys(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(OutboxKey);
	ctl.entrysize = sizeof(OutboxKey);
	ctl.hcxt = held.cxt;
	return hash_create("rtpush held events", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static HTAB *
new_channels(void)
{
	HASHCTL		ctl;

	if (held.channels_cxt == NULL)
		held.channels_cxt = AllocSetContextCreate(TopMemoryContext, "rtpush channel states",
												  ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = PUSHER_MAX_CHANNEL_LEN + 1;
	ctl.entrysize = sizeof(ChannelState);
	ctl.hcxt = held.channels_cxt;
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
void
held_release_burst_memory(void)
{
	if (held.n != 0)
		return;
	if (MemoryContextMemAllocated(held.cxt, true) > HELD_CXT_KEEP)
	{
		MemoryContextReset(held.cxt);
		held.keys = new_held_keys();
	}
	/* parked channels keep their state: their events wait in the outbox */
	if (held.rescan.nparked == 0 && MemoryContextMemAllocated(held.channels_cxt, true) > HELD_CXT_KEEP)
	{
		hash_destroy(held.channels);
		held.channels = new_channels();
	}
}

void
delivery_init(void)
{
	held.channels = new_channels();
	if (held.cxt == NULL)
		held.cxt = AllocSetContextCreate(TopMemoryContext, "rtpush held events",
										 ALLOCSET_DEFAULT_SIZES);
	held.keys = new_held_keys();
	held.rescan.nparked = 0;
	rtpush_status_unparked();
	held.rescan.wanted = false;
}

MemoryContext
delivery_context(void)
{
	return held.cxt;
}

int
delivery_held(void)
{
	return held.n;
}

int
delivery_parked(void)
{
	return held.rescan.nparked;
}

dlist_head *
held_list(void)
{
	return &held.list;
}

/* ---- channels ---- */

static ChannelState *
channel(const char *name)
{
	char		key[PUSHER_MAX_CHANNEL_LEN + 1];
	bool		found;
	ChannelState *c;

	strlcpy(key, name, sizeof(key));
	c = hash_search(held.channels, key, HASH_ENTER, &found);
	if (!found)
	{
		c->busy = NULL;
		c->blocked_pass = 0;
		c->refs = 0;
		c->failing = false;
		c->parked = false;
	}
	return c;
}

void
held_release_channels(Held *h, Request *req)
{
	for (int i = 0; i < h->ev->nchannels; i++)
		if (h->cs[i]->busy == req)
			h->cs[i]->busy = NULL;
}

/* A request carrying h failed (failing) or went through (not). */
void
held_set_failing(Held *h, bool failing)
{
	for (int i = 0; i < h->ev->nchannels; i++)
	{
		if (h->cs[i]->parked && h->cs[i]->failing && !failing)
			schedule_rescan_wanted(&held.rescan);	/* it moves again */
		h->cs[i]->failing = failing;
	}
}

/* Forgets channels no request, no held event and no parked event refers to. */
void
held_prune_channels(void)
{
	HASH_SEQ_STATUS seq;
	ChannelState *c;

	if (hash_get_num_entries(held.channels) < PRUNE_CHANNELS_AT)
		return;
	hash_seq_init(&seq, held.channels);
	while ((c = hash_seq_search(&seq)) != NULL)
	{
		if (c->busy == NULL && c->refs == 0 && !c->parked)
			hash_search(held.channels, c->name, HASH_REMOVE, NULL);
	}
}

/* ---- holding and forgetting ---- */

/* Must ev wait in the outbox?  Yes behind a parked or a full failing channel. */
static bool
must_park(ChannelState **cs, int n)
{
	for (int i = 0; i < n; i++)
		if (schedule_must_park(cs[i]->parked, cs[i]->failing, cs[i]->refs))
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
		schedule_channel_parked(&held.rescan);
		cs[i]->parked = true;
		rtpush_status_parked(cs[i]->name);
	}
}

bool
delivery_add(OutboxEvent *ev)
{
	OutboxKey	key = delivery_key_of(ev);
	ChannelState **cs;
	Held	   *h;
	bool		found;

	(void) hash_search(held.keys, &key, HASH_FIND, &found);
	if (found)
	{
		outbox_event_free(ev);	/* read again by a rescan: held already */
		return false;
	}
	/* resolve the channels once: a dispatch pass then only follows pointers */
	cs = MemoryContextAlloc(held.cxt, sizeof(ChannelState *) * Max(ev->nchannels, 1));
	for (int i = 0; i < ev->nchannels; i++)
		cs[i] = channel(ev->channels[i]);
	if (must_park(cs, ev->nchannels))
	{
		park(cs, ev->nchannels);
		pfree(cs);
		outbox_event_free(ev);
		return false;
	}
	h = MemoryContextAllocZero(held.cxt, sizeof(Held));
	h->ev = ev;
	h->cs = cs;
	for (int i = 0; i < ev->nchannels; i++)
		cs[i]->refs++;
	(void) hash_search(held.keys, &key, HASH_ENTER, NULL);
	dlist_push_tail(&held.list, &h->node);
	held.n++;
	dispatch_wake();
	return true;
}

void
held_forget(Held *h)
{
	OutboxKey	key = delivery_key_of(h->ev);

	dlist_delete(&h->node);
	held.n--;
	for (int i = 0; i < h->ev->nchannels; i++)
	{
		h->cs[i]->refs--;
		if (h->cs[i]->parked && schedule_parked_moves(h->cs[i]->refs))
			schedule_rescan_wanted(&held.rescan);	/* it moves: read its parked events */
	}
	(void) hash_search(held.keys, &key, HASH_REMOVE, NULL);
	pfree(h->cs);
	outbox_event_free(h->ev);
	pfree(h);
}

/* Drops every held event and channel; no request may be in flight. */
void
held_reset(void)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &held.list)
		held_forget(dlist_container(Held, node, iter.cur));
	hash_destroy(held.channels);
	hash_destroy(held.keys);
	delivery_init();
}

/* ---- parking ---- */

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

	dlist_foreach_modify(iter, &held.list)
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
		if (!behind && schedule_keep_held(kept))
		{
			kept++;
			continue;
		}
		park(h->cs, h->ev->nchannels);
		held_forget(h);
		left++;
	}
	elog(DEBUG1, "rtpush: a failing channel keeps %d events held; %d later events wait in the outbox",
		 kept, left);
}

/* The channels a request failed on: those now over the limit park their tail. */
void
held_park_failed(ChannelState **failed, int nfailed)
{
	for (int i = 0; i < nfailed; i++)
		if (schedule_park_tail(failed[i]->parked, failed[i]->failing, failed[i]->refs))
			park_tail(failed[i]);
}

/* ---- what to fetch next ---- */

FetchPlan
delivery_next_fetch(bool asked)
{
	return schedule_fetch(held.n, asked, schedule_rescan_due(&held.rescan));
}

/* The outbox is read again from its start: nothing is parked now. */
static void
rescan_started(void)
{
	HASH_SEQ_STATUS seq;
	ChannelState *c;

	elog(DEBUG1, "rtpush: reading the outbox again for the events of %d parked channels",
		 held.rescan.nparked);
	hash_seq_init(&seq, held.channels);
	while ((c = hash_seq_search(&seq)) != NULL)
		c->parked = false;
	schedule_rescan_started(&held.rescan);
	rtpush_status_unparked();
}

FetchPlan
delivery_start_fetch(void)
{
	FetchPlan	p = delivery_next_fetch(true);

	if (p.kind == FETCH_FROM_START)
		rescan_started();
	return p;
}
