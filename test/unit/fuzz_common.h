/*-------------------------------------------------------------------------
 * fuzz_common.h
 *	  Shared helpers for rtpush's libFuzzer targets: every target checks
 *	  properties (not just "no crash") and aborts with a message when one
 *	  fails, so libFuzzer records the input as a crash.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_FUZZ_COMMON_H
#define RTPUSH_FUZZ_COMMON_H

#include "postgres_fe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pusher.h"

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/* a NUL-terminated palloc'd copy of len bytes */
static inline char *
fuzz_cstring(const uint8_t *data, size_t len)
{
	char	   *s = palloc(len + 1);

	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* splits at the first '\n': *rest points after it (or to "" if none) */
static inline char *
fuzz_split(char *s, char **rest)
{
	char	   *nl = strchr(s, '\n');

	if (nl)
	{
		*nl = '\0';
		*rest = nl + 1;
	}
	else
		*rest = s + strlen(s);
	return s;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
