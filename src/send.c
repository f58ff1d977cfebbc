/*-------------------------------------------------------------------------
 * send.c
 *	  rtpush.send(): queue one event from SQL, in the caller's transaction.
 *
 *	  rtpush.send(channels text[], event text, data jsonb, socket_id text)
 *	  rtpush.send(channel text, event text, data jsonb, socket_id text)
 *
 * Both return the outbox id.  socket_id NULL means the rtpush.socket_id
 * setting when it is not empty.  Data is stored as the jsonb's text and
 * must fit in rtpush.max_payload_bytes, its request alone in
 * rtpush.max_request_bytes (rtpush.oversize = thin applies to
 * triggers only: a hand-made event has no row to point at).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "args.h"
#include "outbox.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_send);
PG_FUNCTION_INFO_V1(rtpush_send_one);

static bool
already_listed(const char **channels, int n, const char *channel)
{
	for (int i = 0; i < n; i++)
		if (strcmp(channels[i], channel) == 0)
			return true;
	return false;
}

/* the channels of a text[]: one dimension, no NULLs, valid names, each once */
static const char **
array_channels(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	const char **channels;
	int			kept = 0;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("channels must be a one-dimensional array"),
				 errhint("Pass channels as '{a,b}' or ARRAY['a','b'].")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	rtpush_check_channel_count(*n);
	channels = palloc(sizeof(char *) * *n);
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("channel names must not be null"),
					 errdetail("Element %d of the channels array is null.", i + 1),
					 errhint("Remove the null element.")));
		channels[kept] = TextDatumGetCString(elems[i]);
		rtpush_check_channel(channels[kept]);
		if (!already_listed(channels, kept, channels[kept]))
			kept++;				/* a repeated channel is sent once */
	}
	*n = kept;
	return channels;
}

static int64
send_event(FunctionCallInfo fcinfo, const char **channels, int nchannels)
{
	RtpushEvent ev;
	Jsonb	   *data;
	char	   *json;
	size_t		wire;
	size_t		request;

	rtpush_require_arg(fcinfo, 1, "event");
	rtpush_require_arg(fcinfo, 2, "data");
	ev.event = text_to_cstring(PG_GETARG_TEXT_PP(1));
	rtpush_check_event(ev.event);
	ev.socket_id = rtpush_writer_socket_id(PG_ARGISNULL(3) ? NULL :
										   text_to_cstring(PG_GETARG_TEXT_PP(3)));

	data = PG_GETARG_JSONB_P(2);
	json = JsonbToCString(NULL, &data->root, VARSIZE(data));
	ev.data = json;
	ev.datalen = strlen(json);
	wire = rtpush_wire_size(channels, nchannels, ev.data, ev.datalen);
	if (wire > (size_t) rtpush_max_payload_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("event data is too large"),
				 wire == ev.datalen ?
				 errdetail("Event \"%s\" has %zu bytes of data; rtpush.max_payload_bytes is %d.",
						   ev.event, ev.datalen, rtpush_max_payload_bytes) :
				 errdetail("Event \"%s\" has %zu bytes of data, %zu as sent (encrypted, or with the members rtpush adds: rtpush.event_id_field, history); rtpush.max_payload_bytes is %d.",
						   ev.event, ev.datalen, wire, rtpush_max_payload_bytes),
				 errhint("Send less data, for example an id that clients use to fetch the rest.")));
	ev.channels = channels;
	ev.nchannels = nchannels;
	request = rtpush_request_size(&ev);
	if (request > (size_t) rtpush_max_request_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("event data is too large"),
				 errdetail("Event \"%s\" has %zu bytes of data; its request would take up to %zu bytes (request line, headers, channels and the data as sent, JSON-escaped); rtpush.max_request_bytes is %d.",
						   ev.event, ev.datalen, request, rtpush_max_request_bytes),
				 errhint("Send less data or fewer channels, or raise rtpush.max_request_bytes if the server accepts larger requests.")));
	return rtpush_outbox_enqueue(&ev);
}

Datum
rtpush_send(PG_FUNCTION_ARGS)
{
	const char **channels;
	int			n;

	rtpush_require_arg(fcinfo, 0, "channels");
	channels = array_channels(PG_GETARG_ARRAYTYPE_P(0), &n);
	PG_RETURN_INT64(send_event(fcinfo, channels, n));
}

Datum
rtpush_send_one(PG_FUNCTION_ARGS)
{
	const char *channel;

	rtpush_require_arg(fcinfo, 0, "channel");
	channel = text_to_cstring(PG_GETARG_TEXT_PP(0));
	rtpush_check_channel(channel);
	PG_RETURN_INT64(send_event(fcinfo, &channel, 1));
}
