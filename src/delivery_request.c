/*-------------------------------------------------------------------------
 * delivery_request.c
 *	  Requests: building, signing and posting them, and what their answers
 *	  do to their events (delivered, retried with backoff, split,
 *	  dead-lettered, put back) and to the endpoint's pause.
 *
 * An unreachable endpoint, or a 429 or 503 with Retry-After, pauses every new
 * request (with backoff) rather than spending the retries of every held
 * event; any success resumes.  The backoff and the pause are schedule.c's
 * decisions.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/xlog.h"
#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "app.h"
#include "clock.h"
#include "delivery_health.h"
#include "delivery_int.h"
#include "payload.h"
#include "schedule.h"
#include "settings.h"
#include "status.h"

typedef struct RequestState
{
	int			inflight;		/* requests started, not yet answered */
	Pause		pause;			/* endpoint down or rate-limiting us */
	uint64		size_gen;		/* bumped by a reload: held item sizes are stale */
	uint64		resend_gen;		/* the last resend group given out */
} RequestState;

static RequestState requests = {.size_gen = 1};

static void request_done(void *arg, const HttpResult *r);
static void too_large(Request *req, size_t size);

bool
request_configured(void)
{
	return rtpush_app_configured(rtpush_app_cached());
}

int
requests_in_flight(void)
{
	return requests.inflight;
}

TimestampTz
requests_paused_until(void)
{
	return requests.pause.until;
}

/* Every request was abandoned: none in flight, no pause. */
void
requests_reset(void)
{
	requests.inflight = 0;
	schedule_resume(&requests.pause);
}

Request *
request_new(bool alone)
{
	Request    *req = MemoryContextAllocZero(TopMemoryContext, sizeof(Request));

	req->alone = alone;
	req->open_index = -1;
	return req;
}

void
requests_settings_changed(void)
{
	requests.size_gen++;
}

/* ---- sizes ---- */

/* the head of a request to /events or /batch_events signed at 'timestamp' */
static void
request_head(PusherRequestHead *head, bool batch, long timestamp, char *host, size_t hostlen)
{
	const RtpushApp *app = rtpush_app_cached();

	rtpush_app_host_header(app, host, hostlen);
	head->host = host;
	head->target_len = pusher_request_target_len(strlen(app->app_id), batch,
												 strlen(app->key), timestamp);
	head->idempotency_key = rtpush_idempotency_key;
}

/* The head of a batch_events request sent now, for the batcher. */
void
request_batch_head(PusherRequestHead *head, char *host, size_t hostlen)
{
	request_head(head, true, (long) time(NULL), host, hostlen);
}

/* The bytes h adds to a batch_events body (without the comma before it). */
size_t
request_item_size(Held *h)
{
	OutboxEvent *ev = h->ev;

	if (h->item_size == 0 || h->size_gen != requests.size_gen)
	{
		const char *plain;
		size_t		plainlen;
		size_t		data;

		outbox_event_plain(ev, &plain, &plainlen);
		data = payload_string_size(ev->channels, ev->nchannels, plain, plainlen);

		h->item_size = pusher_batch_item_size(ev->event, ev->channels[0], ev->socket_id, data);
		h->size_gen = requests.size_gen;
	}
	return h->item_size;
}

/* ---- building and posting ---- */

/* Builds the request body; false with *why if an event cannot be sent. */
static bool
build_body(StringInfo body, Request *req, const char **why)
{
	PusherEvent evs[PUSHER_MAX_BATCH];

	for (int i = 0; i < req->n; i++)
	{
		OutboxEvent *ev = req->items[i]->ev;
		const char *plain;
		size_t		plainlen;

		evs[i].name = ev->event;
		evs[i].channels = (const char *const *) ev->channels;
		evs[i].nchannels = ev->nchannels;
		evs[i].socket_id = ev->socket_id;
		outbox_event_plain(ev, &plain, &plainlen);
		if (!payload_for_channels(ev->channels, ev->nchannels, plain, plainlen,
								  &evs[i].data, &evs[i].datalen, why))
			return false;
	}
	if (req->alone)
		pusher_events_body(body, &evs[0]);
	else
		pusher_batch_body(body, evs, req->n);
	return true;
}

