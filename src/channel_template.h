/*-------------------------------------------------------------------------
 * channel_template.h
 *	  rtpush's channel templates (rtpush.broadcast's channel argument):
 *	  the scan into literals and placeholders.  Not Pusher protocol.
 *
 * Pure C: no SQL, no curl, no ereport; failures come back as static English
 * reasons.  Links into the standalone unit tests and fuzzers (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_CHANNEL_TEMPLATE_H
#define RTPUSH_CHANNEL_TEMPLATE_H

#include "c.h"

/*
 * Channel templates (the trigger arguments of rtpush.broadcast): a channel
 * name in which each "{name}" is a placeholder.  pusher_parse_template()
 * scans 'tmpl' from left to right and calls cb (if not NULL) for each
 * maximal literal run (placeholder false) and each placeholder name
 * (placeholder true, without the braces), in order; s points into tmpl and
 * is not NUL-terminated; len > 0.  Literals contain no brace; names are
 * non-empty and contain no brace.
 *
 * Returns false with *why a static English sentence for: a "}" without an
 * earlier "{", a "{" without a later "}", a "{" inside a placeholder, an
 * empty "{}", and a template whose literal parts, with each placeholder
 * replaced by "0", do not make a valid channel ("The channel it makes
 * <pusher_valid_channel's reason>.").  The callbacks run as the scan goes:
 * when it fails, cb has already been called for the parts before the fault
 * (for every part when the made channel is invalid), so a caller that looks
 * up names in cb reports an unknown name before a later syntax fault.  Pass
 * cb = NULL to validate only.
 */
typedef void (*pusher_template_cb) (void *arg, bool placeholder,
									const char *s, size_t len);
extern bool pusher_parse_template(const char *tmpl, pusher_template_cb cb,
								  void *arg, const char **why);

#endif
