/*-------------------------------------------------------------------------
 * channel_pattern.c
 *	  rtpush's channel name patterns, the language of the authorization
 *	  rules ("private-user.{user_id}.*"): syntax check and matching with
 *	  captures.  Not Pusher protocol; it builds on the channel name rules.
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

#include "channel_pattern.h"
#include "pusher_names.h"

#define PATTERN_MAX_PLACEHOLDERS	16
#define PATTERN_MAX_NAME			63
#define PATTERN_MAX_LEN				1024

static inline bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		(!first && c >= '0' && c <= '9');
}

bool
pusher_valid_pattern(const char *pattern, const char **why)
{
	size_t		len;
	const char *names[PATTERN_MAX_PLACEHOLDERS];
	size_t		namelens[PATTERN_MAX_PLACEHOLDERS];
	int			nnames = 0;

	if (pattern == NULL || pattern[0] == '\0')
	{
		*why = "The pattern is empty.";
		return false;
	}
	len = strlen(pattern);
	if (len > PATTERN_MAX_LEN)
	{
		*why = "The pattern is longer than 1024 characters.";
		return false;
	}
	if (pattern[0] == '#')
	{
		*why = "The pattern starts with '#', which is reserved.";
		return false;
	}
	for (size_t i = 0; i < len; i++)
	{
		char		c = pattern[i];

		if (c == '{')
		{
			size_t		start = ++i;

			while (i < len && name_char(pattern[i], i == start))
				i++;
			if (i >= len || pattern[i] != '}' || i == start)
			{
				*why = "The pattern has a placeholder that is not {name} with a name of letters, digits and _.";
				return false;
			}
			if (i - start > PATTERN_MAX_NAME)
			{
				*why = "The pattern has a placeholder name longer than 63 characters.";
				return false;
			}
			if (i + 1 < len && pattern[i + 1] != '.')
			{
				*why = "The pattern has a placeholder not followed by '.' or the end.";
				return false;
			}
			if (nnames >= PATTERN_MAX_PLACEHOLDERS)
			{
				*why = "The pattern has more than 16 placeholders.";
				return false;
			}
			for (int k = 0; k < nnames; k++)
			{
				if (namelens[k] == i - start &&
					memcmp(names[k], pattern + start, i - start) == 0)
				{
					*why = "The pattern uses the same placeholder name twice.";
					return false;
				}
			}
			names[nnames] = pattern + start;
			namelens[nnames++] = i - start;
		}
		else if (c == '*')
		{
			if (i + 1 != len || i < 2 || pattern[i - 1] != '.')
			{
				*why = "The pattern has a '*' that is not a final \".*\".";
				return false;
			}
		}
		else if (c == '}')
		{
			*why = "The pattern has a '}' without '{'.";
			return false;
		}
		else if (!pusher_channel_char((unsigned char) c))
		{
			*why = "The pattern has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ; and placeholders).";
			return false;
		}
	}
	return true;
}

/* one or more non-empty dot-separated segments */
static bool
valid_tail(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++)
	{
		if (*s == '.' && (s[1] == '.' || s[1] == '\0'))
			return false;
	}
	return true;
}

bool
pusher_match_pattern(const char *pattern, const char *channel,
					 pusher_capture_cb capture, void *arg)
{
	const char *why;
	const char *p = pattern;
	const char *c = channel;
	const char *cap_name[PATTERN_MAX_PLACEHOLDERS];
	size_t		cap_namelen[PATTERN_MAX_PLACEHOLDERS];
	const char *cap_val[PATTERN_MAX_PLACEHOLDERS];
	size_t		cap_vallen[PATTERN_MAX_PLACEHOLDERS];
	int			ncap = 0;

	if (channel == NULL || !pusher_valid_pattern(pattern, &why) ||
		!pusher_valid_channel(channel, strlen(channel), &why))
		return false;

	while (*p)
	{
		if (*p == '{')
		{
			const char *name = p + 1;
			const char *end = strchr(name, '}');
			const char *start = c;

			while (*c && *c != '.')
				c++;
			if (c == start)
				return false;
			cap_name[ncap] = name;
			cap_namelen[ncap] = end - name;
			cap_val[ncap] = start;
			cap_vallen[ncap++] = c - start;
			p = end + 1;
		}
		else if (p[0] == '.' && p[1] == '*' && p[2] == '\0')
		{
			if (*c != '.' || !valid_tail(c + 1))
				return false;
			c += strlen(c);
			p += 2;
		}
		else
		{
			if (*c != *p)
				return false;
			c++;
			p++;
		}
	}
	if (*c != '\0')
		return false;
	if (capture)
	{
		for (int i = 0; i < ncap; i++)
			capture(arg, cap_name[i], cap_namelen[i], cap_val[i], cap_vallen[i]);
	}
	return true;
}
