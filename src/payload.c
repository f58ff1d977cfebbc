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

#include "app.h"
#include "crypto.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"

/*
 * The members rtpush adds first to an object payload: rtpush.event_id_field's
 * (when set) with the outbox id, and with a history position (history on)
 * "rtpush_id" and "rtpush_position", the position as a string: it is opaque
 * to clients and larger than a JavaScript number holds exactly.  Anything
 * but an object is left as is.
 */
void
payload_plain(int64 id, int64 position, const char *data, size_t datalen,
			  const char **out, size_t *outlen)
{
	const char *p = data;
	const char *end = data + datalen;
	bool		field = rtpush_event_id_field != NULL && rtpush_event_id_field[0] != '\0';
	StringInfoData buf;

	*out = data;
	*outlen = datalen;
	if (!field && position == 0)
		return;
	while (p < end && isspace((unsigned char) *p))
		p++;
	if (p == end || *p != '{')
		return;
	p++;
	while (p < end && isspace((unsigned char) *p))
		p++;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (field && !(position != 0 && strcmp(rtpush_event_id_field, PAYLOAD_ID_MEMBER) == 0))
		appendStringInfo(&buf, "\"%s\":" INT64_FORMAT ",", rtpush_event_id_field, id);
	if (position != 0)
		appendStringInfo(&buf, "\"" PAYLOAD_ID_MEMBER "\":" INT64_FORMAT ",\"" PAYLOAD_POSITION_MEMBER "\":\"" INT64_FORMAT "\",",
						 id, position);
	if (p < end && *p == '}')
		buf.len--;				/* no queued member: drop the last comma */
	appendBinaryStringInfo(&buf, p, end - p);
	*out = buf.data;
	*outlen = buf.len;
}

size_t
payload_string_size(char **channels, int nchannels, const char *plain, size_t plainlen)
{
	bool		encrypted = false;

	for (int i = 0; i < nchannels; i++)
		encrypted |= pusher_channel_is_encrypted(channels[i]);
	return encrypted ? pusher_envelope_string_size(plainlen) : pusher_json_string_size(plain, plainlen);
}

bool
payload_for_channels(char **channels, int nchannels, const char *data, size_t datalen,
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
	if (!pusher_master_key_decode(rtpush_app()->master_key, master, why))
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
