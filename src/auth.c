/*-------------------------------------------------------------------------
 * auth.c
 *	  Subscriber authorization in SQL: rtpush.authorize_channel(),
 *	  rtpush.authenticate_user(), rtpush.client_config(), and the channel
 *	  rules that decide, deny by default, who may subscribe to what
 *	  (rtpush.channel_rules; rtpush.match_channel() and
 *	  rtpush.pattern_placeholders() for the rules' validation and tests).
 *
 * A private or presence channel is authorized only when at least one rule's
 * pattern matches the whole channel name and every matching rule allows the
 * user.  'owner' rules compare one captured segment (owner_capture) with
 * the user id as whole strings; other rules call a SQL function
 * (user_id text, captures jsonb) RETURNS boolean as the calling role.
 * Signatures follow Pusher's auth specification byte for byte; the
 * channel_data and user_data strings returned are exactly the bytes signed.
 * The secret is read from rtpush.secret and never printed.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

#include "auth.h"
#include "compat.h"
#include "crypto.h"
#include "pusher.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_authorize_channel);
PG_FUNCTION_INFO_V1(rtpush_authenticate_user);
PG_FUNCTION_INFO_V1(rtpush_client_config);
PG_FUNCTION_INFO_V1(rtpush_match_channel);
PG_FUNCTION_INFO_V1(rtpush_pattern_placeholders);

/* one {name} = value captured by a pattern */
typedef struct Capture
{
	char	   *name;
	char	   *value;
} Capture;

/* one row of rtpush.channel_rules */
typedef struct Rule
{
	char	   *pattern;
	char	   *rule;
	char	   *owner_capture;	/* owner rules */
	Oid			fn;				/* function rules */
} Rule;

/* ---------------------------------------------------------------- */
/* credentials and JSON helpers                                      */
/* ---------------------------------------------------------------- */

void
rtpush_require_credentials(bool need_secret)
{
	if (rtpush_key == NULL || rtpush_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush.key is not set"),
				 errhint("Set the app key with ALTER SYSTEM SET rtpush.key = '...' and SELECT pg_reload_conf().")));
	if (need_secret && (rtpush_secret == NULL || rtpush_secret[0] == '\0'))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush.secret is not set"),
				 errhint("Set the app secret with ALTER SYSTEM SET rtpush.secret = '...' and SELECT pg_reload_conf().")));
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

/* pushes "key": v into the object being built */
static void
put_value(JsonbParseState **st, const char *key, JsonbValue *v)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	pushJsonbValue(st, WJB_VALUE, v);
}

static void
put_string(JsonbParseState **st, const char *key, const char *val)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) val;
	v.val.string.len = strlen(val);
	put_value(st, key, &v);
}

static void
put_bool(JsonbParseState **st, const char *key, bool val)
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

/* ---------------------------------------------------------------- */
/* input validation                                                  */
/* ---------------------------------------------------------------- */

static void
check_socket_id(const char *sid)
{
	const char *why = NULL;

	if (!pusher_valid_socket_id(sid, strlen(sid), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid socket id"),
				 errdetail("Socket id \"%s\" %s.", sid,
						   why ? why : "is not two numbers joined by a dot"),
				 errhint("Pass the socket_id that pusher-js sent to the auth endpoint.")));
}

static void
check_channel(const char *channel)
{
	const char *why = NULL;

	if (!pusher_valid_channel(channel, strlen(channel), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid channel name"),
				 errdetail("Channel \"%s\" %s.", channel,
						   why ? why : "breaks Pusher's channel name rules"),
				 errhint("Channel names are at most 164 characters of A-Z a-z 0-9 _ - = @ , . ; and do not start with \"#\".")));
	if (!pusher_channel_is_private(channel) && !pusher_channel_is_presence(channel))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("public channels need no authorization"),
				 errdetail("Channel \"%s\" has neither the \"private-\" nor the \"presence-\" prefix.", channel),
				 errhint("Only private and presence channels are authorized; clients subscribe to public channels directly.")));
}

static void
check_user_id(const char *user_id, const char *what)
{
	if (user_id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: empty user id", what),
				 errhint("Pass the id of the signed-in user.")));
	if (strlen(user_id) > PUSHER_MAX_USER_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: user id too long", what),
				 errdetail("The user id has %zu bytes; Pusher allows at most %d.",
						   strlen(user_id), PUSHER_MAX_USER_ID_LEN)));
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

/* ---------------------------------------------------------------- */
/* patterns and rules                                                */
/* ---------------------------------------------------------------- */

static void
collect_capture(void *arg, const char *name, size_t namelen,
				const char *value, size_t valuelen)
{
	List	  **list = (List **) arg;
	Capture    *c = palloc(sizeof(Capture));

	c->name = pnstrdup(name, namelen);
	c->value = pnstrdup(value, valuelen);
	*list = lappend(*list, c);
}

/* true if pattern matches the whole channel; *captures gets the captures */
static bool
match(const char *pattern, const char *channel, List **captures)
{
	*captures = NIL;
	return pusher_match_pattern(pattern, channel, collect_capture, captures);
}

