/*-------------------------------------------------------------------------
 * fuzz_pattern.c
 *	  libFuzzer target: authorization rule patterns.  Input is
 *	  "pattern\nchannel".  A match must be explainable: substituting the
 *	  captured values into the pattern gives back the channel exactly (or its
 *	  prefix before a valid ".*" tail), every capture is a non-empty dot-free
 *	  segment, and nothing is captured without a match.
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

typedef struct Caps
{
	int			n;
	const char *channel;
	const char *val[32];
	size_t		len[32];
} Caps;

static void
cb(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	Caps	   *c = arg;

	FUZZ_CHECK(c->n < 32);
	FUZZ_CHECK(namelen > 0 && valuelen > 0);
	FUZZ_CHECK(value >= c->channel && value + valuelen <= c->channel + strlen(c->channel));
	FUZZ_CHECK(memchr(value, '.', valuelen) == NULL);
	c->val[c->n] = value;
	c->len[c->n++] = valuelen;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *buf = fuzz_cstring(data, size);
	char	   *channel;
	char	   *pattern = fuzz_split(buf, &channel);
	const char *why = NULL;
	bool		valid = pusher_valid_pattern(pattern, &why);
	Caps		caps = {0};
	bool		m;

	FUZZ_CHECK(valid || (why && why[0]));
	caps.channel = channel;
	m = pusher_match_pattern(pattern, channel, cb, &caps);
	if (!m)
		FUZZ_CHECK(caps.n == 0);
	else
	{
		StringInfoData r;
		int			k = 0;
		size_t		plen = strlen(pattern);
		bool		tail = plen >= 2 && strcmp(pattern + plen - 2, ".*") == 0;

		FUZZ_CHECK(valid);
		FUZZ_CHECK(pusher_valid_channel(channel, strlen(channel), &why));
		initStringInfo(&r);
		for (size_t i = 0; i < (tail ? plen - 2 : plen); i++)
		{
			if (pattern[i] == '{')
			{
				FUZZ_CHECK(k < caps.n);
				appendBinaryStringInfo(&r, caps.val[k], caps.len[k]);
				k++;
				i = strchr(pattern + i, '}') - pattern;
			}
			else
				appendStringInfoChar(&r, pattern[i]);
		}
		FUZZ_CHECK(k == caps.n);
		if (!tail)
			FUZZ_CHECK(strcmp(r.data, channel) == 0);
		else
		{
			const char *t = channel + r.len;

			FUZZ_CHECK(strncmp(r.data, channel, r.len) == 0);
			FUZZ_CHECK(t[0] == '.' && t[1] != '\0' && t[1] != '.');
			FUZZ_CHECK(strstr(t, "..") == NULL && channel[strlen(channel) - 1] != '.');
		}
		pfree(r.data);
	}
	pfree(buf);
	return 0;
}
