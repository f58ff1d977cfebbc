/*-------------------------------------------------------------------------
 * test_schedule.c
 *	  Unit tests of the delivery worker's scheduling decisions
 *	  (src/schedule.c) on a clock the test sets (src/clock.c): what to
 *	  fetch next and when a commit's fetch waits, when a failing channel
 *	  parks and when its parked events are read again, retry backoff and
 *	  the pause of an unreachable endpoint, and the choice of batch for a
 *	  single-channel event.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "clock.h"
#include "schedule.h"
#include "tap.h"

/* 2026-01-01 00:00:00 UTC as TimestampTz (microseconds since 2000-01-01) */
#define T0 ((TimestampTz) 820540800 * USECS_PER_SEC)

static void
test_fetch(void)
{
	FetchPlan	p;

	p = schedule_fetch(0, true, false);
	ok(p.kind == FETCH_ON && p.max == FETCH_PAGE, "fetch: nothing held, asked: reads on, a page");
	p = schedule_fetch(MAX_HELD - FETCH_PAGE, true, false);
	ok(p.kind == FETCH_ON, "fetch: room for exactly one page: reads on");
	p = schedule_fetch(MAX_HELD - FETCH_PAGE + 1, true, true);
	ok(p.kind == FETCH_NOTHING, "fetch: less than a page of room: nothing, not even a due rescan");
	p = schedule_fetch(10, false, false);
	ok(p.kind == FETCH_NOTHING, "fetch: no wake, poll or more rows: nothing");
	p = schedule_fetch(10, false, true);
	ok(p.kind == FETCH_FROM_START, "fetch: a due rescan alone reads from the start");
	p = schedule_fetch(10, true, true);
	ok(p.kind == FETCH_FROM_START && p.max == FETCH_PAGE, "fetch: asked and a rescan due: from the start");
}

static void
test_coalescing(void)
{
	Coalescer	c = {0, 0, 0};

	ok(schedule_coalesce_ms(&c, T0) == 0, "coalesce: before any fetch: fetch now");
	schedule_fetched(&c, T0, COALESCE_MIN_EVENTS - 1);
	ok(schedule_coalesce_ms(&c, T0 + 100) == 0, "coalesce: the last fetch found fewer than the minimum: fetch now");
	schedule_fetched(&c, T0, COALESCE_MIN_EVENTS);
	ok(schedule_coalesce_ms(&c, T0 + 100) == COALESCE_WINDOW_MS,
	   "coalesce: a stream, 0.1 ms after its fetch: waits until the window closes (rounded up to ms)");
	ok(schedule_coalesce_ms(&c, T0 + (TimestampTz) COALESCE_WINDOW_MS * 1000) == 0,
	   "coalesce: the window closed: fetch now");
	ok(schedule_coalesce_ms(&c, T0 + (TimestampTz) COALESCE_WINDOW_MS * 1000 - 1) == 1,
	   "coalesce: 1 us before the window closes: waits 1 ms at most");
	schedule_fetched(&c, T0 + 2000, 0);
	ok(schedule_coalesce_ms(&c, T0 + 2100) == 0, "coalesce: an empty fetch ends the stream: fetch now");
}

