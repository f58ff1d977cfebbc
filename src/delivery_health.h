/*-------------------------------------------------------------------------
 * delivery_health.h
 *	  Whether delivery works: the misconfiguration pause, its probes, and
 *	  the server-log lines about failing and recovering delivery.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_DELIVERY_HEALTH_H
#define RTPUSH_DELIVERY_HEALTH_H

#include "pusher.h"

/*
 * A request failed for a reason that is not about its events (outcome
 * PUSHER_RETRY or PUSHER_MISCONFIGURED; status is the effective status, 0
 * without an answer; why describes it).  queued: events held.
 */
extern void health_failed(PusherOutcome outcome, long status, bool unreachable,
						  const char *why, int queued);
/* a request went through */
extern void health_delivered(void);

/*
 * How many requests may start now, at most slots: all of them when nothing
 * is wrong with the configuration; while it is, one probe once it is due.
 */
extern int	health_slots(int slots, int in_flight);

/* ms until the next probe while misconfigured (held events waiting); else -1 */
extern long health_next_probe_ms(void);

/* the settings were reloaded: send again at once */
extern void health_settings_changed(void);

/*
 * while misconfigured, the note of the worker's state (WORKER_MISCONFIGURED):
 * "HTTP 401: check rtpush.key, rtpush.secret"; else NULL
 */
extern const char *health_state(void);

/* logs the periodic summary while delivery keeps failing; queued: events held */
extern void health_tick(int queued);

#endif
