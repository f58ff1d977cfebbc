/*-------------------------------------------------------------------------
 * capture_event.c
 *	  The events the capture trigger queues for a row: the row as a JSON
 *	  payload (row_to_json()'s encoding), the channels its templates make,
 *	  the thin form of a row too large to send, and the enqueue.
 *
 * The payload is the row as a JSON object with row_to_json()'s encoding
 * (numbers and booleans bare, json and jsonb inline, dates in ISO 8601,
 * other scalars as strings; arrays, composites and types with a cast to
 * json through to_json()).  Above rtpush.max_payload_bytes, or when its
 * request alone would be over rtpush.max_request_bytes, rtpush.oversize =
 * error raises an error, thin queues {"table","op","id","oversize":true}.
 *
 * `changed` compares with the type's default equality operator, as IS
 * DISTINCT FROM does; types without one (json, point, ...) compare by
 * binary image (datum_image_eq), where a difference counts as a change.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/json.h"

#include "args.h"
#include "capture.h"
#include "compat.h"
#include "outbox.h"
#include "pusher.h"
#include "settings.h"

void
capture_append_json_value(StringInfo buf, OutCol *c, Datum v)
{
	char	   *s;
	char		dt[MAXDATELEN + 1];

	switch (c->kind)
	{
		case JK_NUMBER:
			if (rtpush_append_int(buf, c->basetype, v))
				break;
			s = OutputFunctionCall(&c->fn, v);
			if (IsValidJsonNumber(s, strlen(s)))
				appendStringInfoString(buf, s);
			else
				escape_json(buf, s);
			break;
		case JK_BOOL:
			appendStringInfoString(buf, DatumGetBool(v) ? "true" : "false");
			break;
		case JK_DATETIME:
			JsonEncodeDateTime(dt, v, c->basetype, NULL);
			appendStringInfo(buf, "\"%s\"", dt);
			break;
		case JK_JSON:
			appendStringInfoString(buf, OutputFunctionCall(&c->fn, v));
			break;
		case JK_STRING:
			escape_json(buf, OutputFunctionCall(&c->fn, v));
			break;
		case JK_TO_JSON:
			s = TextDatumGetCString(FunctionCall1(&c->fn, v));
			appendStringInfoString(buf, s);
			break;
	}
}

void
capture_append_json_object(StringInfo buf, OutCol *cols, int n, TupleTableSlot *row)
{
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		v = slot_getattr(row, cols[i].attnum, &isnull);

		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, cols[i].key);
		if (isnull)
			appendStringInfoString(buf, "null");
		else
			capture_append_json_value(buf, &cols[i], v);
	}
	appendStringInfoChar(buf, '}');
}

/* true when a column IS DISTINCT FROM its old value */
bool
capture_columns_differ(ChangedCol *cols, int n, TupleTableSlot *oldrow,
					   TupleTableSlot *newrow)
{
	for (int i = 0; i < n; i++)
	{
		ChangedCol *c = &cols[i];
		bool		oldnull;
		bool		newnull;
		Datum		o = slot_getattr(oldrow, c->attnum, &oldnull);
		Datum		n = slot_getattr(newrow, c->attnum, &newnull);

		if (oldnull || newnull)
		{
			if (oldnull != newnull)
				return true;
			continue;
		}
		if (c->has_eq)
		{
			if (!DatumGetBool(FunctionCall2Coll(&c->eq, c->collation, o, n)))
				return true;
		}
		else if (!datum_image_eq(o, n, c->byval, c->typlen))
			return true;
	}
	return false;
}

/*
 * Expands the templates; returns the number of channels (NULLs dropped).
 * An invalid channel name is an ERROR when strict, else left out (the
 * channels of an old row, which may predate the trigger).
 */
int
capture_expand_channels(Capture *cap, TupleTableSlot *row, const char **channels,
						bool strict)
{
	int			n = 0;
	StringInfoData buf;
	const char *why;

	initStringInfo(&buf);
	for (int t = 0; t < cap->ntemplates; t++)
	{
		Template   *tp = &cap->templates[t];
		bool		dropped = false;

		resetStringInfo(&buf);
		for (int s = 0; s < tp->nsegs && !dropped; s++)
		{
			Segment    *sg = &tp->segs[s];
			bool		isnull;
			Datum		v;

			if (sg->literal)
			{
				appendBinaryStringInfo(&buf, sg->literal, sg->len);
				continue;
			}
			v = slot_getattr(row, sg->attnum, &isnull);
			if (isnull)
				dropped = true;
			else
				channel_render_append(&buf, &sg->render, v);
		}
		if (dropped || (!strict && !pusher_valid_channel(buf.data, buf.len, &why)))
			continue;
		rtpush_check_template_channel(buf.data, tp->text, tp->columns, tp->ncolumns);
		for (int i = 0; i < n; i++)
			if (strcmp(channels[i], buf.data) == 0)
				dropped = true;
		if (!dropped)
			channels[n++] = pstrdup(buf.data);
	}
	pfree(buf.data);
	return n;
}

/* the event queued for data on these channels */
static RtpushEvent
capture_event_of(const char *event, const char **channels, int nchannels, StringInfo data)
{
	RtpushEvent ev;

	ev.event = event;
	ev.channels = channels;
	ev.nchannels = nchannels;
	ev.data = data->data;
	ev.datalen = data->len;
	ev.socket_id = rtpush_writer_socket_id(NULL);
	return ev;
}

