/*-------------------------------------------------------------------------
 * schedule.h
 *	  The delivery worker's scheduling decisions, pure C (no memory
 *	  contexts, no SPI, no hash tables), with their limits: what to fetch
 *	  next and when a commit's fetch waits for more, when a failing
 *	  channel parks and when parked events are read again, retry backoff
 *	  and the pause of an unreachable endpoint, and which batch a
 *	  single-channel event joins.  Time comes from clock.h.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_SCHEDULE_H
#define RTPUSH_SCHEDULE_H

#include "datatype/timestamp.h"

#include "pusher_request.h"

/* ---- fetching: at most MAX_HELD events held, read FETCH_PAGE at a time ---- */
#define FETCH_PAGE 1000
#define MAX_HELD 10000

typedef enum FetchKind
{
	FETCH_NOTHING,				/* no room, or no reason to read */
	FETCH_ON,					/* read on from where the last fetch stopped */
	FETCH_FROM_START			/* read the outbox again from its start (a rescan) */
} FetchKind;

typedef struct FetchPlan
{
	FetchKind	kind;
	int			max;			/* events to fetch at most */
} FetchPlan;

/* held: events held; asked: a wake, a poll or more rows; rescan_due: see below */
extern FetchPlan schedule_fetch(int held, bool asked, bool rescan_due);

/*
 * ---- coalescing: under a stream, a commit's fetch waits a little ----
 * A fetch that found COALESCE_MIN_EVENTS or more shows commits arriving
 * faster than the worker turns round; the next fetch a commit asks for then
 * waits until the window after that one started has passed, and reads what
 * arrived meanwhile in one transaction (a group commit of the worker's
 * reads).  The window starts at COALESCE_WINDOW_MS; while fetches find
 * events at COALESCE_FAST_PER_MS or more per ms since the fetch before (a
 * stream of 3,000 events/s and up), each doubles it, up to max_window_ms
 * (rtpush.coalesce_max_wait, default COALESCE_MAX_WINDOW_MS), so that a
 * fetch, its requests and its commit
 * carry tens of events instead of a few; below half that rate it halves
 * again.  A fetch that found fewer than the minimum ends it all: light
 * traffic (1,000 events/s and less) waits for nothing, or 1 ms.  Polls,
 * rescans and reading on in a window are never delayed.
 */
#define COALESCE_MIN_EVENTS 3
#define COALESCE_WINDOW_MS 1
#define COALESCE_MAX_WINDOW_MS 16
#define COALESCE_FAST_PER_MS 3

typedef struct Coalescer
{
	TimestampTz last_fetch;		/* the last fetch started; 0: none yet */
	int			last_found;		/* events it found */
	int			window_ms;		/* the window now; 0: COALESCE_WINDOW_MS */
	int			max_window_ms;	/* its largest; 0: COALESCE_MAX_WINDOW_MS */
} Coalescer;

extern void schedule_fetched(Coalescer *c, TimestampTz started, int found);
/* ms a commit's fetch waits from now (rounded up); 0: fetch now */
extern long schedule_coalesce_ms(const Coalescer *c, TimestampTz now);

/* ---- parking: a failing channel keeps at most PARK_AT events held ---- */
#define PARK_AT 100
#define RESCAN_MS 1000			/* between two rescans at least */

/* the rescan that reads parked channels' events again */
typedef struct Rescan
{
	int			nparked;		/* channels parked */
	bool		wanted;			/* a parked channel moves */
	TimestampTz last;			/* the last rescan started */
} Rescan;

/* must an event on a channel in this state wait in the outbox? */
extern bool schedule_must_park(bool parked, bool failing, int held_on_it);
/* a channel that just failed with held_on_it events: park its tail? */
extern bool schedule_park_tail(bool parked, bool failing, int held_on_it);
/* may a channel parking its tail keep one more event held? */
extern bool schedule_keep_held(int kept);
/* a parked channel now holds this many: does it move (read its parked ones)? */
extern bool schedule_parked_moves(int held_on_it);

extern void schedule_channel_parked(Rescan *r);
extern void schedule_rescan_wanted(Rescan *r);
extern bool schedule_rescan_due(const Rescan *r);
extern void schedule_rescan_started(Rescan *r);

/* ---- retries: exponential backoff with jitter; pauses of the endpoint ---- */
#define PAUSE_MAX_MS 5000		/* a down endpoint is probed this often at least */

typedef struct Backoff
{
	int			base_ms;		/* rtpush.retry_base */
	int			max_ms;			/* rtpush.retry_max */
} Backoff;

/*
 * ms before attempt attempts+1; jitter in [0, 1) scales it to [1/2, 1); a
 * Retry-After header (or NULL) sets a floor
 */
extern long schedule_backoff_ms(const Backoff *b, int attempts, double jitter,
								const char *retry_after);

/* no new requests until 'until' (endpoint down or rate-limiting) */
typedef struct Pause
{
	TimestampTz until;			/* 0: not paused */
	int			n;				/* consecutive pauses */
} Pause;

/* a request found the endpoint down or rate-limiting everyone */
extern void schedule_pause(Pause *p, const Backoff *b, double jitter, const char *retry_after);
/* a request went through */
extern void schedule_resume(Pause *p);
extern bool schedule_paused(const Pause *p);

/* ---- batching: single-channel events into at most batch_size per request ---- */
#define BATCH_NONE (-1)			/* no batch carries the channel */
#define BATCH_STARTED (-2)		/* a started request carries the channel */

typedef struct Batcher
{
	int			batch_size;		/* events per request at most */
	int			slots;			/* requests that may still start */
	int			nopen;			/* batches being filled */
	int		   *fill;			/* events in each; room for slots entries */
	int			room;			/* open batches not yet full */
	/* packing by bytes (bytes NULL: by count only) */
	size_t	   *bytes;			/* body bytes of each open batch */
	size_t		max_bytes;		/* rtpush.max_request_bytes */
	PusherRequestHead head;		/* a batch_events request's head */
} Batcher;

extern void schedule_batcher_init(Batcher *b, int slots, int batch_size, int *fill);
/* packs by bytes too: no batch of several events over max_bytes on the wire */
extern void schedule_batcher_bytes(Batcher *b, size_t max_bytes, const PusherRequestHead *head,
								   size_t *bytes);
/*
 * The open batch an event whose batch item is 'item' bytes joins: the one
 * carrying its channel (busy, or BATCH_NONE / BATCH_STARTED) while it has
 * room (a batch its channel's next event does not fit in closes), else a new
 * one while slots remain (its index is nopen - 1 after), else the least
 * filled one it fits in; -1: none.  A new batch takes any first event.
 */
extern int	schedule_batch_for(Batcher *b, int busy, size_t item);
extern void schedule_batch_joined(Batcher *b, int batch, size_t item);
/* a request of its own may start: takes its slot */
extern bool schedule_take_slot(Batcher *b);
/* nothing more can start or be filled in this pass */
extern bool schedule_batcher_full(const Batcher *b);

#endif
