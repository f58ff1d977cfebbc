/*-------------------------------------------------------------------------
 * crypto.c
 *	  Pusher end-to-end encrypted channels: master key decoding, per-channel
 *	  shared secrets (SHA-256, OpenSSL) and NaCl secretbox payloads
 *	  (XSalsa20-Poly1305, libsodium) in Pusher's JSON envelope.
 *
 * Pure C; builds in the backend (postgres.h) and, with -DFRONTEND, in the
 * standalone unit tests and fuzzers (postgres_fe.h).  Reasons are static
 * strings and never contain key material.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto.h"
#include "json_walk.h"

StaticAssertDecl(PUSHER_SHARED_SECRET_BYTES == crypto_secretbox_KEYBYTES,
				 "shared secret size must be secretbox's key size");
StaticAssertDecl(PUSHER_NONCE_BYTES == crypto_secretbox_NONCEBYTES,
				 "nonce size must be secretbox's nonce size");
StaticAssertDecl(PUSHER_MAC_BYTES == crypto_secretbox_MACBYTES,
				 "MAC size must be secretbox's MAC size");

/* decodes standard base64, padded or not; false if it is not valid base64 */
static bool
base64_decode(const char *b64, size_t len, unsigned char *bin, size_t binmax,
			  size_t *binlen)
{
	const char *end = NULL;

	if (sodium_base642bin(bin, binmax, b64, len, NULL, binlen, &end,
						  sodium_base64_VARIANT_ORIGINAL) == 0 &&
		end == b64 + len)
		return true;
	if (sodium_base642bin(bin, binmax, b64, len, NULL, binlen, &end,
						  sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
		end == b64 + len)
		return true;
	return false;
}

bool
pusher_master_key_decode(const char *b64,
						 unsigned char key[PUSHER_MASTER_KEY_BYTES],
						 const char **why)
{
	size_t		len;
	unsigned char *buf;
	size_t		binlen = 0;
	bool		ok;

	if (b64 == NULL || b64[0] == '\0')
	{
		*why = "is not set";
		return false;
	}
	len = strlen(b64);
	buf = palloc(len + 3);		/* base64 decodes to fewer bytes than chars */
	ok = base64_decode(b64, len, buf, len + 3, &binlen);
	if (!ok)
		*why = "is not valid base64";
	else if (binlen != PUSHER_MASTER_KEY_BYTES)
	{
		ok = false;
		*why = "must decode to 32 bytes";
	}
	else
		memcpy(key, buf, PUSHER_MASTER_KEY_BYTES);
	sodium_memzero(buf, len + 3);
	pfree(buf);
	return ok;
}

void
pusher_shared_secret(const char *channel, size_t channellen,
					 const unsigned char *master, size_t masterlen,
					 unsigned char out[PUSHER_SHARED_SECRET_BYTES])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;

	if (ctx == NULL ||
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		EVP_DigestUpdate(ctx, channel, channellen) != 1 ||
		EVP_DigestUpdate(ctx, master, masterlen) != 1 ||
		EVP_DigestFinal_ex(ctx, out, &outlen) != 1 ||
		outlen != PUSHER_SHARED_SECRET_BYTES)
	{
		/*
		 * Only a broken libcrypto gets here.  Fall back to libsodium's
		 * SHA-256, which computes the same function.
		 */
		crypto_hash_sha256_state st;

		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, (const unsigned char *) channel, channellen);
		crypto_hash_sha256_update(&st, master, masterlen);
		crypto_hash_sha256_final(&st, out);
	}
	EVP_MD_CTX_free(ctx);
}

void
pusher_base64_append(StringInfo out, const unsigned char *data, size_t len)
{
	size_t		b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);

	enlargeStringInfo(out, (int) b64len);
	sodium_bin2base64(out->data + out->len, b64len, data, len,
					  sodium_base64_VARIANT_ORIGINAL);
	out->len += (int) (b64len - 1); /* b64len counts the terminating zero */
}