static Jsonb *
captures_jsonb(List *captures)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	ListCell   *lc;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	foreach(lc, captures)
	{
		Capture    *c = lfirst(lc);

		put_string(&st, c->name, c->value);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

static void
check_pattern(const char *pattern)
{
	const char *why = NULL;

	if (!pusher_valid_pattern(pattern, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid channel pattern \"%s\"", pattern),
				 errdetail("%s", why ? why : "The pattern is malformed."),
				 errhint("Patterns are channel names in which {name} stands for one segment without dots and a trailing \".*\" for one or more further segments.")));
}

/* all rows of rtpush.channel_rules, copied into the caller's memory */
static List *
load_rules(void)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *rules = NIL;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * check_function is the function's qualified identity (text, since 0.2;
	 * a regprocedure in 0.1, whose text is its name under the search_path):
	 * resolved here at each call.  A 0.1 rule whose function is gone reads
	 * as a bare OID, which resolves to nothing: the rule denies.
	 */
	ret = SPI_execute("SELECT pattern, rule, owner_capture,"
					  " CASE WHEN pg_catalog.strpos(check_function::pg_catalog.text, '(') > 0"
					  " THEN pg_catalog.to_regprocedure(check_function::pg_catalog.text)::pg_catalog.oid END"
					  " FROM rtpush.channel_rules ORDER BY pattern COLLATE pg_catalog.\"C\"",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading rtpush.channel_rules failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(caller);
		Rule	   *r = palloc0(sizeof(Rule));
		char	   *s;
		bool		isnull;
		Datum		d;

		r->pattern = pstrdup(SPI_getvalue(tup, desc, 1));
		r->rule = pstrdup(SPI_getvalue(tup, desc, 2));
		s = SPI_getvalue(tup, desc, 3);
		r->owner_capture = s ? pstrdup(s) : NULL;
		d = SPI_getbinval(tup, desc, 4, &isnull);
		r->fn = isnull ? InvalidOid : DatumGetObjectId(d);
		rules = lappend(rules, r);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return rules;
}

pg_noreturn static void deny(const char *user_id, const char *channel, const char *detail);

static void
deny(const char *user_id, const char *channel, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("user \"%s\" may not subscribe to channel \"%s\"", user_id, channel),
			 errdetail("%s", detail)));
	pg_unreachable();
}

/* calls a rule function (user_id text, captures jsonb) RETURNS boolean */
static bool
call_rule_function(const Rule *r, const char *user_id, List *captures,
				   const char *channel)
{
	LOCAL_FCINFO(fcinfo, 2);
	FmgrInfo	flinfo;
	Datum		result;

	if (!OidIsValid(r->fn) || !SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(r->fn)))
		deny(user_id, channel,
			 psprintf("The function of rule \"%s\" (%s) no longer exists.", r->pattern, r->rule));
	fmgr_info(r->fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = CStringGetTextDatum(user_id);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = JsonbPGetDatum(captures_jsonb(captures));
	fcinfo->args[1].isnull = false;
	result = FunctionCallInvoke(fcinfo);
	return !fcinfo->isnull && DatumGetBool(result);
}

static const char *
capture_value(List *captures, const char *name)
{
	ListCell   *lc;

	foreach(lc, captures)
	{
		Capture    *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return c->value;
	}
	return NULL;
}

/*
 * Deny by default: ERROR 42501 unless some rule matches the channel and
 * every matching rule allows user_id.
 */
static void
enforce_rules(const char *channel, const char *user_id)
{
	List	   *rules = load_rules();
	ListCell   *lc;
	int			matched = 0;

	foreach(lc, rules)
	{
		Rule	   *r = lfirst(lc);
		List	   *captures;

		if (!match(r->pattern, channel, &captures))
			continue;
		matched++;
		if (strcmp(r->rule, "owner") == 0)
		{
			const char *v = r->owner_capture ? capture_value(captures, r->owner_capture) : NULL;

			if (v == NULL || strcmp(v, user_id) != 0)
				deny(user_id, channel,
					 psprintf("Rule \"%s\" (owner) allows only the user whose id is the {%s} segment%s%s%s.",
							  r->pattern, r->owner_capture ? r->owner_capture : "?",
							  v ? ", \"" : "", v ? v : "", v ? "\"" : ""));
		}
		else if (!call_rule_function(r, user_id, captures, channel))
			deny(user_id, channel,
				 psprintf("Rule \"%s\" (%s) did not return true.", r->pattern, r->rule));
	}
	if (matched == 0)
		deny(user_id, channel,
			 "No rule in rtpush.channel_rules matches the channel; channels are denied by default.");
}

/* ---------------------------------------------------------------- */
/* SQL functions                                                     */
/* ---------------------------------------------------------------- */

