/*-------------------------------------------------------------------------
 * worker_errors.h
 *	  How a delivery worker logs the errors it catches.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_WORKER_ERRORS_H
#define RTPUSH_WORKER_ERRORS_H

/*
 * Logs an error caught in the turn's transaction (in_xact) or outside it,
 * once per rtpush.log_failure_interval when repeated; frees it.
 */
extern void worker_log_caught_error(ErrorData *edata, bool in_xact);

/* such a step went through: count the unlogged repeats, forget the error */
extern void worker_error_cleared(bool in_xact);

#endif
