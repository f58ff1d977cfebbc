/*-------------------------------------------------------------------------
 * args.c
 *	  The argument checks shared by rtpush.send(), the capture triggers and
 *	  the subscriber authorization functions: one place, one message and
 *	  one hint for each kind of bad value (see args.h).
 *
 * The rules themselves are the Pusher protocol's and live in pusher_names.c
 * (pure C); this module turns their verdicts into errors.  Their reasons are
 * complete sentences, each the error's detail; the message names the value.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "args.h"
#include "pusher.h"
#include "settings.h"

#define CHANNEL_HINT \
	"Channel names are at most %d characters of A-Z a-z 0-9 _ - = @ , . ; and do not start with \"#\"."
#define SOCKET_ID_HINT \
	"A socket id is two numbers joined by a dot, such as \"123.456\": the connection.socket_id that pusher-js reports and sends to the auth endpoint."

void
rtpush_require_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", name),
				 errhint("Pass a non-null value as \"%s\".", name)));
}

void
rtpush_check_event(const char *event)
{
	const char *why;

	if (event == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event name must not be null"),
				 errhint("Pass an event name such as \"message-sent\".")));
	if (!pusher_valid_event(event, strlen(event), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid event name \"%s\"", event),
				 errdetail("%s", why),
				 errhint("Use a non-empty name of at most %d characters.",
						 PUSHER_MAX_EVENT_LEN)));
}

void
rtpush_check_channel(const char *channel)
{
	const char *why;

	if (!pusher_valid_channel(channel, strlen(channel), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid channel name \"%s\"", channel),
				 errdetail("%s", why),
				 errhint(CHANNEL_HINT, PUSHER_MAX_CHANNEL_LEN)));
}

void
rtpush_check_template_channel(const char *channel, const char *template,
							  const char *columns, int ncolumns)
{
	const char *why;

	if (!pusher_valid_channel(channel, strlen(channel), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid channel name \"%s\" from template \"%s\"", channel, template),
				 errdetail("%s", why),
				 ncolumns == 1 ?
				 errhint(CHANNEL_HINT " Make the values of column %s fit, or use another column.",
						 PUSHER_MAX_CHANNEL_LEN, columns) :
				 errhint(CHANNEL_HINT " Make the values of columns %s fit, or use other columns.",
						 PUSHER_MAX_CHANNEL_LEN, columns)));
}

void
rtpush_check_channel_count(int n)
{
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an event needs at least one channel"),
				 errhint("Pass one or more channel names.")));
	if (n > PUSHER_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many channels for one event"),
				 errdetail("The event has %d channels; Pusher accepts at most %d.",
						   n, PUSHER_MAX_CHANNELS),
				 errhint("Send several events, or use fewer channels.")));
}

void
rtpush_check_socket_id(const char *sid)
{
	const char *why;

	if (!pusher_valid_socket_id(sid, strlen(sid), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid socket id \"%s\"", sid),
				 errdetail("%s", why),
				 errhint(SOCKET_ID_HINT)));
}

const char *
rtpush_writer_socket_id(const char *given)
{
	const char *why;

	if (given != NULL)
	{
		rtpush_check_socket_id(given);
		return given;
	}
	if (rtpush_socket_id == NULL || rtpush_socket_id[0] == '\0')
		return NULL;
	if (!pusher_valid_socket_id(rtpush_socket_id, strlen(rtpush_socket_id), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid socket id \"%s\" in rtpush.socket_id", rtpush_socket_id),
				 errdetail("%s", why),
				 errhint(SOCKET_ID_HINT)));
	return rtpush_socket_id;
}

void
rtpush_check_user_id(const char *user_id)
{
	size_t		len = strlen(user_id);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid user id"),
				 errdetail("The user id is empty."),
				 errhint("Pass the id of the signed-in user.")));
	if (len > PUSHER_MAX_USER_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid user id"),
				 errdetail("The user id has %zu bytes; Pusher allows at most %d.",
						   len, PUSHER_MAX_USER_ID_LEN),
				 errhint("Pass the id of the signed-in user.")));
}
