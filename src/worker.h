/*-------------------------------------------------------------------------
 * worker.h
 *	  The delivery background worker.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_WORKER_H
#define RTPUSH_WORKER_H

extern void rtpush_register_worker(void);

#endif
