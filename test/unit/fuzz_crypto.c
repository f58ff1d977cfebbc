/*-------------------------------------------------------------------------
 * fuzz_crypto.c
 *	  libFuzzer target: encrypted channels.  Arbitrary text as a master key
 *	  (decodes only to exactly 32 bytes), as an envelope to decrypt (never
 *	  accepted without the key), and as plaintext (round trips).
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

#include <sodium.h>

#include "crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char secret[32] = "rtpush fuzz shared secret 32 by";
	char	   *s = fuzz_cstring(data, size);
	unsigned char key[32];
	const char *why = NULL;
	StringInfoData out;
	StringInfoData back;

	if (sodium_init() < 0)
		abort();
	if (!pusher_master_key_decode(s, key, &why))
		FUZZ_CHECK(why && why[0]);

	initStringInfo(&out);
	FUZZ_CHECK(!pusher_decrypt(&out, secret, (const char *) data, size, &why));
	FUZZ_CHECK(out.len == 0);

	FUZZ_CHECK(pusher_encrypt(&out, secret, (const char *) data, size, &why));
	initStringInfo(&back);
	FUZZ_CHECK(pusher_decrypt(&back, secret, out.data, out.len, &why));
	FUZZ_CHECK(back.len == (int) size && memcmp(back.data, data, size) == 0);
	pfree(out.data);
	pfree(back.data);
	pfree(s);
	return 0;
}
