/*-------------------------------------------------------------------------
 * pusher_sign.c
 *	  Pusher's signatures: the digest primitives (MD5, HMAC-SHA256 over
 *	  OpenSSL, constant-time comparison), HTTP API request signing,
 *	  subscription and user auth signatures and webhook verification.
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

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "pusher_sign.h"

static void
hex_encode_lower(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void
pusher_md5_hex(const char *data, size_t len, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16)
	{
		/* cannot happen with a working libcrypto; never a valid digest */
		memset(out, '0', 32);
		out[32] = '\0';
		return;
	}
	hex_encode_lower(md, 16, out);
}

void
pusher_sha256_hex(const unsigned char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const unsigned char empty = 0;

	if (EVP_Digest(len ? data : &empty, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
	{
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	hex_encode_lower(md, 32, out);
}

void
pusher_hmac_sha256_hex(const char *key, size_t keylen,
					   const char *msg, size_t msglen, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const unsigned char empty = 0;

	if (HMAC(EVP_sha256(), keylen ? key : (const char *) &empty, (int) keylen,
			 msglen ? (const unsigned char *) msg : &empty, msglen,
			 md, &mdlen) == NULL || mdlen != 32)
	{
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	hex_encode_lower(md, 32, out);
}

/*
 * Constant time in the contents; the time depends only on alen, so callers
 * pass the expected value (whose length is public) as 'a' and the
 * untrusted value as 'b'.
 */
bool
pusher_secure_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	int			same_len = (alen == blen);
	const char *other = same_len ? b : a;
	int			diff;

	if (a == NULL || b == NULL)
		return false;
	if (alen == 0)
		return blen == 0;
	diff = CRYPTO_memcmp(a, other, alen);
	return (same_len & (diff == 0)) != 0;
}

/* ----------------------------------------------------------------
 * signing
 * ----------------------------------------------------------------
 */

void
pusher_sign_request(StringInfo query, const char *method,
					const char *path, const char *key,
					const char *secret, long timestamp,
					const char *body, size_t bodylen)
{
	StringInfoData params;
	StringInfoData to_sign;
	char		md5[33];
	char		sig[65];

	/* sorted: auth_key, auth_timestamp, auth_version, body_md5 */
	initStringInfo(&params);
	appendStringInfo(&params, "auth_key=%s&auth_timestamp=%ld&auth_version=1.0",
					 key, timestamp);
	if (body != NULL)
	{
		pusher_md5_hex(body, bodylen, md5);
		appendStringInfo(&params, "&body_md5=%s", md5);
	}

	initStringInfo(&to_sign);
	appendStringInfo(&to_sign, "%s\n%s\n%s", method, path, params.data);
	pusher_hmac_sha256_hex(secret, strlen(secret), to_sign.data, to_sign.len, sig);

	/* auth_signature sorts between auth_key and auth_timestamp */
	appendStringInfo(query, "auth_key=%s&auth_signature=%s&auth_timestamp=%ld&auth_version=1.0",
					 key, sig, timestamp);
	if (body != NULL)
		appendStringInfo(query, "&body_md5=%s", md5);

	pfree(params.data);
	pfree(to_sign.data);
}

size_t
pusher_decimal_len(long v)
{
	char		buf[32];

	return (size_t) snprintf(buf, sizeof(buf), "%ld", v);
}

/* the length of what pusher_sign_request() appends for a body */
size_t
pusher_signed_query_len(size_t keylen, long timestamp)
{
	return strlen("auth_key=&auth_signature=&auth_timestamp=&auth_version=1.0&body_md5=") +
		keylen + 64 + pusher_decimal_len(timestamp) + 32;
}

static void
append_signed(StringInfo out, const char *key, const char *secret,
			  const char *to_sign, size_t len)
{
	char		sig[65];

	pusher_hmac_sha256_hex(secret, strlen(secret), to_sign, len, sig);
	appendStringInfo(out, "%s:%s", key, sig);
}

void
pusher_channel_auth(StringInfo out, const char *key, const char *secret,
					const char *socket_id, const char *channel,
					const char *channel_data)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%s:%s", socket_id, channel);
	if (channel_data != NULL)
	{
		appendStringInfoChar(&s, ':');
		appendStringInfoString(&s, channel_data);
	}
	append_signed(out, key, secret, s.data, s.len);
	pfree(s.data);
}

void
pusher_user_auth(StringInfo out, const char *key, const char *secret,
				 const char *socket_id, const char *user_data)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%s::user::", socket_id);
	appendStringInfoString(&s, user_data);
	append_signed(out, key, secret, s.data, s.len);
	pfree(s.data);
}

bool
pusher_webhook_valid(const char *secret, const char *signature,
					 const char *body, size_t bodylen)
{
	char		expected[65];

	if (secret == NULL || secret[0] == '\0' || signature == NULL || body == NULL)
		return false;
	pusher_hmac_sha256_hex(secret, strlen(secret), body, bodylen, expected);
	return pusher_secure_equal(expected, 64, signature, strlen(signature));
}

