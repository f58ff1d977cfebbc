/*-------------------------------------------------------------------------
 * crypto.h
 *	  Pusher end-to-end encrypted channels (private-encrypted-*): the master
 *	  key, per-channel shared secrets and NaCl secretbox payloads.
 *
 * Pure C over libsodium and OpenSSL: no SQL, no ereport.  Failures come
 * back as static English reasons that never contain key material.  Links
 * into the standalone unit tests and fuzzers (test/unit) as is.
 *
 * Pusher's definitions (official server libraries, e.g. pusher-http-node
 * Pusher.prototype.channelSharedSecret and lib/events.js encrypt()):
 *	 shared_secret = SHA256(channel_name_bytes || master_key_bytes)
 *	 data = {"nonce":"<base64 24 bytes>","ciphertext":"<base64 secretbox>"}
 * with standard, padded base64.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_CRYPTO_H
#define RTPUSH_CRYPTO_H

#include "c.h"
#include "lib/stringinfo.h"

#define PUSHER_MASTER_KEY_BYTES		32
#define PUSHER_SHARED_SECRET_BYTES	32	/* crypto_secretbox_KEYBYTES */
#define PUSHER_NONCE_BYTES			24	/* crypto_secretbox_NONCEBYTES */
#define PUSHER_MAC_BYTES			16	/* crypto_secretbox_MACBYTES */

/*
 * Decodes a base64 (standard alphabet, padding optional) master key that
 * must decode to exactly 32 bytes.  On failure returns false with *why set
 * to a static reason ("is not set", "is not valid base64",
 * "must decode to 32 bytes"); the key itself is never part of it.
 */
extern bool pusher_master_key_decode(const char *b64,
									 unsigned char key[PUSHER_MASTER_KEY_BYTES],
									 const char **why);

/* SHA256(channel || master); master is normally the 32 decoded bytes */
extern void pusher_shared_secret(const char *channel, size_t channellen,
								 const unsigned char *master, size_t masterlen,
								 unsigned char out[PUSHER_SHARED_SECRET_BYTES]);

/* appends standard padded base64 of len bytes */
extern void pusher_base64_append(StringInfo out, const unsigned char *data,
								 size_t len);

/* appends base64 of the channel's shared secret (the auth answer's shared_secret) */
extern void pusher_shared_secret_base64(StringInfo out, const char *channel,
										const unsigned char master[PUSHER_MASTER_KEY_BYTES]);

/*
 * Encrypts plaintext for the channel with a fresh random nonce and appends
 * the JSON text {"nonce":"<b64>","ciphertext":"<b64>"} to out.  Returns
 * false (nothing appended, *why set) only if libsodium cannot initialise.
 */
extern bool pusher_encrypt(StringInfo out,
						   const unsigned char shared_secret[PUSHER_SHARED_SECRET_BYTES],
						   const char *plaintext, size_t len, const char **why);

/* length of the {"nonce","ciphertext"} text pusher_encrypt makes of len bytes */
extern size_t pusher_envelope_size(size_t len);
/* its length as a JSON string in a request body (pusher_json_string_size of it) */
extern size_t pusher_envelope_string_size(size_t len);

/* the same with a caller-chosen nonce: for tests against fixed vectors only */
extern void pusher_encrypt_with_nonce(StringInfo out,
									  const unsigned char shared_secret[PUSHER_SHARED_SECRET_BYTES],
									  const unsigned char nonce[PUSHER_NONCE_BYTES],
									  const char *plaintext, size_t len);

/*
 * Decrypts a {"nonce","ciphertext"} JSON text produced as above (used by the
 * tests and available to callers that verify round trips).  Appends the
 * plaintext to out and returns true; false with *why when the text is not
 * that shape or authentication fails.
 */
extern bool pusher_decrypt(StringInfo out,
						   const unsigned char shared_secret[PUSHER_SHARED_SECRET_BYTES],
						   const char *json, size_t len, const char **why);

#endif
