/*-------------------------------------------------------------------------
 * pusher_request.c
 *	  One HTTP API request as bytes on the wire: the request line and the
 *	  header set the transport sends (nothing else: http.c removes
 *	  libcurl's own), the exact size they make with a body, and the
 *	  request's idempotency key.  The batcher packs requests by these sizes
 *	  (rtpush.max_request_bytes) and capture refuses events whose request
 *	  could never fit.
 *
 * Pure C, no SQL, curl or ereport.  Builds in the backend and, with
 * -DFRONTEND, in test/unit.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "pusher_request.h"
#include "pusher_sign.h"

#define REQUEST_LINE_FIXED	(sizeof("POST  HTTP/1.1\r\n") - 1)
#define CRLF				2

size_t
pusher_request_target_len(size_t app_id_len, bool batch, size_t keylen, long timestamp)
{
	return strlen("/apps//?") + app_id_len + strlen(batch ? "batch_events" : "events") +
		pusher_signed_query_len(keylen, timestamp);
}

size_t
pusher_request_size(const PusherRequestHead *h, size_t bodylen)
{
	size_t		size = REQUEST_LINE_FIXED + h->target_len;

	size += strlen("Host: ") + strlen(h->host) + CRLF;
	size += strlen("User-Agent: " PUSHER_USER_AGENT) + CRLF;
	size += strlen("Content-Type: application/json") + CRLF;
	size += strlen("Content-Length: ") + pusher_decimal_len((long) bodylen) + CRLF;
	if (h->idempotency_key)
		size += strlen(PUSHER_IDEMPOTENCY_HEADER ": ") + PUSHER_IDEMPOTENCY_KEY_LEN + CRLF;
	return size + CRLF + bodylen;
}

int
pusher_request_headers(const PusherRequestHead *h, size_t bodylen, const char *key,
					   char *lines[PUSHER_MAX_HEADERS])
{
	int			n = 0;

	lines[n++] = psprintf("Host: %s", h->host);
	lines[n++] = pstrdup("User-Agent: " PUSHER_USER_AGENT);
	lines[n++] = pstrdup("Content-Type: application/json");
	lines[n++] = psprintf("Content-Length: %zu", bodylen);
	if (h->idempotency_key && key != NULL)
		lines[n++] = psprintf(PUSHER_IDEMPOTENCY_HEADER ": %s", key);
	return n;
}

static void
put_be(unsigned char *p, uint64 v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
	{
		p[i] = (unsigned char) (v & 0xff);
		v >>= 8;
	}
}

void
pusher_idempotency_key(uint64 system_id, uint32 db_oid, const int64 *ids, int n,
					   char out[PUSHER_IDEMPOTENCY_KEY_LEN + 1])
{
	size_t		len = 12 + 8 * (size_t) n;
	unsigned char *buf = palloc(len);

	put_be(buf, system_id, 8);
	put_be(buf + 8, db_oid, 4);
	for (int i = 0; i < n; i++)
		put_be(buf + 12 + 8 * i, (uint64) ids[i], 8);
	pusher_sha256_hex(buf, len, out);
	pfree(buf);
}
