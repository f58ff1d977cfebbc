/*-------------------------------------------------------------------------
 * redact.h
 *	  Keeps rtpush's secrets out of the server log.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_REDACT_H
#define RTPUSH_REDACT_H

extern void rtpush_redact_init(void);

#endif
