/*-------------------------------------------------------------------------
 * test_json_walk.c
 *	  Unit tests of src/json_walk.c: which members of a JSON text it
 *	  reports, in which order, with which types and values, and that
 *	  invalid JSON makes no call at all.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "lib/stringinfo.h"
#include "json_walk.h"
#include "tap.h"

static const char *
type_name(JsonTokenType t)
{
	switch (t)
	{
		case JSON_TOKEN_STRING:
			return "string";
		case JSON_TOKEN_NUMBER:
			return "number";
		case JSON_TOKEN_TRUE:
			return "true";
		case JSON_TOKEN_FALSE:
			return "false";
		case JSON_TOKEN_NULL:
			return "null";
		case JSON_TOKEN_OBJECT_START:
			return "object";
		case JSON_TOKEN_ARRAY_START:
			return "array";
		default:
			return "?";
	}
}

/* appends "name:type[=value]|" for each member */
static void
record(void *arg, const char *name, JsonTokenType type, const char *value)
{
	StringInfo	out = arg;

	appendStringInfo(out, "%s:%s", name, type_name(type));
	if (value != NULL)
		appendStringInfo(out, "=%s", value);
	appendStringInfoChar(out, '|');
}

/* the members json_walk_members() reports, then "ok" or "invalid" */
static const char *
walk(const char *json)
{
	StringInfoData out;
	bool		valid;

	initStringInfo(&out);
	valid = json_walk_members(pstrdup(json), strlen(json), record, &out);
	appendStringInfoString(&out, valid ? "ok" : "invalid");
	return out.data;
}

static void
test_members(void)
{
	is_str(walk("{\"a\":1,\"b\":\"x\\ty\",\"c\":null,\"d\":true,\"e\":false}"),
		   "a:number=1|b:string=x\ty|c:null=null|d:true=true|e:false=false|ok",
		   "walk: scalar members in order, strings de-escaped");
	is_str(walk("{\"f\":{\"g\":2,\"h\":[3]},\"i\":[{\"j\":4}],\"k\":5}"),
		   "f:object|i:array|k:number=5|ok",
		   "walk: nested values are reported as object or array, their members not");
	is_str(walk("{\"a\":1,\"a\":\"2\"}"), "a:number=1|a:string=2|ok",
		   "walk: duplicate members are each reported");
	is_str(walk("{\"\\u0063ode\":500}"), "code:number=500|ok",
		   "walk: member names are de-escaped");
	is_str(walk(" { } "), "ok", "walk: an empty object reports nothing");
}

static void
test_not_objects(void)
{
	is_str(walk("[{\"a\":1},2]"), "ok", "walk: a top-level array reports nothing");
	is_str(walk("\"a\""), "ok", "walk: a top-level string reports nothing");
	is_str(walk("{\"a\":1,"), "invalid", "walk: truncated JSON is invalid, with no call");
	is_str(walk("{\"a\":1}x"), "invalid", "walk: trailing garbage is invalid, with no call");
	is_str(walk("{\"a\":1,\"b\":[}"), "invalid", "walk: a syntax error after members makes no call");
	is_str(walk(""), "invalid", "walk: empty text is invalid");
}

int
main(void)
{
	test_members();
	test_not_objects();
	return tap_done();
}