/* the window grows under a fast stream and shrinks when it slows */
static void
test_coalescing_window(void)
{
	Coalescer	c = {0, 0, 0};
	TimestampTz t = T0;
	int			i;

	schedule_fetched(&c, t, 10);
	ok(c.window_ms == COALESCE_WINDOW_MS, "window: the first fetch: the first window");
	t += 1000;
	schedule_fetched(&c, t, 10);	/* 10 per ms */
	ok(c.window_ms == 2 * COALESCE_WINDOW_MS, "window: 10 events/ms: doubled");
	ok(schedule_coalesce_ms(&c, t + 100) == 2, "window: the next commit waits until the doubled window closes");
	for (i = 0; i < 10; i++)
	{
		t += (TimestampTz) c.window_ms * 1000;
		schedule_fetched(&c, t, 5 * c.window_ms);	/* 5 per ms */
	}
	ok(c.window_ms == COALESCE_MAX_WINDOW_MS, "window: a stream at 5 events/ms: at most COALESCE_MAX_WINDOW_MS");
	t += 16000;
	schedule_fetched(&c, t, 32);	/* 2 per ms: between half the rate and the rate */
	ok(c.window_ms == COALESCE_MAX_WINDOW_MS, "window: 2 events/ms: kept");
	t += 16000;
	schedule_fetched(&c, t, 16);	/* 1 per ms */
	ok(c.window_ms == COALESCE_MAX_WINDOW_MS / 2, "window: 1 event/ms: halved");
	t += 1000;
	schedule_fetched(&c, t, COALESCE_MIN_EVENTS - 1);
	ok(c.window_ms == COALESCE_WINDOW_MS && schedule_coalesce_ms(&c, t + 100) == 0,
	   "window: a fetch with fewer than the minimum: the first window, and no wait");
	schedule_fetched(&c, t + 1000, 3);	/* 3 per ms after a quiet fetch: a stream again */
	ok(c.window_ms == 2 * COALESCE_WINDOW_MS, "window: 3 events/ms: grows again");
	c.max_window_ms = 3;		/* rtpush.coalesce_max_wait = 3ms */
	for (i = 0; i < 4; i++)
	{
		t += (TimestampTz) c.window_ms * 1000;
		schedule_fetched(&c, t, 5 * c.window_ms);
	}
	ok(c.window_ms == 3 && schedule_coalesce_ms(&c, t + 100) == 3,
	   "window: never past rtpush.coalesce_max_wait");
	c.max_window_ms = 1;
	t += 3000;
	schedule_fetched(&c, t, 15);
	ok(c.window_ms == 1, "window: rtpush.coalesce_max_wait = 1: the 1 ms window only");
}

static void
test_parking(void)
{
	ok(!schedule_must_park(false, true, PARK_AT - 1), "park: a failing channel below PARK_AT holds more");
	ok(schedule_must_park(false, true, PARK_AT), "park: a failing channel at PARK_AT parks the next event");
	ok(!schedule_must_park(false, false, PARK_AT * 10), "park: a channel that is not failing never parks for its size");
	ok(schedule_must_park(true, false, 0), "park: behind a parked channel an event parks too");

	ok(!schedule_park_tail(false, true, PARK_AT), "park tail: a failing channel with PARK_AT held keeps them");
	ok(schedule_park_tail(false, true, PARK_AT + 1), "park tail: with more than PARK_AT held its tail parks");
	ok(!schedule_park_tail(true, true, PARK_AT + 1), "park tail: not again once parked");
	ok(!schedule_park_tail(false, false, PARK_AT + 1), "park tail: not when it went through");

	ok(schedule_keep_held(PARK_AT - 1) && !schedule_keep_held(PARK_AT),
	   "park tail: keeps its first PARK_AT events held");
	ok(schedule_parked_moves(PARK_AT / 2 - 1) && !schedule_parked_moves(PARK_AT / 2),
	   "parked channel moves once fewer than PARK_AT/2 are held");
}

static void
test_rescan(void)
{
	Rescan		r = {0};

	rtpush_clock_set(T0);
	schedule_rescan_wanted(&r);
	ok(!schedule_rescan_due(&r), "rescan: wanted with nothing parked: not due");
	schedule_channel_parked(&r);
	ok(r.nparked == 1 && !r.wanted, "rescan: the first channel parked resets the wish");
	schedule_rescan_wanted(&r);
	schedule_channel_parked(&r);
	ok(r.nparked == 2 && r.wanted, "rescan: a second channel parked keeps it");
	ok(schedule_rescan_due(&r), "rescan: wanted, parked, none before: due");
	schedule_rescan_started(&r);
	ok(r.nparked == 0 && !r.wanted && r.last == T0, "rescan: started: nothing parked, not wanted");

	schedule_channel_parked(&r);
	schedule_rescan_wanted(&r);
	rtpush_clock_advance_ms(RESCAN_MS - 1);
	ok(!schedule_rescan_due(&r), "rescan: not again before RESCAN_MS");
	rtpush_clock_advance_ms(1);
	ok(schedule_rescan_due(&r), "rescan: due again RESCAN_MS after the last");
	rtpush_clock_set(0);
}

