/*-------------------------------------------------------------------------
 * pusher_body.h
 *	  Pusher HTTP API request bodies: JSON strings, events and
 *	  batch_events bodies and their limits.
 *
 * Pure C: no SQL, no curl, no ereport; failures come back as static English
 * reasons.  Links into the standalone unit tests and fuzzers (test/unit).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PUSHER_BODY_H
#define RTPUSH_PUSHER_BODY_H

#include "c.h"
#include "lib/stringinfo.h"

#define PUSHER_MAX_CHANNELS		100	/* channels of one event */
#define PUSHER_MAX_BATCH		10	/* events of one batch_events request */

typedef struct PusherEvent
{
	const char *name;			/* event name */
	const char *const *channels;	/* 1..100 channel names */
	int			nchannels;
	const char *data;			/* JSON text, sent as a JSON string */
	size_t		datalen;
	const char *socket_id;		/* NULL or excluded socket */
} PusherEvent;

/* body for POST /apps/{id}/events: {"name","channels":[..],"data","socket_id"} */
extern void pusher_events_body(StringInfo buf, const PusherEvent *ev);

/*
 * body for POST /apps/{id}/batch_events: {"batch":[{"name","channel","data",
 * "socket_id"}...]}.  Every event must have exactly one channel; n <= 10.
 */
extern void pusher_batch_body(StringInfo buf, const PusherEvent *evs, int n);

/*
 * Sizes, for packing requests by bytes before building them.  data_size is
 * the size of the event's data as a JSON string literal, quotes included
 * (pusher_json_string_size() of the data as sent).  A batch_events body of
 * items i1..in is PUSHER_BATCH_BODY_OVERHEAD + sum(items) + (n - 1) commas.
 */
#define PUSHER_BATCH_BODY_OVERHEAD (sizeof("{\"batch\":[]}") - 1)
extern size_t pusher_events_body_size(const char *name, const char *const *channels,
									  int nchannels, const char *socket_id, size_t data_size);
extern size_t pusher_batch_item_size(const char *name, const char *channel,
									 const char *socket_id, size_t data_size);

/* the length pusher_json_string() appends for s: quotes and escapes included */
extern size_t pusher_json_string_size(const char *s, size_t len);

/* appends s (len bytes, UTF-8) as a JSON string literal with quotes */
extern void pusher_json_string(StringInfo buf, const char *s, size_t len);

#endif
