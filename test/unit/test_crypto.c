/*-------------------------------------------------------------------------
 * test_crypto.c
 *	  Unit tests of src/crypto.c (end-to-end encrypted channels) against the
 *	  vectors in Pusher's official server libraries' test suites, plus round
 *	  trips through libsodium's crypto_secretbox_open_easy.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sodium.h>

#include "crypto.h"
#include "pusher.h"
#include "tap.h"

static const char *
hex(const unsigned char *b, size_t n)
{
	char	   *out = palloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

static const char *
decode_reason(const char *b64, unsigned char key[32])
{
	const char *why = NULL;

	if (pusher_master_key_decode(b64, key, &why))
		return "(valid)";
	return why;
}

static void
test_master_key(void)
{
	unsigned char key[32];

	/* pusher-http-node authenticate.js "Pusher with encryptionMasterKey" */
	is_str(decode_reason("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=", key), "(valid)",
		   "master key: pusher-http-node test key decodes");

	/* pusher-http-python test_crypto.py / pusher-http-php CryptoTest.php */
	is_str(decode_reason("dGhpcyBpcyAzMiBieXRlcyAxMjM0NTY3ODkwMTIzNDU=", key), "(valid)",
		   "master key: 'this is 32 bytes 123456789012345' decodes");
	ok(memcmp(key, "this is 32 bytes 123456789012345", 32) == 0, "master key: to the right bytes");
	is_str(decode_reason("dGhpcyBrZXkgaGFzIG5vbnByaW50YWJsZSBjaGFyIAA=", key), "(valid)",
		   "master key: key ending in a zero byte decodes");
	ok(memcmp(key, "this key has nonprintable char \0", 32) == 0, "master key: zero byte kept");
	is_str(decode_reason("dGhpcyBpcyAzMiBieXRlcyAxMjM0NTY3ODkwMTIzNDU", key), "(valid)",
		   "master key: unpadded base64 is accepted");
	is_str(decode_reason("dGhpcyBpcyAzMSBieXRlcyAxMjM0NTY3ODkwMTIzNA==", key), "must decode to 32 bytes",
		   "master key: 31 bytes refused (python/php vector)");
	is_str(decode_reason("dGhpcyBpcyAzMyBieXRlcyAxMjM0NTY3ODkwMTIzNDU2", key), "must decode to 32 bytes",
		   "master key: 33 bytes refused (python/php vector)");
	is_str(decode_reason("dGhpcyBpcyAzMSBieXRlcyAxMjM0NTY3ODkwMTIzNA=", key), "is not valid base64",
		   "master key: wrong padding refused (python vector)");
	is_str(decode_reason("dGhpcyBpcyA!MiBieXRlcyAxMjM0NTY3OD#wMTIzNDU=", key), "is not valid base64",
		   "master key: invalid characters refused (python vector)");
	is_str(decode_reason("dGhpcyBpcyAzMyBi!XRlcyAxMjM0NTY3ODkw#TIzNDU2", key), "is not valid base64",
		   "master key: invalid characters refused (php vector)");
	is_str(decode_reason("zyrm8pvV2C9fJcBfhyXzvxbJVN_H7QLmbe0xJi1GhPU=", key), "is not valid base64",
		   "master key: URL-safe alphabet refused");
	is_str(decode_reason(" zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=", key), "is not valid base64",
		   "master key: leading space refused");
	is_str(decode_reason("this is 32 bytes 123456789012345", key), "is not valid base64",
		   "master key: a raw 32-character key is not base64");
	is_str(decode_reason("", key), "is not set", "master key: empty");
	is_str(decode_reason(NULL, key), "is not set", "master key: missing");
}

static const char *
secret_b64(const char *channel, const unsigned char *master, size_t masterlen)
{
	unsigned char s[32];
	StringInfoData b;

	pusher_shared_secret(channel, strlen(channel), master, masterlen, s);
	initStringInfo(&b);
	pusher_base64_append(&b, s, 32);
	return b.data;
}

