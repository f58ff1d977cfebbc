/*-------------------------------------------------------------------------
 * payload.h
 *	  The data an event carries on the wire: as queued, or encrypted for a
 *	  private-encrypted- channel.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PAYLOAD_H
#define RTPUSH_PAYLOAD_H

/* the members history adds to an object payload */
#define PAYLOAD_ID_MEMBER "rtpush_id"
#define PAYLOAD_POSITION_MEMBER "rtpush_position"
/* their size at most: "rtpush_id":<int64>,"rtpush_position":"<int64>", */
#define PAYLOAD_HISTORY_MEMBERS_MAX (sizeof(PAYLOAD_ID_MEMBER) + sizeof(PAYLOAD_POSITION_MEMBER) + 2 * 20 + 10)

/*
 * Sets *out to the plaintext data of event 'id' as clients get it: the
 * queued JSON text, and for an object the members rtpush adds first
 * (rtpush.event_id_field's; with a history position, rtpush_id and
 * rtpush_position).  *out is the queued text itself when nothing is added,
 * else palloc'd in the current memory context.
 */
extern void payload_plain(int64 id, int64 position, const char *data, size_t datalen,
						  const char **out, size_t *outlen);

/*
 * The size of an event's data as sent, as a JSON string in a request body
 * (quotes and escapes included), computed without encrypting; plain is its
 * payload_plain() text.
 */
extern size_t payload_string_size(char **channels, int nchannels,
								  const char *plain, size_t plainlen);

/*
 * Sets *out to the data to send for an event on these channels: its
 * payload_plain() text plain, or for a private-encrypted- channel (always alone: capture
 * splits such events) its encryption envelope, palloc'd in the current
 * memory context.  Returns false with *why set when it must not be sent as
 * is (no valid master key; an encrypted channel beside others): nothing is
 * ever sent in plaintext to an encrypted channel.
 */
extern bool payload_for_channels(char **channels, int nchannels,
								 const char *plain, size_t plainlen,
								 const char **out, size_t *outlen,
								 const char **why);

#endif
