/*-------------------------------------------------------------------------
 * outbox.h
 *	  The write side of the outbox: the size an event has on the wire, and
 *	  the only code that inserts into rtpush.outbox.
 *
 * rtpush.send() and the capture triggers validate an event with args.h's
 * checks (each raises a PostgreSQL-style ERROR), then call
 * rtpush_outbox_enqueue(), which inserts the row directly (no SPI, no
 * planner) in the current transaction and wakes the worker at commit.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_OUTBOX_H
#define RTPUSH_OUTBOX_H

typedef struct RtpushEvent
{
	const char *event;			/* validated event name */
	const char *const *channels;	/* 1..100 validated channel names */
	int			nchannels;
	const char *data;			/* JSON text */
	size_t		datalen;
	const char *socket_id;		/* validated socket id to exclude, or NULL */
} RtpushEvent;

/*
 * Bytes of "data" Pusher will see for these channels: the JSON text, plus
 * the rtpush.event_id_field member if set, inside the encryption envelope
 * when a channel is private-encrypted-.  What rtpush.max_payload_bytes
 * limits.
 */
extern size_t rtpush_wire_size(const char *const *channels, int nchannels,
							   const char *data, size_t datalen);

/*
 * Bytes of the widest HTTP request one outbox row of ev makes alone (POST
 * /events: request line and headers at their widest, the body with the
 * data as sent, JSON-escaped).  What rtpush.max_request_bytes limits.
 */
extern size_t rtpush_request_size(const RtpushEvent *ev);

/*
 * Inserts the event into rtpush.outbox and returns its id.  An event with a
 * private-encrypted- channel among several channels is split into one row
 * per encrypted channel plus one row for the other channels, in order; the
 * id returned is the first one.
 */
extern int64 rtpush_outbox_enqueue(const RtpushEvent *ev);

#endif