static void
test_shared_secret(void)
{
	unsigned char key[32];
	const char *why;
	StringInfoData b;
	unsigned char s[32];

	/* pusher-http-node authenticate.js: shared_secret of private-encrypted-bla */
	pusher_master_key_decode("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=", key, &why);
	initStringInfo(&b);
	pusher_shared_secret_base64(&b, "private-encrypted-bla", key);
	is_str(b.data, "nlr49ISQHz91yS3cy/yWmW8wFMNeTnNL5tNHnbPJcLQ=", "shared secret: pusher-http-node vector");

	/* pusher-http-php CryptoTest::testGenerateSharedSecret (raw key of 32 'a') */
	is_str(secret_b64("private-encrypted-channel-a", (const unsigned char *) "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32),
		   "Rp+wpkNpL89qhqco1JkIG31AVXyU8PUVJBr1B2MvdoA=", "shared secret: pusher-http-php vector");
	ok(strcmp(secret_b64("private-encrypted-channel-b", (const unsigned char *) "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32),
			  "Rp+wpkNpL89qhqco1JkIG31AVXyU8PUVJBr1B2MvdoA=") != 0 &&
	   strcmp(secret_b64("private-encrypted-channel-a", (const unsigned char *) "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 32),
			  "Rp+wpkNpL89qhqco1JkIG31AVXyU8PUVJBr1B2MvdoA=") != 0,
	   "shared secret: depends on channel and key (pusher-http-php)");

	/* pusher-http-python test_crypto.py test_generate_shared_secret */
	pusher_shared_secret("pvUPIk0YG6MnxCEMIUUVFrbDmQwbhICXUcy", 35,
						 (const unsigned char *) "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", 32, s);
	ok(memcmp(s, "p\x9e\xf3\t\n$\xbf\xa9\x83\x82\xcb]\x02\\\xa3" "b,\x82\xd3\x1f\xa2\x7f\x10\xb0\x05\xc0\xdc\xa2{\xae" "e\x16", 32) == 0,
	   "shared secret: pusher-http-python vector");

	/* pusher-http-go crypto_test.go TestGenerateSharedSecret (33-byte key) */
	pusher_shared_secret("private-encrypted-bla", 21,
						 (const unsigned char *) "This is a string that is 32 chars", 33, s);
	is_str(hex(s, 32), "004831f99d2a4e86723e893caded3a2897deeddbed9514fe9497dcddc52bd50b",
		   "shared secret: pusher-http-go vector");

	/* pusher-http-python test_authentication_client.py, encrypted channel */
	pusher_master_key_decode("OHRXNUZRTG5pUTFzQlFGd3J3N3Q2VFZFc0paZDEweVk=", key, &why);
	resetStringInfo(&b);
	pusher_shared_secret_base64(&b, "private-encrypted-channel", key);
	is_str(b.data, "VmIsNZtCSteh8kazd2toc+ofhohBtUouQRSDtRvuyVI=",
		   "shared secret: pusher-http-python authentication client vector");

	/* definition: SHA256(channel || key), not SHA256(key || channel) */
	{
		unsigned char cat[21 + 32];
		unsigned char direct[32];

		memcpy(cat, "private-encrypted-bla", 21);
		memcpy(cat + 21, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32);
		crypto_hash_sha256(direct, cat, sizeof(cat));
		pusher_shared_secret("private-encrypted-bla", 21, (const unsigned char *) "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32, s);
		ok(memcmp(s, direct, 32) == 0, "shared secret: equals libsodium SHA-256 of channel || key");
	}
}

static void
test_secretbox(void)
{
	unsigned char s[32];
	StringInfoData enc;
	StringInfoData dec;
	const char *why = NULL;

	/*
	 * pusher-http-python test_crypto.py test_encrypt: fixed nonce, exact
	 * nonce and ciphertext.
	 */
	pusher_shared_secret("pvUPIk0YG6MnxCEMIUUVFrbDmQwbhICXUcy", 35,
						 (const unsigned char *) "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", 32, s);
	initStringInfo(&enc);
	pusher_encrypt_with_nonce(&enc, s, (const unsigned char *) "XAJI0Y6DPBHSAHXTHV3A3ZMF",
							  "kkkT5OOkOkO5kT5TOO5TkOT5TTk5O55T", 32);
	is_str(enc.data,
		   "{\"nonce\":\"WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G\",\"ciphertext\":\"tsYJa2JgGDOpVIYFe4aNVWAvZlpB7z7CjN9mpIdbATE0Yc4izN8aM8D6VigBxnIQ\"}",
		   "secretbox: pusher-http-python encrypt vector, byte exact");
	initStringInfo(&dec);
	ok(pusher_decrypt(&dec, s, enc.data, enc.len, &why) &&
	   strcmp(dec.data, "kkkT5OOkOkO5kT5TOO5TkOT5TTk5O55T") == 0,
	   "secretbox: the python vector decrypts back");

	/* the same vector opened directly with crypto_secretbox_open_easy */
	{
		unsigned char nonce[24];
		unsigned char box[48];
		unsigned char plain[33];
		size_t		n1,
					n2;

		sodium_base642bin(nonce, 24, "WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G", 32, NULL, &n1, NULL, sodium_base64_VARIANT_ORIGINAL);
		sodium_base642bin(box, 48, "tsYJa2JgGDOpVIYFe4aNVWAvZlpB7z7CjN9mpIdbATE0Yc4izN8aM8D6VigBxnIQ", 64, NULL, &n2, NULL, sodium_base64_VARIANT_ORIGINAL);
		plain[32] = '\0';
		ok(n1 == 24 && n2 == 48 && crypto_secretbox_open_easy(plain, box, 48, nonce, s) == 0 &&
		   memcmp(plain, "kkkT5OOkOkO5kT5TOO5TkOT5TTk5O55T", 32) == 0,
		   "secretbox: python vector opens with crypto_secretbox_open_easy");
	}

	/*
	 * pusher-http-go crypto_test.go TestDecryptValidKey / InvalidKey: an
	 * event encrypted by another implementation.
	 */
	{
		const char *go = "{\"nonce\":\"sjklahvpWWQgAjTx5FfYHCCxd2AmaL9T\",\"ciphertext\":\"zoDEe8dA3nDXKsybAWce/hXGW4szJw==\"}";

		pusher_shared_secret("private-encrypted-bla", 21, (const unsigned char *) "This is a string that is 32 chars", 33, s);
		resetStringInfo(&dec);
		ok(pusher_decrypt(&dec, s, go, strlen(go), &why) && strcmp(dec.data, "Hello!") == 0,
		   "secretbox: pusher-http-go ciphertext decrypts to Hello!");
		pusher_shared_secret("private-encrypted-bla", 21, (const unsigned char *) "This is an invalid key 32 chars!!", 33, s);
		resetStringInfo(&dec);
		ok(!pusher_decrypt(&dec, s, go, strlen(go), &why) && dec.len == 0 &&
		   strcmp(why, "does not decrypt with this channel's shared secret") == 0,
		   "secretbox: pusher-http-go ciphertext refuses the wrong key");
	}
}

static void
test_encrypt_random(void)
{
	unsigned char key[32];
	unsigned char s[32];
	unsigned char other[32];
	const char *why = NULL;
	const char *plain = "{\"prescription\":\"amoxicillin 500mg\",\"patient_id\":7}";
	StringInfoData a;
	StringInfoData b;
	StringInfoData d;

	pusher_master_key_decode("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=", key, &why);
	pusher_shared_secret("private-encrypted-user.7.prescriptions", 38, key, 32, s);
	pusher_shared_secret("private-encrypted-user.8.prescriptions", 38, key, 32, other);
	initStringInfo(&a);
	initStringInfo(&b);
	initStringInfo(&d);
	ok(pusher_encrypt(&a, s, plain, strlen(plain), &why) &&
	   pusher_encrypt(&b, s, plain, strlen(plain), &why), "encrypt: succeeds");
	ok(strcmp(a.data, b.data) != 0, "encrypt: a fresh nonce every time (two encryptions differ)");
	ok(strncmp(a.data, "{\"nonce\":\"", 10) == 0 && strstr(a.data, "\",\"ciphertext\":\"") != NULL &&
	   a.data[a.len - 1] == '}' && a.data[a.len - 2] == '"', "encrypt: Pusher's {\"nonce\",\"ciphertext\"} envelope");
	ok(strstr(a.data, "amoxicillin") == NULL && strstr(a.data, "patient_id") == NULL,
	   "encrypt: no plaintext in the envelope");
	/* nonce: 24 bytes, base64 of 32 characters */
	ok(a.data[10 + 32] == '"', "encrypt: nonce is 24 bytes (32 base64 characters)");
	ok(pusher_decrypt(&d, s, a.data, a.len, &why) && strcmp(d.data, plain) == 0,
	   "encrypt: round trip");
	resetStringInfo(&d);
	ok(pusher_decrypt(&d, s, b.data, b.len, &why) && strcmp(d.data, plain) == 0,
	   "encrypt: round trip of the second encryption");
	resetStringInfo(&d);
	ok(!pusher_decrypt(&d, other, a.data, a.len, &why),
	   "encrypt: another channel's shared secret cannot decrypt");
	/* tamper with one ciphertext character */
	{
		char	   *t = pstrdup(a.data);
		char	   *c = strstr(t, "\"ciphertext\":\"") + 14;

		*c = (*c == 'A') ? 'B' : 'A';
		resetStringInfo(&d);
		ok(!pusher_decrypt(&d, s, t, strlen(t), &why), "encrypt: tampered ciphertext is refused");
	}
	/* the envelope is valid JSON for the data member of an event */
	{
		const char *ch[] = {"private-encrypted-user.7.prescriptions"};
		PusherEvent ev = {"prescription.created", ch, 1, a.data, a.len, NULL};
		StringInfoData body;

		initStringInfo(&body);
		pusher_events_body(&body, &ev);
		ok(strstr(body.data, "\"data\":\"{\\\"nonce\\\":\\\"") != NULL,
		   "encrypt: the envelope is sent as a JSON string in data");
	}
	/* empty plaintext */
	resetStringInfo(&a);
	resetStringInfo(&d);
	ok(pusher_encrypt(&a, s, "", 0, &why) && pusher_decrypt(&d, s, a.data, a.len, &why) && d.len == 0,
	   "encrypt: empty plaintext round trip");
	/* decrypt of malformed envelopes */
	{
		static const char *const bad[] = {
			"", "{}", "not json", "{\"nonce\":\"AAAA\",\"ciphertext\":\"AAAA\"}",
			"{\"nonce\":1,\"ciphertext\":2}", "[\"nonce\",\"ciphertext\"]",
			"{\"nonce\":\"\\u0041\",\"ciphertext\":\"x\"}", "{\"nonce\":\"WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G\"}",
			"{\"nonce\":\"WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G\",\"ciphertext\":\"!!!!\"}",
			"{\"nonce\":\"WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G\",\"ciphertext\":\"AAAA\"}",
			"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		};
		bool		all = true;

		for (int i = 0; i < lengthof(bad); i++)
		{
			resetStringInfo(&d);
			if (pusher_decrypt(&d, s, bad[i], strlen(bad[i]), &why) || d.len != 0)
			{
				all = false;
				printf("# accepted: %s\n", bad[i]);
			}
		}
		ok(all, "decrypt: %d malformed envelopes are refused", (int) lengthof(bad));
	}
}

int
main(void)
{
	if (sodium_init() < 0)
	{
		printf("Bail out! libsodium cannot initialise\n");
		return 1;
	}
	test_master_key();
	test_shared_secret();
	test_secretbox();
	test_encrypt_random();
	return tap_done();
}