static void
thin_payload(Capture *cap, StringInfo buf, TupleTableSlot *row, TriggerEvent tev,
			 const char *old_key, size_t size, const char **channels, int n)
{
	const char *event = capture_op_event(cap, tev);
	RtpushEvent ev;
	size_t		request;

	resetStringInfo(buf);
	appendStringInfoString(buf, "{\"table\":");
	escape_json(buf, cap->relname);
	appendStringInfo(buf, ",\"op\":\"%s\",\"id\":", capture_op_name(tev));
	if (cap->nids == 0)
		appendStringInfoString(buf, "null");
	else if (cap->nids == 1)
	{
		bool		isnull;
		Datum		v = slot_getattr(row, cap->ids[0].attnum, &isnull);

		if (isnull)
			appendStringInfoString(buf, "null");
		else
			capture_append_json_value(buf, &cap->ids[0], v);
	}
	else
		capture_append_json_object(buf, cap->ids, cap->nids, row);
	if (old_key)
		appendStringInfo(buf, ",\"rtpush_old_key\":%s", old_key);
	appendStringInfoString(buf, ",\"oversize\":true}");
	ev = capture_event_of(event, channels, n, buf);
	if ((request = rtpush_request_size(&ev)) > (size_t) rtpush_max_request_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row of \"%s\" is too large for an event, even thin", cap->relname),
				 errdetail("Event \"%s\": the row has %zu bytes of data and the request of its thin form would take up to %zu bytes; rtpush.max_request_bytes is %d.",
						   event, size, request, rtpush_max_request_bytes),
				 errhint("Use fewer or shorter channels, or raise rtpush.max_request_bytes if the server accepts larger requests.")));
	if (buf->len > rtpush_max_payload_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row of \"%s\" is too large for an event, even thin", cap->relname),
				 errdetail("Event \"%s\": the row has %zu bytes of data and its thin form %d; rtpush.max_payload_bytes is %d.",
						   event, size, buf->len, rtpush_max_payload_bytes),
				 errhint("Raise rtpush.max_payload_bytes.")));
}

void
capture_enqueue(Capture *cap, const char *event, const char **channels,
				int nchannels, StringInfo data)
{
	RtpushEvent ev = capture_event_of(event, channels, nchannels, data);

	rtpush_outbox_enqueue(&ev);
}

/*
 * Queues the event for row on its channels: the row's payload, with
 * "rtpush_op" (include_op=true) and "rtpush_old_key" (old_key: the old
 * key's JSON when an UPDATE changed the key), thin when too large.
 */
void
capture_send_row(Capture *cap, TriggerEvent tev, TupleTableSlot *row,
				 const char **channels, int n, const char *old_key)
{
	const char *event = capture_op_event(cap, tev);
	StringInfoData data;
	size_t		wire;
	size_t		request;
	RtpushEvent ev;

	initStringInfo(&data);
	capture_append_json_object(&data, cap->cols, cap->ncols, row);
	if (cap->ops.include_op)
	{
		capture_payload_member(&data, "rtpush_op");
		appendStringInfo(&data, "\"%s\"}", capture_op_name(tev));
	}
	if (old_key)
	{
		capture_payload_member(&data, "rtpush_old_key");
		appendStringInfo(&data, "%s}", old_key);
	}
	wire = rtpush_wire_size(channels, n, data.data, data.len);
	if (wire > (size_t) rtpush_max_payload_bytes)
	{
		if (rtpush_oversize != RTPUSH_OVERSIZE_THIN)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("row of \"%s\" is too large for an event", cap->relname),
					 wire == (size_t) data.len ?
					 errdetail("Event \"%s\" would carry %d bytes of data; rtpush.max_payload_bytes is %d.",
							   event, data.len, rtpush_max_payload_bytes) :
					 errdetail("Event \"%s\" would carry %d bytes of data, %zu as sent (encrypted, or with the members rtpush adds: rtpush.event_id_field, history); rtpush.max_payload_bytes is %d.",
							   event, data.len, wire, rtpush_max_payload_bytes),
					 errhint("Send fewer columns with columns=..., or SET rtpush.oversize = thin to send {\"table\",\"op\",\"id\",\"oversize\":true} so clients refetch.")));
		thin_payload(cap, &data, row, tev, old_key, data.len, channels, n);
	}
	else if ((ev = capture_event_of(event, channels, n, &data),
			  request = rtpush_request_size(&ev)) > (size_t) rtpush_max_request_bytes)
	{
		if (rtpush_oversize != RTPUSH_OVERSIZE_THIN)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("row of \"%s\" is too large for an event", cap->relname),
					 errdetail("Event \"%s\" would carry %d bytes of data; its request would take up to %zu bytes (request line, headers, channels and the data as sent, JSON-escaped); rtpush.max_request_bytes is %d.",
							   event, data.len, request, rtpush_max_request_bytes),
					 errhint("Send fewer columns with columns=..., raise rtpush.max_request_bytes if the server accepts larger requests, or SET rtpush.oversize = thin to send {\"table\",\"op\",\"id\",\"oversize\":true} so clients refetch.")));
		thin_payload(cap, &data, row, tev, old_key, data.len, channels, n);
	}
	capture_enqueue(cap, event, channels, n, &data);
}

