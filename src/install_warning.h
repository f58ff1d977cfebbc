/*-------------------------------------------------------------------------
 * install_warning.h
 *	  Drops rtpush--0.1.sql's one-database WARNING where it no longer holds.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_INSTALL_WARNING_H
#define RTPUSH_INSTALL_WARNING_H

extern void rtpush_install_warning_init(void);	/* from _PG_init */

#endif
