/*-------------------------------------------------------------------------
 * auth_sign.c
 *	  Subscriber authorization in SQL: rtpush.authorize_channel() (private,
 *	  presence and private-encrypted- channels, after auth_rules.c's channel
 *	  rules allow the user) and rtpush.authenticate_user() (user sign-in).
 *
 * Signatures follow Pusher's auth specification byte for byte; the
 * channel_data and user_data strings returned are exactly the bytes signed.
 * The secret is read from rtpush.secret and never printed.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "app.h"
#include "args.h"
#include "auth.h"
#include "crypto.h"
#include "pusher.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_authorize_channel);
PG_FUNCTION_INFO_V1(rtpush_authenticate_user);

/* ERROR unless the channel is one that needs authorization */
static void
check_subscribable(const char *channel)
{
	if (!pusher_channel_is_private(channel) && !pusher_channel_is_presence(channel))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("public channels need no authorization"),
				 errdetail("Channel \"%s\" has neither the \"private-\" nor the \"presence-\" prefix.", channel),
				 errhint("Only private and presence channels are authorized; clients subscribe to public channels directly.")));
}

/*
 * The presence channel_data string: {"user_id":"...","user_info":{...}},
 * compact, user_id always a JSON string.
 */
static char *
presence_channel_data(const char *user_id, Jsonb *user_info)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"user_id\":");
	escape_json(&buf, user_id);
	if (user_info != NULL)
	{
		StringInfoData info;

		if (!JB_ROOT_IS_OBJECT(user_info) || JB_ROOT_IS_SCALAR(user_info))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid presence data: user_info must be a JSON object"),
					 errhint("Pass user_info as an object such as {\"name\": \"Dr. Rivera\"}, or NULL.")));
		initStringInfo(&info);
		rtpush_jsonb_compact(&info, user_info);
		if (info.len > PUSHER_MAX_USER_INFO)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid presence data: user_info too large"),
					 errdetail("The user_info is %d bytes as JSON; Pusher allows at most %d.",
							   info.len, PUSHER_MAX_USER_INFO),
					 errhint("Keep user_info to what other members need to see, such as a display name.")));
		appendStringInfoString(&buf, ",\"user_info\":");
		appendBinaryStringInfo(&buf, info.data, info.len);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static Jsonb *
auth_result(const char *auth, const char *data_key, const char *data,
			const char *shared_secret)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	rtpush_jsonb_put_string(&st, "auth", auth);
	if (data != NULL)
		rtpush_jsonb_put_string(&st, data_key, data);
	if (shared_secret != NULL)
		rtpush_jsonb_put_string(&st, "shared_secret", shared_secret);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* base64 shared secret of a private-encrypted- channel; ERROR 55000 without a usable master key */
static char *
encrypted_shared_secret(const char *channel)
{
	unsigned char master[PUSHER_MASTER_KEY_BYTES];
	const char *why;
	StringInfoData out;
	const RtpushApp *app = rtpush_app();
	const char *master_key = app->master_key;

	if (!pusher_master_key_decode(master_key, master, &why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 master_key[0] == '\0' ?
				 errmsg("rtpush.encryption_master_key is not set") :
				 errmsg("rtpush.encryption_master_key is not the base64 encoding of 32 bytes"),
				 errdetail("Channel \"%s\" is end-to-end encrypted and its subscribers need the shared secret.", channel),
				 app->own ?
				 errhint("This database has its own app: set it again with SELECT rtpush.set_app(..., encryption_master_key => '...').") :
				 errhint("Set a base64 32-byte key with ALTER SYSTEM SET rtpush.encryption_master_key = '...' and SELECT pg_reload_conf().")));
	initStringInfo(&out);
	pusher_shared_secret_base64(&out, channel, master);
	explicit_bzero(master, sizeof(master));
	return out.data;
}

/*
 * rtpush.authorize_channel(socket_id text, channel text, user_id text,
 *							user_info jsonb DEFAULT NULL) RETURNS jsonb
 */
Datum
rtpush_authorize_channel(PG_FUNCTION_ARGS)
{
	char	   *socket_id;
	char	   *channel;
	char	   *user_id;
	char	   *channel_data = NULL;
	char	   *shared_secret = NULL;
	StringInfoData auth;

	rtpush_require_arg(fcinfo, 0, "socket_id");
	rtpush_require_arg(fcinfo, 1, "channel");
	rtpush_require_arg(fcinfo, 2, "user_id");
	socket_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
	user_id = text_to_cstring(PG_GETARG_TEXT_PP(2));

	rtpush_require_credentials(true);
	rtpush_check_socket_id(socket_id);
	rtpush_check_channel(channel);
	check_subscribable(channel);
	rtpush_check_user_id(user_id);
	if (pusher_channel_is_presence(channel))
		channel_data = presence_channel_data(user_id,
											 PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));

	rtpush_enforce_channel_rules(channel, user_id);

	if (pusher_channel_is_encrypted(channel))
		shared_secret = encrypted_shared_secret(channel);

	initStringInfo(&auth);
	pusher_channel_auth(&auth, rtpush_app()->key, rtpush_app()->secret, socket_id, channel, channel_data);
	PG_RETURN_JSONB_P(auth_result(auth.data, "channel_data", channel_data, shared_secret));
}

/* rtpush.authenticate_user(socket_id text, user_data jsonb) RETURNS jsonb */
Datum
rtpush_authenticate_user(PG_FUNCTION_ARGS)
{
	char	   *socket_id;
	Jsonb	   *user_data;
	JsonbValue *id;
	StringInfoData data;
	StringInfoData auth;

	rtpush_require_arg(fcinfo, 0, "socket_id");
	rtpush_require_arg(fcinfo, 1, "user_data");
	socket_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	user_data = PG_GETARG_JSONB_P(1);

	rtpush_require_credentials(true);
	rtpush_check_socket_id(socket_id);
	if (!JB_ROOT_IS_OBJECT(user_data) || JB_ROOT_IS_SCALAR(user_data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid user data: not a JSON object"),
				 errhint("Pass an object such as {\"id\": \"12\", \"user_info\": {...}}.")));
	id = getKeyJsonValueFromContainer(&user_data->root, "id", 2, NULL);
	if (id == NULL || id->type != jbvString || id->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid user data: \"id\" must be a non-empty string"),
				 errhint("Pusher user authentication needs the user's id as a JSON string.")));
	rtpush_check_user_id(pnstrdup(id->val.string.val, id->val.string.len));

	initStringInfo(&data);
	rtpush_jsonb_compact(&data, user_data);
	initStringInfo(&auth);
	pusher_user_auth(&auth, rtpush_app()->key, rtpush_app()->secret, socket_id, data.data);
	PG_RETURN_JSONB_P(auth_result(auth.data, "user_data", data.data, NULL));
}

