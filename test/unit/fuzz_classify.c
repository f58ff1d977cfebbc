/*-------------------------------------------------------------------------
 * fuzz_classify.c
 *	  libFuzzer target: the HTTP response classifier (JSON body parsing with
 *	  pg_parse_json) and the Retry-After parser.  The first two bytes pick
 *	  the status; the rest is the body and, NUL-terminated, the header value.
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE 1			/* memmem */
#include "fuzz_common.h"

/* the documented outcome of a status, spelled by class, not as the code has it */
static PusherOutcome
expected(long s)
{
	if (s / 100 == 2)
		return PUSHER_DELIVERED;
	if (s / 100 != 4)
		return PUSHER_RETRY;	/* 0, 1xx, 3xx, 5xx */
	switch (s)
	{
		case 408:
		case 429:
			return PUSHER_RETRY;
		case 401:
		case 403:
		case 404:
		case 405:
		case 407:
			return PUSHER_MISCONFIGURED;
		default:
			return PUSHER_REJECTED;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long		status;
	long		eff = -1;
	const char *body;
	size_t		len;
	PusherOutcome o;
	char	   *hdr;
	long		ra;

	if (size < 2)
		return 0;
	status = ((data[0] << 8) | data[1]) % 700;
	body = (const char *) data + 2;
	len = size - 2;

	o = pusher_classify(status, body, len, &eff);
	FUZZ_CHECK(o == expected(eff));
	if (status < 200 || status > 299)
		FUZZ_CHECK(eff == status);
	else
		FUZZ_CHECK(eff == status || (eff >= 100 && eff <= 599 && (eff < 200 || eff > 299)));
	/* a failing 2xx needs an "error" member in the body */
	if (eff != status)
		FUZZ_CHECK(memmem(body, len, "error", 5) != NULL || memmem(body, len, "\\u", 2) != NULL);

	hdr = fuzz_cstring((const uint8_t *) body, len);
	ra = pusher_retry_after(hdr, (time_t) 1700000000);
	FUZZ_CHECK(ra == -1 || (ra >= 0 && ra <= 7 * 86400));
	pfree(hdr);
	return 0;
}
