/*-------------------------------------------------------------------------
 * pusher_names.h
 *	  Pusher's names and their limits: channel, event and socket id
 *	  validation and the channel kinds.
 *
 * Pure C: no SQL, no curl, no ereport; failures come back as static English
 * reasons, each a complete sentence.  Links into the standalone unit tests and fuzzers (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_NAMES_H
#define RTPUSH_PUSHER_NAMES_H

#include "c.h"

#define PUSHER_MAX_CHANNEL_LEN	164
#define PUSHER_MAX_EVENT_LEN	200

/*
 * ---- validation: true if valid; otherwise *why is a static reason ----
 * channel: 1..164 bytes of A-Z a-z 0-9 _ - = @ , . ; and no leading '#'.
 * event: 1..200 bytes, no zero byte, not starting with the protocol's
 *   reserved "pusher:" or "pusher_internal:".
 * socket_id: digits '.' digits (^\d+\.\d+$).
 */
extern bool pusher_valid_channel(const char *name, size_t len, const char **why);
extern bool pusher_valid_event(const char *name, size_t len, const char **why);
extern bool pusher_valid_socket_id(const char *sid, size_t len, const char **why);
/* channel kinds */
extern bool pusher_channel_is_private(const char *name);	/* private-, incl. encrypted */
extern bool pusher_channel_is_presence(const char *name);
extern bool pusher_channel_is_encrypted(const char *name);	/* private-encrypted- */

/* a byte allowed in a channel name: A-Z a-z 0-9 _ - = @ , . ; */
static inline bool
pusher_channel_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-' || c == '=' ||
		c == '@' || c == ',' || c == '.' || c == ';';
}

/*
 * pusher_valid_channel() for the channel a template makes: the same rules,
 * with the reason worded as "The channel it makes <reason>."
 */
extern bool pusher_valid_made_channel(const char *name, size_t len, const char **why);

#endif
