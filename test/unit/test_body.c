/*-------------------------------------------------------------------------
 * test_body.c
 *	  Unit tests of src/pusher_body.c: JSON string escaping with round trips
 *	  through PostgreSQL's JSON parser, and the events and batch_events
 *	  body shapes.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "json_walk.h"
#include "pusher_body.h"
#include "tap.h"

/* what json_walk_members() reports of a body */
typedef struct Collected
{
	StringInfoData fields;		/* "name," for every top-level member */
	StringInfoData value;		/* the string value of a member "v" */
} Collected;

static void
collect(void *arg, const char *name, JsonTokenType type, const char *value)
{
	Collected  *c = arg;

	appendStringInfo(&c->fields, "%s,", name);
	if (strcmp(name, "v") == 0 && type == JSON_TOKEN_STRING)
		appendStringInfoString(&c->value, value);
}

/* parses JSON text with PostgreSQL's parser; true if it is valid */
static bool
parse(const char *text, Collected *c)
{
	initStringInfo(&c->fields);
	initStringInfo(&c->value);
	return json_walk_members(pstrdup(text), strlen(text), collect, c);
}

/* a JSON string literal as the value of "v" in an object */
static const char *
wrapped(const char *literal)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"v\":%s}", literal);
	return b.data;
}

static const char *
json_str(const char *s, size_t len)
{
	StringInfoData b;

	initStringInfo(&b);
	pusher_json_string(&b, s, len);
	return b.data;
}

static void
test_json_strings(void)
{
	static const char *const samples[] = {
		"", "plain", "quote \" backslash \\ slash /", "line\nfeed\r\ttab\b\f",
		"{\"some\":\"data\"}", "\x01\x02\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"</script><script>alert(1)</script>", "\\u0000 literal", "\"\"\"\\\\\\",
	};
	char		all[128];
	Collected	c;

	is_str(json_str("", 0), "\"\"", "json: empty string");
	is_str(json_str("a\"b\\c", 5), "\"a\\\"b\\\\c\"", "json: quote and backslash");
	is_str(json_str("\n\r\t\b\f", 5), "\"\\n\\r\\t\\b\\f\"", "json: short escapes");
	is_str(json_str("\x01\x1f", 2), "\"\\u0001\\u001f\"", "json: other control characters as \\u00XX");
	is_str(json_str("a\0b", 3), "\"a\\u0000b\"", "json: zero byte as \\u0000");
	is_str(json_str("\x7f/\xc3\xa9", 4), "\"\x7f/\xc3\xa9\"", "json: DEL, slash and UTF-8 unchanged");
	is_str(json_str("abcdef", 3), "\"abc\"", "json: honours the length");

	for (int i = 0; i < lengthof(samples); i++)
	{
		const char *j = wrapped(json_str(samples[i], strlen(samples[i])));

		ok(parse(j, &c) && strcmp(c.value.data, samples[i]) == 0,
		   "json: round trip through pg_parse_json, sample %d", i + 1);
	}
	for (int i = 1; i < 128; i++)
		all[i - 1] = (char) i;
	all[127] = '\0';
	ok(parse(wrapped(json_str(all, 127)), &c) && strcmp(c.value.data, all) == 0,
	   "json: round trip of every ASCII character 1..127");
}

static void
test_bodies(void)
{
	const char *one[] = {"private-user.1.notifications"};
	const char *two[] = {"a", "b"};
	const char *c1[] = {"orders"};
	const char *c2[] = {"private-conversation.5"};
	PusherEvent ev = {"message.sent", two, 2, "{\"id\":1}", 8, "123.456"};
	PusherEvent batch[2] = {
		{"order.created", c1, 1, "{\"id\":1,\"note\":\"a \\\"b\\\"\"}", 25, NULL},
		{"message.sent", c2, 1, "{\"text\":\"hi\\n\"}", 15, "9.9"},
	};
	StringInfoData b;
	Collected	c;
	PusherEvent evs[PUSHER_MAX_BATCH];

	initStringInfo(&b);
	pusher_events_body(&b, &ev);
	is_str(b.data, "{\"name\":\"message.sent\",\"channels\":[\"a\",\"b\"],\"data\":\"{\\\"id\\\":1}\",\"socket_id\":\"123.456\"}",
		   "body: events body with two channels and socket_id");
	ok(parse(b.data, &c) && strcmp(c.fields.data, "name,channels,data,socket_id,") == 0,
	   "body: events body parses with members name, channels, data, socket_id");

	resetStringInfo(&b);
	pusher_batch_body(&b, batch, 2);
	is_str(b.data,
		   "{\"batch\":[{\"name\":\"order.created\",\"channel\":\"orders\",\"data\":\"{\\\"id\\\":1,\\\"note\\\":\\\"a \\\\\\\"b\\\\\\\"\\\"}\"},"
		   "{\"name\":\"message.sent\",\"channel\":\"private-conversation.5\",\"data\":\"{\\\"text\\\":\\\"hi\\\\n\\\"}\",\"socket_id\":\"9.9\"}]}",
		   "body: batch body of two events, data escaped twice where needed");
	ok(parse(b.data, &c) && strcmp(c.fields.data, "batch,") == 0,
	   "body: batch body parses with the single member batch");

	for (int i = 0; i < PUSHER_MAX_BATCH; i++)
		evs[i] = (PusherEvent) {"e", one, 1, "{}", 2, NULL};
	resetStringInfo(&b);
	pusher_batch_body(&b, evs, PUSHER_MAX_BATCH);
	{
		int			n = 0;

		for (const char *p = b.data; (p = strstr(p, "\"channel\":")) != NULL; p++)
			n++;
		ok(n == 10 && parse(b.data, &c), "body: a full batch of 10 events parses");
	}
	resetStringInfo(&b);
	pusher_batch_body(&b, evs, 0);
	is_str(b.data, "{\"batch\":[]}", "body: empty batch");

	/* data with a zero byte or raw control characters still gives valid JSON */
	ev = (PusherEvent) {"e", one, 1, "a\0\x01\"", 4, NULL};
	resetStringInfo(&b);
	pusher_events_body(&b, &ev);
	is_str(b.data, "{\"name\":\"e\",\"channels\":[\"private-user.1.notifications\"],\"data\":\"a\\u0000\\u0001\\\"\"}",
		   "body: data is taken by length, zero bytes escaped");
}

int
main(void)
{
	test_json_strings();
	test_bodies();
	return tap_done();
}
