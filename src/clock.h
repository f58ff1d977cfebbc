/*-------------------------------------------------------------------------
 * clock.h
 *	  The time the delivery decisions (parking, backoff, pauses, rescans)
 *	  read: the real time, or a time the unit tests set.  Pure C: it
 *	  builds in the backend and in test/unit alike.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_CLOCK_H
#define RTPUSH_CLOCK_H

#include "datatype/timestamp.h"

/* now, as GetCurrentTimestamp() counts it, unless a test set the time */
extern TimestampTz rtpush_clock_now(void);
/* now in seconds since 1970 (for HTTP dates) */
extern long rtpush_clock_unix_seconds(void);

/* tests: the clock stands at t until set again; 0: the real time again */
extern void rtpush_clock_set(TimestampTz t);
/* tests: moves a set clock on by ms */
extern void rtpush_clock_advance_ms(long ms);

#endif
