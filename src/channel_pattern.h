/*-------------------------------------------------------------------------
 * channel_pattern.h
 *	  rtpush's channel name patterns (the authorization rules' language):
 *	  syntax check and matching with captures.  Not Pusher protocol.
 *
 * Pure C: no SQL, no curl, no ereport; failures come back as static English
 * reasons.  Links into the standalone unit tests and fuzzers (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_CHANNEL_PATTERN_H
#define RTPUSH_CHANNEL_PATTERN_H

#include "c.h"

/*
 * Channel name pattern matching for the authorization rules.  A pattern such
 * as "private-user.{user_id}.*" must match the whole name; each {name}
 * captures one non-empty segment without '.', and a trailing ".*" matches one
 * or more further segments.  On a match, calls 'capture' for each placeholder
 * in order and returns true.  Returns false (no calls) otherwise, also for
 * an invalid pattern or channel name.
 * pusher_valid_pattern() checks a pattern's syntax: literal channel-name
 * characters, placeholders {name} (name [A-Za-z_][A-Za-z0-9_]*, at most 16,
 * each used once, each followed by '.' or the end), and '*' only as a
 * final ".*".
 */
typedef void (*pusher_capture_cb) (void *arg, const char *name, size_t namelen,
								   const char *value, size_t valuelen);
extern bool pusher_valid_pattern(const char *pattern, const char **why);
extern bool pusher_match_pattern(const char *pattern, const char *channel,
								 pusher_capture_cb capture, void *arg);

#endif
