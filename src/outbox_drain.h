/*-------------------------------------------------------------------------
 * outbox_drain.h
 *	  The read side of the outbox: what the delivery worker fetches, and
 *	  how it records outcomes (delete, retry, dead letter).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_OUTBOX_DRAIN_H
#define RTPUSH_OUTBOX_DRAIN_H

#include "datatype/timestamp.h"

/* One queued event, held in the worker's memory in a single allocation. */
typedef struct OutboxEvent
{
	int64		id;
	uint64		xid;			/* writing transaction; (xid, id) is the key */
	int64		position;		/* in history; 0: none (history off, or not yet held) */
	int			nchannels;
	char	  **channels;
	char	   *event;
	char	   *data;
	size_t		datalen;
	char	   *socket_id;		/* NULL if none */
	int			attempts;
	TimestampTz queued_at;
	TimestampTz not_before;		/* 0: now */
	/* outbox_event_plain()'s: data as clients get it; NULL: not made yet */
	const char *plain;
	size_t		plainlen;
	int64		plain_position; /* the position it was made with */
	uint64		plain_gen;		/* and the settings' generation */
} OutboxEvent;

/* An outcome to record, in the order recorded. */
typedef struct OutboxOutcome
{
	int64		id;
	uint64		xid;
	int			attempts;
	TimestampTz not_before;		/* retry */
	int			http_status;	/* dead letter; 0 if none */
	const char *response;		/* dead letter; may be NULL */
	const char *reason;			/* retry: last error; dead letter: why */
} OutboxOutcome;

/* an event's key in the outbox */
typedef struct OutboxKey
{
	uint64		xid;
	int64		id;
} OutboxKey;

/* All of these run inside a transaction the caller started. */
extern Oid	outbox_extension_oid(void);
extern void outbox_plan_settings(void);	/* in the worker, once connected */
extern void outbox_forget(void);	/* after CREATE/DROP EXTENSION: start over */
extern void outbox_rewind(void);	/* the next fetch reads from the start */
extern bool outbox_reading_from_start(void);
extern void outbox_drop_plans(void);	/* after an error: prepare again */
/* events are allocated in cxt, one allocation each */
extern int	outbox_fetch(OutboxEvent **events, int max, bool *more, MemoryContext cxt);
/* the event's data as clients get it (payload_plain()), made once */
extern void outbox_event_plain(OutboxEvent *ev, const char **out, size_t *outlen);
extern void outbox_event_free(OutboxEvent *ev);
extern void outbox_settings_changed(void);	/* after a reload: make them again */
extern void outbox_delete(const OutboxKey *keys, int n);
extern void outbox_retry(const OutboxOutcome *o, int n);
extern void outbox_dead_letter(const OutboxOutcome *o, int n);

#endif
