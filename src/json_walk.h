/*-------------------------------------------------------------------------
 * json_walk.h
 *	  The members of a JSON text's top-level object, one callback each, over
 *	  PostgreSQL's JSON parser (common/jsonapi): the one JSON state machine
 *	  that response classification and the encrypted envelope share.
 *
 * Pure C, no SQL, curl or ereport; links into test/unit as is.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_JSON_WALK_H
#define RTPUSH_JSON_WALK_H

#include "c.h"
#include "common/jsonapi.h"

/*
 * One top-level member: its de-escaped name and value.  type is the scalar's
 * token type (JSON_TOKEN_STRING, _NUMBER, _TRUE, _FALSE, _NULL) with value
 * its de-escaped text, or JSON_TOKEN_OBJECT_START / JSON_TOKEN_ARRAY_START
 * with value NULL for a nested value, which is not walked.  Both strings
 * belong to the walker and live only during the call.
 */
typedef void (*json_member_cb) (void *arg, const char *name,
								JsonTokenType type, const char *value);

/*
 * Calls cb for each member of the top-level object of text[0..len), in
 * order, duplicates included; nothing for a top-level array or scalar.
 * Returns false, with no call at all, when the text is not valid JSON: a
 * first pass checks the syntax alone, because the parser leaks the strings
 * it hands to callbacks when it stops at an error.  It also returns false
 * when de-escaping fails in the second pass, after some calls.
 *
 * The parser recurses once per nesting level and de-escapes to UTF-8, so
 * the caller bounds the nesting and keeps zero bytes and escapes that do
 * not de-escape out of the text.
 */
extern bool json_walk_members(char *text, size_t len, json_member_cb cb,
							  void *arg);

#endif
