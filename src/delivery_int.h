/*-------------------------------------------------------------------------
 * delivery_int.h
 *	  Private to the delivery modules (delivery.c, delivery_held.c,
 *	  delivery_request.c, delivery_outcomes.c): a held event, the state of
 *	  a channel, a request, and the calls between the modules.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_DELIVERY_INT_H
#define RTPUSH_DELIVERY_INT_H

#include "lib/ilist.h"

#include "delivery.h"
#include "http.h"
#include "pusher.h"

typedef struct Request Request;
typedef struct ChannelState ChannelState;

typedef struct Held
{
	dlist_node	node;
	OutboxEvent *ev;
	ChannelState **cs;			/* the state of each of its channels */
	Request    *req;			/* in flight with this request, or NULL */
	bool		alone;			/* send in a request of its own */
	size_t		item_size;		/* bytes in a batch_events body; 0: not known */
	uint64		size_gen;		/* settings generation item_size is of */
	uint64		resend;			/* its failed request, to be resent as it was; 0: none */
	int			resend_n;		/* events of that request still held */
} Held;

struct Request
{
	Held	   *items[PUSHER_MAX_BATCH];
	int			n;
	int			open_index;		/* its place among the pass's open batches */
	bool		alone;			/* one event to /events */
	bool		started;		/* sent (else still being filled) */
	bool		unsendable;		/* its body could not be built: about its events */
};

struct ChannelState
{
	char		name[PUSHER_MAX_CHANNEL_LEN + 1];	/* hash key */
	Request    *busy;			/* request in flight carrying it */
	uint64		blocked_pass;	/* pass in which an earlier event waits */
	int			refs;			/* held events on it (they point here) */
	bool		failing;		/* its last request failed and will be retried */
	bool		parked;			/* later events of it wait in the outbox */
};

static inline OutboxKey
delivery_key_of(const OutboxEvent *ev)
{
	OutboxKey	k;

	memset(&k, 0, sizeof(k));
	k.xid = ev->xid;
	k.id = ev->id;
	return k;
}

/* delivery_held.c: the held set, in id order */
extern dlist_head *held_list(void);
extern void held_forget(Held *h);
extern void held_release_channels(Held *h, Request *req);
extern void held_set_failing(Held *h, bool failing);
extern void held_park_failed(ChannelState **failed, int nfailed);
extern void held_prune_channels(void);
extern void held_release_burst_memory(void);
extern void held_reset(void);

/* delivery.c: the dispatch pass */
extern void dispatch_wake(void);	/* something finished: the next pass runs */

/* delivery_request.c: requests */
extern Request *request_new(bool alone);
extern void request_start(Request *req);
extern bool request_configured(void);
extern int	requests_in_flight(void);
extern TimestampTz requests_paused_until(void);
extern void requests_settings_changed(void);	/* held item sizes are stale */
extern void request_batch_head(PusherRequestHead *head, char *host, size_t hostlen);
extern size_t request_item_size(Held *h);
extern void requests_reset(void);

/* delivery_outcomes.c: the outcome queue */
extern void outcome_deleted(const OutboxEvent *ev);
extern void outcome_add(bool dead, const OutboxEvent *ev, int status,
						const char *response, const char *reason);
extern void outcomes_drop(void);	/* forgets them unwritten */

#endif
