/*-------------------------------------------------------------------------
 * pusher_body.c
 *	  Pusher HTTP API request bodies: JSON string escaping and the bodies
 *	  of POST /apps/{id}/events and /apps/{id}/batch_events.
 *
 * Pure C, no SQL, curl or ereport.  Builds in the backend and, with
 * -DFRONTEND, in test/unit.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "pusher_body.h"

void
pusher_json_string(StringInfo buf, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		run = 0;		/* start of the pending unescaped run */

	appendStringInfoCharMacro(buf, '"');
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		const char *esc = NULL;
		char		ubuf[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			default:
				ubuf[0] = '\\';
				ubuf[1] = 'u';
				ubuf[2] = '0';
				ubuf[3] = '0';
				ubuf[4] = hex[c >> 4];
				ubuf[5] = hex[c & 0x0f];
				ubuf[6] = '\0';
				esc = ubuf;
				break;
		}
		appendBinaryStringInfo(buf, s + run, (int) (i - run));
		appendStringInfoString(buf, esc);
		run = i + 1;
	}
	appendBinaryStringInfo(buf, s + run, (int) (len - run));
	appendStringInfoCharMacro(buf, '"');
}

size_t
pusher_json_string_size(const char *s, size_t len)
{
	size_t		size = len + 2;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			size += 1;			/* a two-character escape */
		else if (c < 0x20)
			size += 5;			/* \u00XX */
	}
	return size;
}

/* ,"data":<data_size> and ,"socket_id":"..." when there is one */
static size_t
data_and_socket_size(size_t data_size, const char *socket_id)
{
	size_t		size = strlen(",\"data\":") + data_size;

	if (socket_id != NULL)
		size += strlen(",\"socket_id\":") + pusher_json_string_size(socket_id, strlen(socket_id));
	return size;
}

size_t
pusher_events_body_size(const char *name, const char *const *channels, int nchannels,
						const char *socket_id, size_t data_size)
{
	size_t		size = strlen("{\"name\":,\"channels\":[]}") + pusher_json_string_size(name, strlen(name));

	for (int i = 0; i < nchannels; i++)
		size += (i > 0) + pusher_json_string_size(channels[i], strlen(channels[i]));
	return size + data_and_socket_size(data_size, socket_id);
}

size_t
pusher_batch_item_size(const char *name, const char *channel, const char *socket_id,
					   size_t data_size)
{
	return strlen("{\"name\":,\"channel\":}") + pusher_json_string_size(name, strlen(name)) +
		pusher_json_string_size(channel, strlen(channel)) +
		data_and_socket_size(data_size, socket_id);
}

static void
append_data_and_socket(StringInfo buf, const PusherEvent *ev)
{
	appendStringInfoString(buf, ",\"data\":");
	pusher_json_string(buf, ev->data ? ev->data : "", ev->data ? ev->datalen : 0);
	if (ev->socket_id != NULL)
	{
		appendStringInfoString(buf, ",\"socket_id\":");
		pusher_json_string(buf, ev->socket_id, strlen(ev->socket_id));
	}
}

void
pusher_events_body(StringInfo buf, const PusherEvent *ev)
{
	appendStringInfoString(buf, "{\"name\":");
	pusher_json_string(buf, ev->name, strlen(ev->name));
	appendStringInfoString(buf, ",\"channels\":[");
	for (int i = 0; i < ev->nchannels; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(buf, ',');
		pusher_json_string(buf, ev->channels[i], strlen(ev->channels[i]));
	}
	appendStringInfoCharMacro(buf, ']');
	append_data_and_socket(buf, ev);
	appendStringInfoCharMacro(buf, '}');
}

void
pusher_batch_body(StringInfo buf, const PusherEvent *evs, int n)
{
	Assert(n >= 0 && n <= PUSHER_MAX_BATCH);
	appendStringInfoString(buf, "{\"batch\":[");
	for (int i = 0; i < n; i++)
	{
		const PusherEvent *ev = &evs[i];

		Assert(ev->nchannels == 1);
		if (i > 0)
			appendStringInfoCharMacro(buf, ',');
		appendStringInfoString(buf, "{\"name\":");
		pusher_json_string(buf, ev->name, strlen(ev->name));
		appendStringInfoString(buf, ",\"channel\":");
		pusher_json_string(buf, ev->channels[0], strlen(ev->channels[0]));
		append_data_and_socket(buf, ev);
		appendStringInfoCharMacro(buf, '}');
	}
	appendStringInfoString(buf, "]}");
}

