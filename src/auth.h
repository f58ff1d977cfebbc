/*-------------------------------------------------------------------------
 * auth.h
 *	  Helpers shared by the subscriber authorization functions (auth.c) and
 *	  the webhook verification (webhook.c).
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

#endif