void
pusher_shared_secret_base64(StringInfo out, const char *channel,
							const unsigned char master[PUSHER_MASTER_KEY_BYTES])
{
	unsigned char secret[PUSHER_SHARED_SECRET_BYTES];

	pusher_shared_secret(channel, strlen(channel), master,
						 PUSHER_MASTER_KEY_BYTES, secret);
	pusher_base64_append(out, secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
}

void
pusher_encrypt_with_nonce(StringInfo out,
						  const unsigned char shared_secret[PUSHER_SHARED_SECRET_BYTES],
						  const unsigned char nonce[PUSHER_NONCE_BYTES],
						  const char *plaintext, size_t len)
{
	unsigned char *box = palloc(len + PUSHER_MAC_BYTES);

	crypto_secretbox_easy(box, (const unsigned char *) plaintext, len,
						  nonce, shared_secret);
	appendStringInfoString(out, "{\"nonce\":\"");
	pusher_base64_append(out, nonce, PUSHER_NONCE_BYTES);
	appendStringInfoString(out, "\",\"ciphertext\":\"");
	pusher_base64_append(out, box, len + PUSHER_MAC_BYTES);
	appendStringInfoString(out, "\"}");
	pfree(box);
}

bool
pusher_encrypt(StringInfo out,
			   const unsigned char shared_secret[PUSHER_SHARED_SECRET_BYTES],
			   const char *plaintext, size_t len, const char **why)
{
	unsigned char nonce[PUSHER_NONCE_BYTES];

	if (sodium_init() < 0)
	{
		*why = "libsodium could not be initialised";
		return false;
	}
	randombytes_buf(nonce, sizeof(nonce));
	pusher_encrypt_with_nonce(out, shared_secret, nonce, plaintext, len);
	return true;
}

/* ---- decryption: parse {"nonce":"...","ciphertext":"..."} ---- */

typedef struct EnvelopeState
{
	char	   *nonce;			/* the first top-level string "nonce" */
	char	   *ciphertext;		/* the first top-level string "ciphertext" */
} EnvelopeState;

static void
envelope_member(void *arg, const char *name, JsonTokenType type,
				const char *value)
{
	EnvelopeState *st = (EnvelopeState *) arg;
	char	  **slot = NULL;

	if (type != JSON_TOKEN_STRING)
		return;
	if (strcmp(name, "nonce") == 0)
		slot = &st->nonce;
	else if (strcmp(name, "ciphertext") == 0)
		slot = &st->ciphertext;
	if (slot != NULL && *slot == NULL)
		*slot = pstrdup(value);
}

bool
pusher_decrypt(StringInfo out,
			   const unsigned char shared_secret[PUSHER_SHARED_SECRET_BYTES],
			   const char *json, size_t len, const char **why)
{
	EnvelopeState st;
	char	   *copy;
	int			depth = 0;
	bool		ok = false;

	*why = "is not an encrypted payload {\"nonce\",\"ciphertext\"}";
	if (json == NULL || len == 0 || len > (size_t) 0x3fffffff ||
		memchr(json, '\\', len) != NULL || memchr(json, '\0', len) != NULL)
		return false;			/* base64 needs no escapes */
	for (size_t i = 0; i < len; i++)
		if (json[i] == '{' || json[i] == '[')
			if (++depth > 8)
				return false;	/* the parser recurses */

	copy = pnstrdup(json, len);
	memset(&st, 0, sizeof(st));
	/* invalid JSON makes no calls: then neither member is set */
	(void) json_walk_members(copy, len, envelope_member, &st);

	if (st.nonce != NULL && st.ciphertext != NULL)
	{
		unsigned char nonce[PUSHER_NONCE_BYTES + 3];
		size_t		noncelen = 0;
		size_t		clen = strlen(st.ciphertext);
		unsigned char *box = palloc(clen + 3);
		size_t		boxlen = 0;

		if (base64_decode(st.nonce, strlen(st.nonce), nonce, sizeof(nonce), &noncelen) &&
			noncelen == PUSHER_NONCE_BYTES &&
			base64_decode(st.ciphertext, clen, box, clen + 3, &boxlen) &&
			boxlen >= PUSHER_MAC_BYTES)
		{
			size_t		plen = boxlen - PUSHER_MAC_BYTES;

			enlargeStringInfo(out, (int) plen);
			if (crypto_secretbox_open_easy((unsigned char *) out->data + out->len,
										   box, boxlen, nonce, shared_secret) == 0)
			{
				out->len += (int) plen;
				out->data[out->len] = '\0';
				ok = true;
			}
			else
			{
				out->data[out->len] = '\0';
				*why = "does not decrypt with this channel's shared secret";
			}
		}
		pfree(box);
	}
	if (st.nonce)
		pfree(st.nonce);
	if (st.ciphertext)
		pfree(st.ciphertext);
	pfree(copy);
	return ok;
}

size_t
pusher_envelope_size(size_t len)
{
	size_t		sealed = len + PUSHER_MAC_BYTES;

	/* {"nonce":"<32 base64>","ciphertext":"<base64>"} */
	return strlen("{\"nonce\":\"\",\"ciphertext\":\"\"}") +
		4 * ((PUSHER_NONCE_BYTES + 2) / 3) + 4 * ((sealed + 2) / 3);
}

size_t
pusher_envelope_string_size(size_t len)
{
	/* the envelope's 8 quotes are escaped, and it is quoted */
	return pusher_envelope_size(len) + 8 + 2;
}