static Jsonb *
auth_result(const char *auth, const char *data_key, const char *data,
			const char *shared_secret)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_string(&st, "auth", auth);
	if (data != NULL)
		put_string(&st, data_key, data);
	if (shared_secret != NULL)
		put_string(&st, "shared_secret", shared_secret);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* base64 shared secret of a private-encrypted- channel; ERROR 55000 without a usable master key */
static char *
encrypted_shared_secret(const char *channel)
{
	unsigned char master[PUSHER_MASTER_KEY_BYTES];
	const char *why = NULL;
	StringInfoData out;

	if (!pusher_master_key_decode(rtpush_encryption_master_key, master, &why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush.encryption_master_key %s", why ? why : "is not usable"),
				 errdetail("Channel \"%s\" is end-to-end encrypted and its subscribers need the shared secret.", channel),
				 errhint("Set a base64 32-byte key with ALTER SYSTEM SET rtpush.encryption_master_key = '...' and SELECT pg_reload_conf().")));
	initStringInfo(&out);
	pusher_shared_secret_base64(&out, channel, master);
	explicit_bzero(master, sizeof(master));
	return out.data;
}

static void
require_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
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

	require_arg(fcinfo, 0, "socket_id");
	require_arg(fcinfo, 1, "channel");
	require_arg(fcinfo, 2, "user_id");
	socket_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
	user_id = text_to_cstring(PG_GETARG_TEXT_PP(2));

	rtpush_require_credentials(true);
	check_socket_id(socket_id);
	check_channel(channel);
	check_user_id(user_id, pusher_channel_is_presence(channel) ? "presence data" : "user id");
	if (pusher_channel_is_presence(channel))
		channel_data = presence_channel_data(user_id,
											 PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));

	enforce_rules(channel, user_id);

	if (pusher_channel_is_encrypted(channel))
		shared_secret = encrypted_shared_secret(channel);

	initStringInfo(&auth);
	pusher_channel_auth(&auth, rtpush_key, rtpush_secret, socket_id, channel, channel_data);
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

	require_arg(fcinfo, 0, "socket_id");
	require_arg(fcinfo, 1, "user_data");
	socket_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	user_data = PG_GETARG_JSONB_P(1);

	rtpush_require_credentials(true);
	check_socket_id(socket_id);
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
	check_user_id(pnstrdup(id->val.string.val, id->val.string.len), "user data");

	initStringInfo(&data);
	rtpush_jsonb_compact(&data, user_data);
	initStringInfo(&auth);
	pusher_user_auth(&auth, rtpush_key, rtpush_secret, socket_id, data.data);
	PG_RETURN_JSONB_P(auth_result(auth.data, "user_data", data.data, NULL));
}

/* Do clients connect with TLS?  rtpush.ws_tls, or as rtpush.scheme. */
static bool
client_tls(void)
{
	if (rtpush_ws_tls == RTPUSH_WS_TLS_AUTO)
		return rtpush_scheme && strcmp(rtpush_scheme, "https") == 0;
	return rtpush_ws_tls == RTPUSH_WS_TLS_ON;
}

/* rtpush.client_config(user_id text) RETURNS jsonb: never the secret */
Datum
rtpush_client_config(PG_FUNCTION_ARGS)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	const char *ws_host = rtpush_ws_host && rtpush_ws_host[0] ? rtpush_ws_host
		: rtpush_host ? rtpush_host : "";

	rtpush_require_credentials(false);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_string(&st, "key", rtpush_key);
	put_string(&st, "cluster", rtpush_cluster ? rtpush_cluster : "");
	put_bool(&st, "forceTLS", client_tls());
	if (!PG_ARGISNULL(0))
		put_string(&st, "user_id", text_to_cstring(PG_GETARG_TEXT_PP(0)));
	put_string(&st, "auth_endpoint", rtpush_auth_endpoint ? rtpush_auth_endpoint : "");
	if (ws_host[0])
	{
		int			port = rtpush_ws_port > 0 ? rtpush_ws_port : rtpush_effective_port();

		put_string(&st, "wsHost", ws_host);
		put_int(&st, "wsPort", port);
		put_int(&st, "wssPort", port);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

/*
 * rtpush.match_channel(pattern text, channel text) RETURNS jsonb: the
 * captures as an object when the pattern matches the whole name, else NULL.
 */
Datum
rtpush_match_channel(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
	List	   *captures;

	check_pattern(pattern);
	if (!match(pattern, channel, &captures))
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(captures_jsonb(captures));
}

/*
 * rtpush.pattern_placeholders(pattern text) RETURNS text[]: validates the
 * pattern (ERROR 22023) and returns its placeholder names in order.
 */
Datum
rtpush_pattern_placeholders(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayBuildState *astate = NULL;
	const char *p = pattern;

	check_pattern(pattern);
	astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	while ((p = strchr(p, '{')) != NULL)
	{
		const char *end = strchr(p, '}');

		if (end == NULL)
			break;
		astate = accumArrayResult(astate,
								  PointerGetDatum(cstring_to_text_with_len(p + 1, end - p - 1)),
								  false, TEXTOID, CurrentMemoryContext);
		p = end + 1;
	}
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}
