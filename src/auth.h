/*-------------------------------------------------------------------------
 * auth.h
 *	  What the subscriber authorization (auth.c, auth_sign.c, auth_rules.c),
 *	  the webhook verification (webhook.c) and catch-up (history_read.c) share.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_AUTH_H
#define RTPUSH_AUTH_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* ERROR 55000 with a hint unless rtpush.key (and, if need_secret, rtpush.secret) are set */
extern void rtpush_require_credentials(bool need_secret);

/* appends jb as compact JSON (no spaces), the form JSON.stringify produces */
extern void rtpush_jsonb_compact(StringInfo out, Jsonb *jb);

/* pushes "key" into the object being built (its value follows) */
extern void rtpush_jsonb_put_key(JsonbParseState **st, const char *key);

/* pushes "key": "val" (a JSON string; null when val is NULL) into the object being built */
extern void rtpush_jsonb_put_string(JsonbParseState **st, const char *key,
									const char *val);

/* pushes "key": true or false into the object being built */
extern void rtpush_jsonb_put_bool(JsonbParseState **st, const char *key, bool val);

/*
 * auth_rules.c: ERROR 42501 unless some rule of rtpush.channel_rules matches
 * the channel and every matching rule allows user_id (deny by default)
 */
extern void rtpush_enforce_channel_rules(const char *channel, const char *user_id);

#endif
