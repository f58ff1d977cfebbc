/*-------------------------------------------------------------------------
 * dbguard.h
 *	  Keeps delivery workers out of the way of DROP DATABASE and ALTER
 *	  DATABASE ... RENAME; tells the launcher about CREATE EXTENSION.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_DBGUARD_H
#define RTPUSH_DBGUARD_H

extern void rtpush_dbguard_init(void);	/* from _PG_init */

#endif