static void
test_backoff(void)
{
	Backoff		b = {100, 10000};

	rtpush_clock_set(T0);
	is_long(schedule_backoff_ms(&b, 1, 0.0, NULL), 50, "backoff: attempt 1, least jitter: half the base");
	is_long(schedule_backoff_ms(&b, 1, 0.5, NULL), 75, "backoff: attempt 1, jitter 0.5: three quarters");
	is_long(schedule_backoff_ms(&b, 4, 0.0, NULL), 400, "backoff: doubles per attempt (base * 2^3 / 2)");
	is_long(schedule_backoff_ms(&b, 8, 0.0, NULL), 5000, "backoff: capped at rtpush.retry_max (then jittered)");
	is_long(schedule_backoff_ms(&b, 1000, 0.0, NULL), 5000, "backoff: a huge attempt count stays capped");
	is_long(schedule_backoff_ms(&b, 1, 0.0, "30"), 30000, "backoff: Retry-After seconds set a floor");
	is_long(schedule_backoff_ms(&b, 8, 0.0, "1"), 5000, "backoff: a short Retry-After does not shorten it");
	is_long(schedule_backoff_ms(&b, 1, 0.0, "Thu, 01 Jan 2026 00:00:20 GMT"), 20000,
			"backoff: a Retry-After date counts from the clock");
	rtpush_clock_set(0);
}

static void
test_pause(void)
{
	Backoff		b = {1000, 60000};
	Pause		p = {0};

	rtpush_clock_set(T0);
	ok(!schedule_paused(&p), "pause: not paused at first");
	schedule_pause(&p, &b, 0.0, NULL);
	ok(p.n == 1 && p.until == T0 + 500 * 1000, "pause: the first lasts the first backoff (500 ms)");
	rtpush_clock_advance_ms(499);
	ok(schedule_paused(&p), "pause: still paused 499 ms later");
	schedule_pause(&p, &b, 0.0, NULL);
	ok(p.n == 1 && p.until == T0 + 500 * 1000, "pause: another failure while paused changes nothing");
	rtpush_clock_advance_ms(1);
	ok(!schedule_paused(&p), "pause: over when it ends");
	schedule_pause(&p, &b, 0.0, NULL);
	ok(p.n == 2 && p.until == rtpush_clock_now() + 1000 * 1000, "pause: the next, consecutive, lasts twice as long");
	for (int i = 0; i < 10; i++)
	{
		rtpush_clock_advance_ms(PAUSE_MAX_MS);
		schedule_pause(&p, &b, 0.0, NULL);
	}
	ok(p.until == rtpush_clock_now() + (TimestampTz) PAUSE_MAX_MS * 1000,
	   "pause: a down endpoint is probed every PAUSE_MAX_MS at least");
	rtpush_clock_advance_ms(PAUSE_MAX_MS);
	schedule_pause(&p, &b, 0.0, "20");
	ok(p.until == rtpush_clock_now() + 20000 * 1000, "pause: a longer Retry-After is kept to");
	schedule_resume(&p);
	ok(p.n == 0 && !schedule_paused(&p), "pause: a success resumes");
	schedule_pause(&p, &b, 0.0, NULL);
	ok(p.n == 1, "pause: after a success the backoff starts over");
	rtpush_clock_set(0);
}

