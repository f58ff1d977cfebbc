/*-------------------------------------------------------------------------
 * fuzz_sign.c
 *	  libFuzzer target: webhook verification and auth signatures.  Input is
 *	  "secret\nsignature\nbody".  A signature verifies exactly when it equals
 *	  the hex HMAC-SHA256 of the body; the right one always verifies.
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *buf = fuzz_cstring(data, size);
	char	   *rest;
	char	   *body;
	char	   *secret = fuzz_split(buf, &rest);
	char	   *sig = fuzz_split(rest, &body);
	size_t		bodylen = size - (body - buf);
	char		good[65];
	bool		v;
	StringInfoData s;

	pusher_hmac_sha256_hex(secret, strlen(secret), body, bodylen, good);
	v = pusher_webhook_valid(secret, sig, body, bodylen);
	FUZZ_CHECK(v == (secret[0] != '\0' && strcmp(sig, good) == 0));
	if (secret[0] != '\0')
		FUZZ_CHECK(pusher_webhook_valid(secret, good, body, bodylen));
	FUZZ_CHECK(pusher_secure_equal(sig, strlen(sig), good, 64) == (strcmp(sig, good) == 0));

	/* auth strings: "key:" + 64 lower-case hex digits */
	initStringInfo(&s);
	pusher_channel_auth(&s, "k", secret, sig, body, NULL);
	FUZZ_CHECK(s.len == 66 && strspn(s.data + 2, "0123456789abcdef") == 64);
	resetStringInfo(&s);
	pusher_channel_auth(&s, "k", secret, sig, "presence-x", body);
	FUZZ_CHECK(s.len == 66);
	resetStringInfo(&s);
	pusher_user_auth(&s, "k", secret, sig, body);
	FUZZ_CHECK(s.len == 66);
	pfree(s.data);
	pfree(buf);
	return 0;
}
