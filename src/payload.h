/*-------------------------------------------------------------------------
 * payload.h
 *	  The data an event carries on the wire: as queued, or encrypted for a
 *	  private-encrypted- channel.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PAYLOAD_H
#define RTPUSH_PAYLOAD_H

/*
 * Sets *out to the data to send for event 'id' on these channels: the queued
 * JSON text (with the id member of rtpush.event_id_field added to an object), or for a private-encrypted- channel (always alone: capture
 * splits such events) its encryption envelope, palloc'd in the current
 * memory context.  Returns false with *why set when it must not be sent as
 * is (no valid master key; an encrypted channel beside others): nothing is
 * ever sent in plaintext to an encrypted channel.
 */
extern bool payload_for_channels(int64 id, char **channels, int nchannels,
								 const char *data, size_t datalen,
								 const char **out, size_t *outlen,
								 const char **why);

#endif
