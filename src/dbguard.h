/*-------------------------------------------------------------------------
 * dbguard.h
 *	  Keeps the delivery worker out of the way of DROP DATABASE.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_DBGUARD_H
#define RTPUSH_DBGUARD_H

#include <signal.h>

extern void rtpush_dbguard_init(void);

/* worker: waits, unconnected, while its database is being dropped or gone */
extern void rtpush_dbguard_wait(volatile sig_atomic_t *stop);

/*
 * worker, after its last connection attempt failed: waits, connected to no
 * database, until rtpush.database_name accepts connections, then exits for
 * a restart; returns only on *stop
 */
extern void rtpush_dbguard_wait_connectable(volatile sig_atomic_t *stop);

#endif
