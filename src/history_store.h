/*-------------------------------------------------------------------------
 * history_store.h
 *	  The worker's side of history: positions, the rows it records before
 *	  sending, and the partitions' upkeep.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_HISTORY_STORE_H
#define RTPUSH_HISTORY_STORE_H

#include "executor/spi.h"

#include "outbox_drain.h"

/* upkeep (partitions ahead, drops) at least this often */
#define HISTORY_MAINTAIN_MS 10000
/* after a failed upkeep, the next try */
#define HISTORY_RETRY_MS 1000
/* partitions must reach this far past the next position, else upkeep now */
#define HISTORY_MARGIN_MS 1000

/*
 * All of these run in the worker's transaction, with SPI connected.
 * history_prepare() runs the upkeep when it is due (in a subtransaction:
 * a failure is logged and tried again later) and says whether events may
 * be fetched: false while history is on but its partitions do not reach
 * the next position.
 */
extern bool history_prepare(void);
extern bool history_active(void);	/* on, and the extension has history */
extern void history_stamp(OutboxEvent *ev);
extern void history_forget(void);	/* after an error or a new extension */

/* history_write.c: the rows of the events held, before any is sent */
extern void history_record(OutboxEvent **evs, int n);
extern void history_write_forget(void);
/* a plan prepared once and kept, for the history modules (reads too) */
extern SPIPlanPtr history_kept_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types);

#endif
