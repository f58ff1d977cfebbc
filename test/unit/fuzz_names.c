/*-------------------------------------------------------------------------
 * fuzz_names.c
 *	  libFuzzer target: channel, event and socket_id validation against
 *	  straightforward oracles of Pusher's rules, on arbitrary bytes.
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static bool
oracle_channel(const uint8_t *d, size_t n)
{
	static const char allowed[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=@,.;";

	if (n < 1 || n > 164 || d[0] == '#')
		return false;
	for (size_t i = 0; i < n; i++)
		if (d[i] == 0 || strchr(allowed, d[i]) == NULL)
			return false;
	return true;
}

static bool
oracle_event(const uint8_t *d, size_t n)
{
	bool		reserved = (n >= 7 && memcmp(d, "pusher:", 7) == 0) ||
		(n >= 16 && memcmp(d, "pusher_internal:", 16) == 0);

	return n >= 1 && n <= 200 && memchr(d, 0, n) == NULL && !reserved;
}

static bool
oracle_socket_id(const uint8_t *d, size_t n)
{
	size_t		dots = 0,
				dotpos = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (d[i] == '.')
		{
			dots++;
			dotpos = i;
		}
		else if (d[i] < '0' || d[i] > '9')
			return false;
	}
	return dots == 1 && dotpos > 0 && dotpos < n - 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	const char *why = NULL;
	char	   *c;
	bool		v;

	v = pusher_valid_channel(s, size, &why);
	FUZZ_CHECK(v == oracle_channel(data, size));
	FUZZ_CHECK(v || (why != NULL && why[0] != '\0'));

	why = NULL;
	v = pusher_valid_event(s, size, &why);
	FUZZ_CHECK(v == oracle_event(data, size));
	FUZZ_CHECK(v || (why != NULL && why[0] != '\0'));

	why = NULL;
	v = pusher_valid_socket_id(s, size, &why);
	FUZZ_CHECK(v == oracle_socket_id(data, size));
	FUZZ_CHECK(v || (why != NULL && why[0] != '\0'));

	c = fuzz_cstring(data, size);
	FUZZ_CHECK(pusher_channel_is_private(c) == (strncmp(c, "private-", 8) == 0));
	FUZZ_CHECK(pusher_channel_is_presence(c) == (strncmp(c, "presence-", 9) == 0));
	FUZZ_CHECK(!pusher_channel_is_encrypted(c) || pusher_channel_is_private(c));
	pfree(c);
	return 0;
}
