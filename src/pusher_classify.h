/*-------------------------------------------------------------------------
 * pusher_classify.h
 *	  Pusher HTTP API response classification and Retry-After.
 *
 * Pure C: no SQL, no curl, no ereport; failures come back as static English
 * reasons.  Links into the standalone unit tests and fuzzers (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_CLASSIFY_H
#define RTPUSH_PUSHER_CLASSIFY_H

#include "c.h"

#include <time.h>

typedef enum PusherOutcome
{
	PUSHER_DELIVERED,			/* accepted */
	PUSHER_RETRY,				/* 429, 5xx, transport failure: try again later */
	PUSHER_MISCONFIGURED,		/* 401/403/404/405/407: the settings or server, not the event */
	PUSHER_REJECTED				/* 400/413/422 and other 4xx: this event, dead letter */
} PusherOutcome;

/*
 * Classifies an HTTP answer.  http_status 0 means no answer (transport
 * failure).  A 2xx whose body is a JSON object with an "error" member
 * (soketi answers some auth failures so) is a failure with the body's
 * "code" (or 500 when absent); *status_out gets the effective status.
 * 2xx: delivered; 408, 429, 5xx, 0 and anything unexpected (1xx, 3xx):
 * retry; 401 (signature: key or secret), 403 (app disabled or over quota),
 * 404 (every request goes to /apps/<id>/...: an unknown app id, or no
 * Pusher API at that address), 405 (no Pusher API there) and 407 (a proxy
 * wants credentials): misconfigured, an answer about every request alike;
 * other 4xx (400, 413, 422: about this request's body; Reverb's 413 over
 * max_request_size and 422 validation errors, Sockudo's 400
 * limit_exceeded): rejected.  Bodies
 * over 64 kB, nested deeper than 64 levels, containing a zero byte or not a
 * JSON object are not inspected.
 */
extern PusherOutcome pusher_classify(long http_status, const char *body,
									 size_t bodylen, long *status_out);

/* a retry answer that pauses every request (429 or 503 with Retry-After) */
extern bool pusher_pauses_everyone(long status, bool has_retry_after);

/*
 * Retry-After header value -> seconds (delta-seconds or IMF-fixdate
 * HTTP-date; 0 for a date in the past; capped at 7 days); -1 if unparsable
 */
extern long pusher_retry_after(const char *value, time_t now);

#endif
