/*-------------------------------------------------------------------------
 * payload.c
 *	  Chooses what an event's "data" is on the wire.  Plain channels get
 *	  the JSON text written by the transaction; private-encrypted- channels
 *	  get Pusher's end-to-end encryption envelope, made with a fresh nonce
 *	  and the channel's shared secret derived from rtpush's master key.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "crypto.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"

bool
payload_for_channels(char **channels, int nchannels,
					 const char *data, size_t datalen,
					 const char **out, size_t *outlen, const char **why)
{
	unsigned char master[PUSHER_MASTER_KEY_BYTES];
	unsigned char secret[PUSHER_SHARED_SECRET_BYTES];
	StringInfoData buf;
	bool		encrypted = false;

	for (int i = 0; i < nchannels; i++)
		encrypted |= pusher_channel_is_encrypted(channels[i]);
	*out = data;
	*outlen = datalen;
	if (!encrypted)
		return true;
	if (nchannels != 1)
	{
		*why = "an event for a private-encrypted- channel must have no other channel";
		return false;
	}
	if (!pusher_master_key_decode(rtpush_encryption_master_key, master, why))
	{
		*why = "rtpush.encryption_master_key is missing or malformed";
		return false;
	}
	pusher_shared_secret(channels[0], strlen(channels[0]), master, sizeof(master), secret);
	explicit_bzero(master, sizeof(master));
	initStringInfo(&buf);
	if (!pusher_encrypt(&buf, secret, data, datalen, why))
		return false;
	explicit_bzero(secret, sizeof(secret));
	*out = buf.data;
	*outlen = buf.len;
	return true;
}
