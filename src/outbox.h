/*-------------------------------------------------------------------------
 * outbox.h
 *	  The write side of the outbox: checks of what an event may hold, and
 *	  the only code that inserts into rtpush.outbox.
 *
 * rtpush.send() and the capture triggers validate an event with the
 * checks below (each raises a PostgreSQL-style ERROR), then call
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

/* ERROR unless 'event' is a valid Pusher event name */
extern void rtpush_check_event(const char *event);

/*
 * ERROR unless 'channel' is a valid Pusher channel name.  'column', when
 * not NULL, says which values made the channel ("the value of column
 * \"x\""), and 'template' names the template, for the error's detail.
 */
extern void rtpush_check_channel(const char *channel, const char *template,
								 const char *column);

/* ERROR unless 1 <= n <= PUSHER_MAX_CHANNELS */
extern void rtpush_check_channel_count(int n);

/*
 * The socket id to exclude: 'given' when not NULL, else the rtpush.socket_id
 * setting when not empty, else NULL.  ERROR if the one chosen is malformed.
 */
extern const char *rtpush_writer_socket_id(const char *given);

/*
 * Bytes of "data" Pusher will see for these channels: the JSON text, plus
 * the rtpush.event_id_field member if set, inside the encryption envelope
 * when a channel is private-encrypted-.  What rtpush.max_payload_bytes
 * limits.
 */
extern size_t rtpush_wire_size(const char *const *channels, int nchannels,
							   const char *data, size_t datalen);

/*
 * Inserts the event into rtpush.outbox and returns its id.  An event with a
 * private-encrypted- channel among several channels is split into one row
 * per encrypted channel plus one row for the other channels, in order; the
 * id returned is the first one.
 */
extern int64 rtpush_outbox_enqueue(const RtpushEvent *ev);

#endif
