/*-------------------------------------------------------------------------
 * payload.c
 *	  Chooses what an event's "data" is on the wire.  Plain channels get
 *	  the JSON text written by the transaction; private-encrypted- channels
 *	  get Pusher's end-to-end encryption envelope, made with a fresh nonce
 *	  and the channel's shared secret derived from rtpush's master key.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"

#include "crypto.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"

/*
 * With rtpush.event_id_field set, an object payload gets that member first:
 * {"<field>":<id>, ...the queued members...}.  Anything else is left as is.
 */
static void
add_event_id(int64 id, const char **data, size_t *datalen)
{
	const char *p = *data;
	const char *end = *data + *datalen;
	StringInfoData buf;

	if (rtpush_event_id_field == NULL || rtpush_event_id_field[0] == '\0')
		return;
	while (p < end && isspace((unsigned char) *p))
		p++;
	if (p == end || *p != '{')
		return;
	p++;
	while (p < end && isspace((unsigned char) *p))
		p++;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"%s\":" INT64_FORMAT "%s", rtpush_event_id_field, id,
					 (p < end && *p == '}') ? "" : ",");
	appendBinaryStringInfo(&buf, p, end - p);
	*data = buf.data;
	*datalen = buf.len;
}

bool
payload_for_channels(int64 id, char **channels, int nchannels,
					 const char *data, size_t datalen,
					 const char **out, size_t *outlen, const char **why)
{
	unsigned char master[PUSHER_MASTER_KEY_BYTES];
	unsigned char secret[PUSHER_SHARED_SECRET_BYTES];
	StringInfoData buf;
	bool		encrypted = false;

	for (int i = 0; i < nchannels; i++)
		encrypted |= pusher_channel_is_encrypted(channels[i]);
	add_event_id(id, &data, &datalen);
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