/* The request's header lines, with its idempotency key when on. */
static int
request_headers(Request *req, const PusherRequestHead *head, size_t bodylen,
				char *lines[PUSHER_MAX_HEADERS])
{
	int64		ids[PUSHER_MAX_BATCH];
	char		key[PUSHER_IDEMPOTENCY_KEY_LEN + 1];

	for (int i = 0; i < req->n; i++)
		ids[i] = req->items[i]->ev->id;
	pusher_idempotency_key(GetSystemIdentifier(), MyDatabaseId, ids, req->n, key);
	return pusher_request_headers(head, bodylen, key, lines);
}

static void
post(Request *req, StringInfo body, const char *path, long timestamp, const PusherRequestHead *head)
{
	StringInfoData url;
	HttpOptions opts;
	char	   *lines[PUSHER_MAX_HEADERS];
	int			nlines;
	const RtpushApp *app = rtpush_app_cached();

	initStringInfo(&url);
	appendStringInfo(&url, "%s://%s:%d%s?", app->scheme, rtpush_app_host(app),
					 rtpush_app_port(app), path);
	pusher_sign_request(&url, "POST", path, app->key, app->secret,
						timestamp, body->data, body->len);
	nlines = request_headers(req, head, body->len, lines);

	opts.connect_timeout_ms = rtpush_connect_timeout;
	opts.timeout_ms = rtpush_request_timeout;
	opts.ca_file = rtpush_ca_file;
	opts.max_connections = rtpush_max_in_flight;
	http_post(url.data, body->data, body->len, (const char *const *) lines, nlines,
			  &opts, request_done, req);
	rtpush_status_count(COUNT_REQUESTS);
	for (int i = 0; i < nlines; i++)
		pfree(lines[i]);
	pfree(url.data);
}

void
request_start(Request *req)
{
	StringInfoData body;
	char		path[128];
	char		host[300];
	PusherRequestHead head;
	long		timestamp = (long) time(NULL);
	const char *why = NULL;
	size_t		size;

	requests.inflight++;
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
	snprintf(path, sizeof(path), "/apps/%s/%s", rtpush_app_cached()->app_id,
			 req->alone ? "events" : "batch_events");
	request_head(&head, !req->alone, timestamp, host, sizeof(host));
	size = pusher_request_size(&head, body.len);
	if (size > (size_t) rtpush_max_request_bytes)
		too_large(req, size);
	else
		post(req, &body, path, timestamp, &head);
	pfree(body.data);
}

/* ---- answers ---- */

static Backoff
backoff_settings(void)
{
	Backoff		b = {rtpush_retry_base, rtpush_retry_max};

	return b;
}

static void
delivered(Request *req, TimestampTz now)
{
	double		lat[PUSHER_MAX_BATCH];

	for (int i = 0; i < req->n; i++)
	{
		Held	   *h = req->items[i];

		lat[i] = (double) (now - h->ev->queued_at);
		outcome_deleted(h->ev);
		held_set_failing(h, false);
		held_forget(h);
	}
	rtpush_status_delivered(req->n, lat);
}

static void
dead(Held *h, int status, const char *response, const char *reason)
{
	outcome_add(true, h->ev, status, response, reason);
	rtpush_status_count(COUNT_DEAD);
	held_forget(h);
}

/* Gives up on h, dead-lettered; true if it was (too old, or out of attempts). */
static bool
give_up(Held *h, const HttpResult *r, const char *why, TimestampTz now)
{
	OutboxEvent *ev = h->ev;
	bool		too_old = (now - ev->queued_at) / USECS_PER_SEC >= rtpush_max_age;
	char		reason[512];

	if (ev->attempts < rtpush_max_attempts && !too_old)
		return false;
	snprintf(reason, sizeof(reason), "%s after %d attempts: %s",
			 too_old ? "expired" : "gave up", ev->attempts, why);
	dead(h, (int) r->status, r->body, reason);
	return true;
}

/*
 * The events of a failed request are retried together, as the same
 * request: one backoff for all (from the most attempts among them, one
 * jitter), and a resend group that the dispatch pass sends as it was, so
 * that the retry carries the same idempotency key as the first try and a
 * server that applied the first try (or is still applying it) applies it
 * once.
 */
