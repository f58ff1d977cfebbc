/*-------------------------------------------------------------------------
 * payload.h
 *	  The data an event carries on the wire: as queued, or encrypted for a
 *	  private-encrypted- channel.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_PAYLOAD_H
#define RTPUSH_PAYLOAD_H

/*
 * Sets *out to the data to send for an event on these channels: the queued
 * JSON text, or for a private-encrypted- channel (always alone: capture
 * splits such events) its encrypted envelope, palloc'd in the current
 * memory context.  Raises an error if it cannot encrypt.
 */
extern void payload_for_channels(char **channels, int nchannels,
								 const char *data, size_t datalen,
								 const char **out, size_t *outlen);

#endif
