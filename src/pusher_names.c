/*-------------------------------------------------------------------------
 * pusher_names.c
 *	  Pusher's names and their limits: validation of channel, event and
 *	  socket ids, and the channel kinds (private, presence, encrypted).
 *
 * Pure C, no SQL, curl or ereport; failures come back as static English
 * reasons, each a complete sentence (the caller's message names the value).  Builds in the backend and, with -DFRONTEND, in test/unit.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "pusher_names.h"

/*
 * Why a channel name is invalid: one list of reasons, spelled once, used both
 * bare (pusher_valid_channel) and inside the template reason (the channel a
 * template makes), so the two cannot drift apart.
 */
typedef enum ChannelFault
{
	CHANNEL_OK,
	CHANNEL_EMPTY,
	CHANNEL_TOO_LONG,
	CHANNEL_HASH,
	CHANNEL_BAD_CHAR
} ChannelFault;

#define CHANNEL_REASONS(before, after) { \
	NULL, \
	before "is empty" after, \
	before "is longer than 164 characters" after, \
	before "starts with '#', which is reserved" after, \
	before "has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ;)" after \
}

static const char *const channel_reasons[] = CHANNEL_REASONS("The name ", ".");
static const char *const template_channel_reasons[] =
CHANNEL_REASONS("The channel it makes ", ".");

static ChannelFault
channel_fault(const char *name, size_t len)
{
	if (name == NULL || len == 0)
		return CHANNEL_EMPTY;
	if (len > PUSHER_MAX_CHANNEL_LEN)
		return CHANNEL_TOO_LONG;
	if (name[0] == '#')
		return CHANNEL_HASH;
	for (size_t i = 0; i < len; i++)
	{
		if (!pusher_channel_char((unsigned char) name[i]))
			return CHANNEL_BAD_CHAR;
	}
	return CHANNEL_OK;
}

/* true if the channel is valid; otherwise *why is its reason from 'reasons' */
static bool
check_channel(const char *name, size_t len, const char *const *reasons,
			  const char **why)
{
	ChannelFault f = channel_fault(name, len);

	if (f == CHANNEL_OK)
		return true;
	*why = reasons[f];
	return false;
}

bool
pusher_valid_channel(const char *name, size_t len, const char **why)
{
	return check_channel(name, len, channel_reasons, why);
}

bool
pusher_valid_made_channel(const char *name, size_t len, const char **why)
{
	return check_channel(name, len, template_channel_reasons, why);
}

bool
pusher_valid_event(const char *name, size_t len, const char **why)
{
	if (name == NULL || len == 0)
	{
		*why = "The name is empty.";
		return false;
	}
	if (len > PUSHER_MAX_EVENT_LEN)
	{
		*why = "The name is longer than 200 characters.";
		return false;
	}
	if (memchr(name, '\0', len) != NULL)
	{
		*why = "The name contains a zero byte.";
		return false;
	}
	if (len >= 7 && memcmp(name, "pusher:", 7) == 0)
	{
		*why = "The name starts with \"pusher:\", which is reserved for the protocol.";
		return false;
	}
	if (len >= 16 && memcmp(name, "pusher_internal:", 16) == 0)
	{
		*why = "The name starts with \"pusher_internal:\", which is reserved for the protocol.";
		return false;
	}
	return true;
}

bool
pusher_valid_socket_id(const char *sid, size_t len, const char **why)
{
	size_t		i = 0;
	size_t		int_digits,
				frac_digits;

	if (sid == NULL || len == 0)
	{
		*why = "The socket id is empty.";
		return false;
	}
	while (i < len && sid[i] >= '0' && sid[i] <= '9')
		i++;
	int_digits = i;
	if (i < len && sid[i] == '.')
		i++;
	else
		i = len + 1;			/* no dot: fail below */
	frac_digits = 0;
	while (i < len && sid[i] >= '0' && sid[i] <= '9')
	{
		i++;
		frac_digits++;
	}
	if (int_digits == 0 || frac_digits == 0 || i != len)
	{
		*why = "The socket id is not digits, a dot and digits (like 1234.5678).";
		return false;
	}
	return true;
}

bool
pusher_channel_is_private(const char *name)
{
	return name != NULL && strncmp(name, "private-", 8) == 0;
}

bool
pusher_channel_is_presence(const char *name)
{
	return name != NULL && strncmp(name, "presence-", 9) == 0;
}

bool
pusher_channel_is_encrypted(const char *name)
{
	return name != NULL && strncmp(name, "private-encrypted-", 18) == 0;
}