static void
retry_later(Request *req, const HttpResult *r, const char *why, TimestampTz now)
{
	ChannelState *failed[PUSHER_MAX_CHANNELS];
	Held	   *kept[PUSHER_MAX_BATCH];
	int			nfailed = 0;
	int			nkept = 0;
	int			attempts = 0;
	Backoff		b = backoff_settings();
	TimestampTz not_before;

	/* the channels it failed on (a multi-channel event goes alone) */
	for (int i = 0; i < req->n; i++)
		for (int j = 0; j < req->items[i]->ev->nchannels && nfailed < PUSHER_MAX_CHANNELS; j++)
			failed[nfailed++] = req->items[i]->cs[j];
	for (int i = 0; i < req->n; i++)
	{
		Held	   *h = req->items[i];

		if (!r->unreachable)
			h->ev->attempts++;	/* nothing reached the endpoint: not an attempt */
		h->req = NULL;
		/* the endpoint refused it (not down, not rate-limiting everyone) */
		if (!r->unreachable && !pusher_pauses_everyone(r->status, r->retry_after != NULL))
			held_set_failing(h, true);
		if (give_up(h, r, why, now))
			continue;
		attempts = Max(attempts, h->ev->attempts);
		kept[nkept++] = h;
	}
	not_before = TimestampTzPlusMilliseconds(now, schedule_backoff_ms(&b, attempts,
																	  pg_prng_double(&pg_global_prng_state),
																	  r->retry_after));
	requests.resend_gen++;
	for (int i = 0; i < nkept; i++)
	{
		kept[i]->ev->not_before = not_before;
		kept[i]->resend = requests.resend_gen;
		kept[i]->resend_n = nkept;
		outcome_add(false, kept[i]->ev, (int) r->status, NULL, why);
		rtpush_status_count(COUNT_RETRIED);
	}
	held_park_failed(failed, nfailed);
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
			req->items[i]->resend = 0;
			req->items[i]->req = NULL;
		}
		return;
	}
	req->items[0]->ev->attempts++;
	dead(req->items[0], (int) status, r->body, why);
}

/*
 * The request would be over rtpush.max_request_bytes (lowered while the
 * events were held, or wider than the batcher counted): a batch is split,
 * an event alone that cannot fit goes to the dead letter.  Nothing was sent.
 */
static void
too_large(Request *req, size_t size)
{
	char		why[320];
	HttpResult	r = {0};

	requests.inflight--;
	dispatch_wake();
	for (int i = 0; i < req->n; i++)
		held_release_channels(req->items[i], req);
	snprintf(why, sizeof(why),
			 "the request would be %zu bytes, over rtpush.max_request_bytes (%d); raise it to send this event",
			 size, rtpush_max_request_bytes);
	rejected(req, &r, 0, why);
	pfree(req);
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

/* Unreachable, or a 429 or 503 with Retry-After: pause; a success resumes. */
static void
pause_or_resume(PusherOutcome outcome, const HttpResult *r)
{
	Backoff		b = backoff_settings();

	if (outcome == PUSHER_DELIVERED)
	{
		schedule_resume(&requests.pause);
		return;
	}
	if (outcome != PUSHER_RETRY ||
		!(r->unreachable || pusher_pauses_everyone(r->status, r->retry_after != NULL)))
		return;
	schedule_pause(&requests.pause, &b, pg_prng_double(&pg_global_prng_state), r->retry_after);
}

static void
request_done(void *arg, const HttpResult *r)
{
	Request    *req = (Request *) arg;
	TimestampTz now = rtpush_clock_now();
	long		status;
	char		why[320];
	PusherOutcome outcome;

	requests.inflight--;
	dispatch_wake();
	for (int i = 0; i < req->n; i++)
		held_release_channels(req->items[i], req);
	outcome = pusher_classify(r->status, r->body, r->bodylen, &status);
	if (outcome != PUSHER_DELIVERED)
	{
		describe(why, sizeof(why), r, status);
		rtpush_status_error(why);
		rtpush_status_count(COUNT_FAILED);
	}
	pause_or_resume(outcome, r);
	if (outcome == PUSHER_DELIVERED)
		health_delivered();
	else if ((outcome == PUSHER_RETRY || outcome == PUSHER_MISCONFIGURED) && !req->unsendable)
		health_failed(outcome, status, r->unreachable, why, delivery_held());
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
