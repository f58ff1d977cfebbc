/*-------------------------------------------------------------------------
 * auth_rules.c
 *	  The channel rules that decide, deny by default, who may subscribe to
 *	  a private or presence channel (rtpush.channel_rules), and
 *	  rtpush.match_channel() and rtpush.pattern_placeholders() for the
 *	  rules' validation and tests.
 *
 * A channel is authorized only when at least one rule's pattern matches
 * the whole channel name and every matching rule allows the user.  'owner'
 * rules compare one captured segment (owner_capture) with the user id as
 * whole strings; other rules call a SQL function (user_id text, captures
 * jsonb) RETURNS boolean as the calling role.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

#include "auth.h"
#include "compat.h"
#include "pusher.h"

PG_FUNCTION_INFO_V1(rtpush_match_channel);
PG_FUNCTION_INFO_V1(rtpush_pattern_placeholders);

/* one {name} = value captured by a channel pattern */
typedef struct PatternCapture
{
	char	   *name;
	char	   *value;
} PatternCapture;

/* one row of rtpush.channel_rules */
typedef struct Rule
{
	char	   *pattern;
	char	   *rule;
	char	   *owner_capture;	/* owner rules */
	Oid			fn;				/* function rules */
} Rule;

static void
collect_capture(void *arg, const char *name, size_t namelen,
				const char *value, size_t valuelen)
{
	List	  **list = (List **) arg;
	PatternCapture *c = palloc(sizeof(PatternCapture));

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
		PatternCapture *c = lfirst(lc);

		rtpush_jsonb_put_string(&st, c->name, c->value);
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
				 errdetail("%s", why),
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

/* ERROR 42501: user_id may not subscribe to channel, with the reason as detail */
#define deny(user_id, channel, detail) \
	ereport(ERROR, \
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), \
			 errmsg("user \"%s\" may not subscribe to channel \"%s\"", user_id, channel), \
			 detail))

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
			 errdetail("The function of rule \"%s\" (%s) no longer exists.",
					   r->pattern, r->rule));
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
		PatternCapture *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return c->value;
	}
	return NULL;
}

/*
 * Deny by default: ERROR 42501 unless some rule matches the channel and
 * every matching rule allows user_id.
 */
void
rtpush_enforce_channel_rules(const char *channel, const char *user_id)
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

			if (v == NULL)
				deny(user_id, channel,
					 errdetail("Rule \"%s\" (owner) allows only the user whose id is the {%s} segment.",
							   r->pattern, r->owner_capture ? r->owner_capture : "?"));
			if (strcmp(v, user_id) != 0)
				deny(user_id, channel,
					 errdetail("Rule \"%s\" (owner) allows only the user whose id is the {%s} segment, \"%s\".",
							   r->pattern, r->owner_capture, v));
		}
		else if (!call_rule_function(r, user_id, captures, channel))
			deny(user_id, channel,
				 errdetail("Rule \"%s\" (%s) did not return true.", r->pattern, r->rule));
	}
	if (matched == 0)
		deny(user_id, channel,
			 errdetail("No rule in rtpush.channel_rules matches the channel; channels are denied by default."));
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
