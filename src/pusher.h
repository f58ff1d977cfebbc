/*-------------------------------------------------------------------------
 * pusher.h
 *	  Umbrella header for the pure C protocol code: the Pusher Channels
 *	  protocol (names and limits, signing, request bodies, response
 *	  classification) and rtpush's channel patterns and templates.  Include
 *	  the narrower header where one suffices.
 *
 * No SQL, no curl, no ereport: functions return results and, on failure, a
 * static English reason that callers turn into errors.  The code links into
 * the standalone unit tests and fuzzers (test/unit) as is.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_H
#define RTPUSH_PUSHER_H

#include "channel_pattern.h"
#include "channel_template.h"
#include "pusher_body.h"
#include "pusher_classify.h"
#include "pusher_names.h"
#include "pusher_request.h"
#include "pusher_sign.h"

#endif
