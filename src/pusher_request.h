/*-------------------------------------------------------------------------
 * pusher_request.h
 *	  One HTTP API request as bytes on the wire: its request line and
 *	  header set, its exact size, and its idempotency key.
 *
 * Pure C: no SQL, no curl, no ereport.  Links into the standalone unit
 * tests (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_REQUEST_H
#define RTPUSH_PUSHER_REQUEST_H

#include "c.h"

#include <limits.h>

#define PUSHER_USER_AGENT			"rtpush"
#define PUSHER_IDEMPOTENCY_HEADER	"X-Idempotency-Key"
#define PUSHER_IDEMPOTENCY_KEY_LEN	64	/* hex of a SHA-256 */
#define PUSHER_MAX_HEADERS			5
/* the widest auth_timestamp, for sizes computed before the request is made */
#define PUSHER_TIMESTAMP_WIDEST		LONG_MAX

/* what a request's head holds besides the body */
typedef struct PusherRequestHead
{
	const char *host;			/* Host header value: host, or host:port */
	size_t		target_len;		/* path and query of the request line */
	bool		idempotency_key;	/* an X-Idempotency-Key header is sent */
} PusherRequestHead;

/* length of "/apps/<id>/events?<signed query>" (batch: batch_events) */
extern size_t pusher_request_target_len(size_t app_id_len, bool batch, size_t keylen,
										long timestamp);

/*
 * Bytes of a POST with this head and a body of bodylen bytes: request line
 * ("POST <target> HTTP/1.1"), every header pusher_request_headers() makes,
 * the blank line and the body.
 */
extern size_t pusher_request_size(const PusherRequestHead *h, size_t bodylen);

/*
 * The header lines (no CRLF), palloc'd, into lines; returns their number.
 * key: the idempotency key (h->idempotency_key) or NULL.
 */
extern int	pusher_request_headers(const PusherRequestHead *h, size_t bodylen,
								   const char *key, char *lines[PUSHER_MAX_HEADERS]);

/*
 * The idempotency key of a request carrying these outbox ids, in order:
 * hex SHA-256 over the database system identifier, the database oid and
 * the ids (big-endian), so a retry of the same batch has the same key.
 */
extern void pusher_idempotency_key(uint64 system_id, uint32 db_oid, const int64 *ids, int n,
								   char out[PUSHER_IDEMPOTENCY_KEY_LEN + 1]);

#endif
