/*-------------------------------------------------------------------------
 * pusher_sign.h
 *	  Pusher's signatures: MD5/HMAC-SHA256 hex digests, constant-time
 *	  comparison, HTTP API request signing, subscription and user auth
 *	  signatures, webhook verification.
 *
 * Pure C: no SQL, no curl, no ereport; failures come back as static English
 * reasons.  Links into the standalone unit tests and fuzzers (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_SIGN_H
#define RTPUSH_PUSHER_SIGN_H

#include "c.h"
#include "lib/stringinfo.h"

#define PUSHER_MAX_USER_ID_LEN	128	/* user auth: the user_data's "id" */
#define PUSHER_MAX_USER_INFO	1024	/* user auth: the user_data's "user_info" */

/* ---- primitives (OpenSSL) ---- */
extern void pusher_md5_hex(const char *data, size_t len, char out[33]);
extern void pusher_sha256_hex(const unsigned char *data, size_t len, char out[65]);
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

/* the length of the query pusher_sign_request() appends for a body */
extern size_t pusher_signed_query_len(size_t keylen, long timestamp);
/* the length of v in decimal */
extern size_t pusher_decimal_len(long v);

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

#endif
