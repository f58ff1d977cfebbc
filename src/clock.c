/*-------------------------------------------------------------------------
 * clock.c
 *	  The delivery decisions' clock: the real time unless a unit test set
 *	  it (as timescaledb's background-worker scheduler has a mock timer),
 *	  so that parking, backoff and batching can be tested without a server.
 *	  Pure C, no backend calls.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <sys/time.h>

#include "clock.h"

/* seconds from 1970-01-01 to 2000-01-01, the epoch of TimestampTz */
#define PG_EPOCH_OFFSET_S ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

typedef struct ClockState
{
	TimestampTz set;			/* a test's time; 0: the real time */
} ClockState;

static ClockState clock_state;

TimestampTz
rtpush_clock_now(void)
{
	struct timeval tp;

	if (clock_state.set != 0)
		return clock_state.set;
	gettimeofday(&tp, NULL);
	return ((TimestampTz) tp.tv_sec - PG_EPOCH_OFFSET_S) * USECS_PER_SEC + tp.tv_usec;
}

long
rtpush_clock_unix_seconds(void)
{
	return (long) (rtpush_clock_now() / USECS_PER_SEC + PG_EPOCH_OFFSET_S);
}

void
rtpush_clock_set(TimestampTz t)
{
	clock_state.set = t;
}

void
rtpush_clock_advance_ms(long ms)
{
	if (clock_state.set != 0)
		clock_state.set += (TimestampTz) ms * 1000;
}