static void
test_batching(void)
{
	Batcher		b;
	int			fill[2];
	int			x;

	schedule_batcher_init(&b, 2, 3, fill);
	ok(!schedule_batcher_full(&b), "batch: slots left: not full");
	x = schedule_batch_for(&b, BATCH_NONE, 0);
	ok(x == 0 && b.nopen == 1 && b.slots == 1, "batch: the first channel opens a batch");
	schedule_batch_joined(&b, x, 0);
	x = schedule_batch_for(&b, BATCH_NONE, 0);
	ok(x == 1 && b.slots == 0, "batch: another channel opens a second batch while slots remain");
	schedule_batch_joined(&b, x, 0);
	is_long(schedule_batch_for(&b, 0, 0), 0, "batch: a channel's next event joins the batch carrying it");
	schedule_batch_joined(&b, 0, 0);
	is_long(schedule_batch_for(&b, BATCH_NONE, 0), 1, "batch: no slot left: a new channel joins the least filled");
	schedule_batch_joined(&b, 1, 0);
	schedule_batch_joined(&b, 0, 0);
	ok(fill[0] == 3 && b.room == 1, "batch: a full batch has no room left");
	is_long(schedule_batch_for(&b, 0, 0), -1, "batch: a channel whose batch is full waits");
	is_long(schedule_batch_for(&b, BATCH_STARTED, 0), -1, "batch: a channel in a started request waits");
	is_long(schedule_batch_for(&b, BATCH_NONE, 0), 1, "batch: a new channel goes where there is room");
	schedule_batch_joined(&b, 1, 0);
	ok(schedule_batcher_full(&b), "batch: no slot and no room: the pass is over");
	is_long(schedule_batch_for(&b, BATCH_NONE, 0), -1, "batch: nothing joins a full pass");
	ok(!schedule_take_slot(&b), "batch: no slot for a request of its own either");

	schedule_batcher_init(&b, 1, 1, fill);
	ok(schedule_take_slot(&b) && b.slots == 0 && schedule_batcher_full(&b),
	   "batch: a lone request takes the last slot");
}

/* packing by bytes: ten 1 kB items do not fit one 10,000-byte request */
static void
test_batching_bytes(void)
{
	Batcher		b;
	int			fill[2];
	size_t		bytes[2];
	PusherRequestHead head = {"127.0.0.1:6001", 200, true};
	size_t		limit = 10000;
	int			n = 0;
	int			x;

	schedule_batcher_init(&b, 2, 10, fill);
	schedule_batcher_bytes(&b, limit, &head, bytes);
	x = schedule_batch_for(&b, BATCH_NONE, 1000);
	is_long(x, 0, "bytes: the first event opens a batch");
	while (schedule_batch_for(&b, 0, 1000) == 0)
	{
		schedule_batch_joined(&b, 0, 1000);
		n++;
		if (n > 10)
			break;
	}
	ok(n >= 1 && n < 10, "bytes: the channel's batch closes before ten 1 kB events (%d joined)", n);
	ok(pusher_request_size(&head, bytes[0]) <= limit &&
	   pusher_request_size(&head, bytes[0] + 1 + 1000) > limit,
	   "bytes: the closed batch fits the limit and one more event would not");
	is_long(fill[0], 10, "bytes: the closed batch takes no more events in the pass");
	x = schedule_batch_for(&b, BATCH_NONE, 9000);
	is_long(x, 1, "bytes: a new batch takes any first event");
	schedule_batch_joined(&b, x, 9000);
	is_long(schedule_batch_for(&b, BATCH_NONE, 2000), -1,
			"bytes: no slot left and no batch it fits in: it waits");
	is_long(schedule_batch_for(&b, 1, 200), 1, "bytes: a small event still fits the open batch");

	schedule_batcher_init(&b, 1, 10, fill);
	schedule_batcher_bytes(&b, 1000000, &head, bytes);
	x = schedule_batch_for(&b, BATCH_NONE, 50);
	for (n = 0; schedule_batch_for(&b, x, 50) == x; n++)
		schedule_batch_joined(&b, x, 50);
	is_long(n, 10, "bytes: small events still batch batch_size per request");
}

int
main(void)
{
	test_fetch();
	test_coalescing();
	test_coalescing_window();
	test_parking();
	test_rescan();
	test_backoff();
	test_pause();
	test_batching();
	test_batching_bytes();
	return tap_done();
}
