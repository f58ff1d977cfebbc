/*-------------------------------------------------------------------------
 * auth.c
 *	  What the subscriber authorization functions (auth_sign.c, auth_rules.c)
 *	  and the webhook verification (webhook.c) share: the credentials check
 *	  and the jsonb helpers; and rtpush.client_config(), what a browser
 *	  needs to connect (never the secret).
 *
 * Signatures follow Pusher's specification byte for byte, so JSON that is
 * signed is written compact (rtpush_jsonb_compact), as JSON.stringify
 * writes it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "app.h"
#include "auth.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_client_config);

void
rtpush_require_credentials(bool need_secret)
{
	const RtpushApp *app = rtpush_app();

	if (app->key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush.key is not set"),
				 errhint("Set this database's app with SELECT rtpush.set_app(...), or the cluster's key with ALTER SYSTEM SET rtpush.key = '...' and SELECT pg_reload_conf().")));
	if (need_secret && app->secret[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush.secret is not set"),
				 errhint("Set this database's app with SELECT rtpush.set_app(...), or the cluster's secret with ALTER SYSTEM SET rtpush.secret = '...' and SELECT pg_reload_conf().")));
}

static void
compact_scalar(StringInfo out, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			appendStringInfoString(out, "null");
			break;
		case jbvBool:
			appendStringInfoString(out, v->val.boolean ? "true" : "false");
			break;
		case jbvNumeric:
			appendStringInfoString(out,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvString:
			escape_json(out, pnstrdup(v->val.string.val, v->val.string.len));
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

void
rtpush_jsonb_compact(StringInfo out, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbIteratorToken tok;
	JsonbValue	v;
	bool		comma = false;	/* a value was completed in this container */
	bool		raw = false;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (v.val.array.rawScalar)
				{
					raw = true;
					break;
				}
				/* FALLTHROUGH */
			case WJB_BEGIN_OBJECT:
				if (comma)
					appendStringInfoChar(out, ',');
				appendStringInfoChar(out, tok == WJB_BEGIN_OBJECT ? '{' : '[');
				comma = false;
				break;
			case WJB_KEY:
				if (comma)
					appendStringInfoChar(out, ',');
				compact_scalar(out, &v);
				appendStringInfoChar(out, ':');
				comma = false;
				break;
			case WJB_ELEM:
				if (comma)
					appendStringInfoChar(out, ',');
				/* FALLTHROUGH */
			case WJB_VALUE:
				compact_scalar(out, &v);
				comma = true;
				break;
			case WJB_END_ARRAY:
				if (raw)
					break;
				/* FALLTHROUGH */
			case WJB_END_OBJECT:
				appendStringInfoChar(out, tok == WJB_END_OBJECT ? '}' : ']');
				comma = true;
				break;
			default:
				break;
		}
	}
}

void
rtpush_jsonb_put_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* pushes "key": v into the object being built */
static void
put_value(JsonbParseState **st, const char *key, JsonbValue *v)
{
	rtpush_jsonb_put_key(st, key);
	pushJsonbValue(st, WJB_VALUE, v);
}

void
rtpush_jsonb_put_string(JsonbParseState **st, const char *key, const char *val)
{
	JsonbValue	v;

	if (val == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) val;
		v.val.string.len = strlen(val);
	}
	put_value(st, key, &v);
}

void
rtpush_jsonb_put_bool(JsonbParseState **st, const char *key, bool val)
{
	JsonbValue	v;

	v.type = jbvBool;
	v.val.boolean = val;
	put_value(st, key, &v);
}

static void
put_int(JsonbParseState **st, const char *key, int64 val)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(val);
	put_value(st, key, &v);
}

/* Do clients connect with TLS?  rtpush.ws_tls, or as rtpush.scheme. */
static bool
client_tls(const RtpushApp *app)
{
	if (rtpush_ws_tls == RTPUSH_WS_TLS_AUTO)
		return strcmp(app->scheme, "https") == 0;
	return rtpush_ws_tls == RTPUSH_WS_TLS_ON;
}

/* rtpush.client_config(user_id text) RETURNS jsonb: never the secret */
Datum
rtpush_client_config(PG_FUNCTION_ARGS)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	const RtpushApp *app = rtpush_app();
	const char *ws_host = rtpush_ws_host && rtpush_ws_host[0] ? rtpush_ws_host : app->host;

	rtpush_require_credentials(false);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	rtpush_jsonb_put_string(&st, "key", app->key);
	rtpush_jsonb_put_string(&st, "cluster", app->cluster);
	rtpush_jsonb_put_bool(&st, "forceTLS", client_tls(app));
	if (!PG_ARGISNULL(0))
		rtpush_jsonb_put_string(&st, "user_id", text_to_cstring(PG_GETARG_TEXT_PP(0)));
	rtpush_jsonb_put_string(&st, "auth_endpoint", rtpush_auth_endpoint ? rtpush_auth_endpoint : "");
	if (ws_host[0])
	{
		int			port = rtpush_ws_port > 0 ? rtpush_ws_port : rtpush_app_port(app);

		rtpush_jsonb_put_string(&st, "wsHost", ws_host);
		put_int(&st, "wsPort", port);
		put_int(&st, "wssPort", port);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

