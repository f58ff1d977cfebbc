/*-------------------------------------------------------------------------
 * pusher.h
 *	  The Pusher Channels protocol in pure C: limits and validation of
 *	  channel, event and socket names, request signing, request bodies,
 *	  response classification, subscription auth signatures, webhook
 *	  verification, channel name patterns and channel templates.
 *
 * No SQL, no curl, no ereport: functions return results and, on failure, a
 * static English reason that callers turn into errors.  Only c.h,
 * lib/stringinfo.h, common/jsonapi.h and OpenSSL are used, so this module
 * links into the standalone unit tests and fuzzers (test/unit) as is.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_H
#define RTPUSH_PUSHER_H

#include "c.h"
#include "lib/stringinfo.h"

#define PUSHER_MAX_CHANNEL_LEN	164
#define PUSHER_MAX_EVENT_LEN	200
#define PUSHER_MAX_CHANNELS		100
#define PUSHER_MAX_BATCH		10
#define PUSHER_MAX_USER_ID_LEN	128
#define PUSHER_MAX_USER_INFO	1024

/*
 * ---- validation: true if valid; otherwise *why is a static reason ----
 * channel: 1..164 bytes of A-Z a-z 0-9 _ - = @ , . ; and no leading '#'.
 * event: 1..200 bytes, no zero byte, not starting with the protocol's
 *   reserved "pusher:" or "pusher_internal:".
 * socket_id: digits '.' digits (^\d+\.\d+$).
 */
extern bool pusher_valid_channel(const char *name, size_t len, const char **why);
extern bool pusher_valid_event(const char *name, size_t len, const char **why);
extern bool pusher_valid_socket_id(const char *sid, size_t len, const char **why);
/* channel kinds */
extern bool pusher_channel_is_private(const char *name);	/* private-, incl. encrypted */
extern bool pusher_channel_is_presence(const char *name);
extern bool pusher_channel_is_encrypted(const char *name);	/* private-encrypted- */

/* ---- primitives (OpenSSL) ---- */
extern void pusher_md5_hex(const char *data, size_t len, char out[33]);
extern void pusher_hmac_sha256_hex(const char *key, size_t keylen,
								   const char *msg, size_t msglen, char out[65]);
/*
 * constant-time comparison of two strings of possibly different length; the
 * time depends only on alen, so pass the expected value as 'a' and the
 * untrusted one as 'b'.
 */
extern bool pusher_secure_equal(const char *a, size_t alen, const char *b, size_t blen);

/*
 * HTTP API signing.  Appends to 'query' the full query string (no leading
 * '?') for a POST of 'body' to 'path' (e.g. "/apps/1/events"):
 * auth_key, auth_signature, auth_timestamp, auth_version=1.0, body_md5,
 * keys sorted, with the signature computed over
 * "POST\n<path>\n<sorted params without auth_signature>".
 */
extern void pusher_sign_request(StringInfo query, const char *method,
								const char *path, const char *key,
								const char *secret, long timestamp,
								const char *body, size_t bodylen);

/* ---- request bodies ---- */
typedef struct PusherEvent
{
	const char *name;			/* event name */
	const char *const *channels;	/* 1..100 channel names */
	int			nchannels;
	const char *data;			/* JSON text, sent as a JSON string */
	size_t		datalen;
	const char *socket_id;		/* NULL or excluded socket */
} PusherEvent;

/* body for POST /apps/{id}/events: {"name","channels":[..],"data","socket_id"} */
extern void pusher_events_body(StringInfo buf, const PusherEvent *ev);

/*
 * body for POST /apps/{id}/batch_events: {"batch":[{"name","channel","data",
 * "socket_id"}...]}.  Every event must have exactly one channel; n <= 10.
 */
extern void pusher_batch_body(StringInfo buf, const PusherEvent *evs, int n);

/* appends s (len bytes, UTF-8) as a JSON string literal with quotes */
extern void pusher_json_string(StringInfo buf, const char *s, size_t len);

/* ---- responses ---- */
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
 * other 4xx (400, 413, 422: about this request's body): rejected.  Bodies over 64 kB, nested deeper than 64
 * levels, containing a zero byte or not a JSON object are not inspected.
 */
extern PusherOutcome pusher_classify(long http_status, const char *body,
									 size_t bodylen, long *status_out);

/*
 * Retry-After header value -> seconds (delta-seconds or IMF-fixdate
 * HTTP-date; 0 for a date in the past; capped at 7 days); -1 if unparsable
 */
extern long pusher_retry_after(const char *value, time_t now);

/* ---- subscription auth ---- */

/* "key:hex(HMAC(secret, socket_id:channel[:channel_data]))"; channel_data may be NULL */
extern void pusher_channel_auth(StringInfo out, const char *key, const char *secret,
								const char *socket_id, const char *channel,
								const char *channel_data);

/* "key:hex(HMAC(secret, socket_id::user::user_data))" */
extern void pusher_user_auth(StringInfo out, const char *key, const char *secret,
							 const char *socket_id, const char *user_data);

/* webhook: X-Pusher-Signature == hex(HMAC(secret, body)), constant time */
extern bool pusher_webhook_valid(const char *secret, const char *signature,
								 const char *body, size_t bodylen);

/*
 * Channel name pattern matching for the authorization rules.  A pattern such
 * as "private-user.{user_id}.*" must match the whole name; each {name}
 * captures one non-empty segment without '.', and a trailing ".*" matches one
 * or more further segments.  On a match, calls 'capture' for each placeholder
 * in order and returns true.  Returns false (no calls) otherwise, also for
 * an invalid pattern or channel name.
 * pusher_valid_pattern() checks a pattern's syntax: literal channel-name
 * characters, placeholders {name} (name [A-Za-z_][A-Za-z0-9_]*, at most 16,
 * each used once, each followed by '.' or the end), and '*' only as a
 * final ".*".
 */
typedef void (*pusher_capture_cb) (void *arg, const char *name, size_t namelen,
								   const char *value, size_t valuelen);
extern bool pusher_valid_pattern(const char *pattern, const char **why);
extern bool pusher_match_pattern(const char *pattern, const char *channel,
								 pusher_capture_cb capture, void *arg);

/*
 * Channel templates (the trigger arguments of rtpush.broadcast): a channel
 * name in which each "{name}" is a placeholder.  pusher_parse_template()
 * scans 'tmpl' from left to right and calls cb (if not NULL) for each
 * maximal literal run (placeholder false) and each placeholder name
 * (placeholder true, without the braces), in order; s points into tmpl and
 * is not NUL-terminated; len > 0.  Literals contain no brace; names are
 * non-empty and contain no brace.
 *
 * Returns false with *why a static English sentence for: a "}" without an
 * earlier "{", a "{" without a later "}", a "{" inside a placeholder, an
 * empty "{}", and a template whose literal parts, with each placeholder
 * replaced by "0", do not make a valid channel ("The channel it makes
 * <pusher_valid_channel's reason>.").  The callbacks run as the scan goes:
 * when it fails, cb has already been called for the parts before the fault
 * (for every part when the made channel is invalid), so a caller that looks
 * up names in cb reports an unknown name before a later syntax fault.  Pass
 * cb = NULL to validate only.
 */
typedef void (*pusher_template_cb) (void *arg, bool placeholder,
									const char *s, size_t len);
extern bool pusher_parse_template(const char *tmpl, pusher_template_cb cb,
								  void *arg, const char **why);

#endif
