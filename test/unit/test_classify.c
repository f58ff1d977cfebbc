/*-------------------------------------------------------------------------
 * test_classify.c
 *	  Unit tests of src/pusher_classify.c: response classification (status
 *	  codes, soketi's 2xx {"error","code"} bodies, adversarial bodies) and
 *	  Retry-After parsing.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "pusher_body.h"
#include "pusher_classify.h"
#include "tap.h"

/* a body as a JSON string, for a readable test description */
static const char *
quoted(const char *body)
{
	StringInfoData b;

	initStringInfo(&b);
	pusher_json_string(&b, body, strlen(body));
	return b.data;
}

static const char *
outcome_name(PusherOutcome o)
{
	return o == PUSHER_DELIVERED ? "delivered" : o == PUSHER_RETRY ? "retry" :
		o == PUSHER_MISCONFIGURED ? "misconfigured" : "rejected";
}

static void
test_classify(void)
{
	static const struct
	{
		long		status;
		const char *body;
		const char *outcome;
		long		effective;
	}			t[] = {
		{200, "{}", "delivered", 200},
		/* Laravel Reverb: 413 over max_request_size, 422 validation; Sockudo: 400 limit_exceeded */
		{413, "", "rejected", 413},
		{422, "{\"message\":\"The name field is required.\"}", "rejected", 422},
		{400, "{\"error\":\"limit_exceeded\",\"message\":\"Batch size exceeds limit\"}", "rejected", 400},
		{503, "", "retry", 503},
		{200, "", "delivered", 200},
		{200, NULL, "delivered", 200},
		{202, "not json", "delivered", 202},
		{204, "", "delivered", 204},
		/* soketi's failure-with-200 (issue 3) */
		{200, "{\"error\":\"The secret authentication failed\",\"code\":401}", "misconfigured", 401},
		/* soketi 1.6.1: an unknown app id */
		{200, "{\"error\":\"The app 7 could not be found.\",\"code\":404}", "misconfigured", 404},
		{404, "{\"error\":\"The app 7 could not be found.\",\"code\":404}", "misconfigured", 404},
		{200, "{\"error\":\"The received data is incorrect.\",\"code\":400}", "rejected", 400},
		{200, "{\"error\":\"The payload size is too big.\",\"code\":413}", "rejected", 413},
		{200, "{\"error\":\"x\",\"code\":\"403\"}", "misconfigured", 403},
		{200, "{\"error\":\"x\",\"code\":413}", "rejected", 413},
		{200, "{\"error\":\"x\",\"code\":429}", "retry", 429},
		{200, "{\"error\":\"x\",\"code\":503}", "retry", 503},
		{200, "{\"error\":\"x\"}", "retry", 500},
		{200, "{\"code\":401,\"error\":\"x\"}", "misconfigured", 401},
		{200, "{\"error\":\"x\",\"code\":200}", "retry", 500},
		{200, "{\"error\":\"x\",\"code\":\"abc\"}", "retry", 500},
		{200, "{\"error\":\"x\",\"code\":4010}", "retry", 500},
		{200, "{\"error\":\"x\",\"code\":401.5}", "retry", 500},
		{200, "{\"error\":{\"message\":\"m\"},\"code\":422}", "rejected", 422},
		{200, " \n{\"error\":\"x\",\"code\":404}\n", "misconfigured", 404},
		{200, "{\"\\u0065rror\":\"x\",\"code\":401}", "misconfigured", 401},
		{200, "{\"error\":\"\\u00e9\\ud83d\\ude00\\u0000\",\"code\":401}", "misconfigured", 401},
		{200, "{\"error\":null}", "delivered", 200},
		{200, "{\"code\":401}", "delivered", 200},
		{200, "{\"data\":{\"error\":\"x\",\"code\":401}}", "delivered", 200},
		{200, "[{\"error\":\"x\",\"code\":401}]", "delivered", 200},
		{200, "{\"error\":\"x\",\"code\":401", "delivered", 200},
		{200, "{\"a\":[{\"code\":401}],\"error\":\"x\"}", "retry", 500},
		{0, NULL, "retry", 0},
		{408, "", "retry", 408},
		{429, "Too Many Requests", "retry", 429},
		{500, "", "retry", 500},
		{502, "", "retry", 502},
		{503, "", "retry", 503},
		{504, "", "retry", 504},
		{400, "", "rejected", 400},
		{401, "{\"error\":\"x\",\"code\":500}", "misconfigured", 401},
		{403, "", "misconfigured", 403},
		{404, "", "misconfigured", 404},
		{405, "", "misconfigured", 405},
		{407, "", "misconfigured", 407},
		{410, "", "rejected", 410},
		{413, "", "rejected", 413},
		{422, "", "rejected", 422},
		{418, "", "rejected", 418},
		{301, "", "retry", 301},
		{100, "", "retry", 100},
	};

	for (int i = 0; i < lengthof(t); i++)
	{
		long		eff = -1;
		PusherOutcome o = pusher_classify(t[i].status, t[i].body,
										  t[i].body ? strlen(t[i].body) : 0, &eff);
		bool		good = strcmp(outcome_name(o), t[i].outcome) == 0 && eff == t[i].effective;

		ok(good, "classify: %ld %s -> %s %ld", t[i].status,
		   t[i].body ? quoted(t[i].body) : "(no body)",
		   t[i].outcome, t[i].effective);
		if (!good)
			printf("#      got: %s %ld\n", outcome_name(o), eff);
	}

	/* a body nested deeper than the parser is allowed to go is not inspected */
	{
		StringInfoData b;
		long		eff;

		initStringInfo(&b);
		appendStringInfoString(&b, "{\"error\":\"x\",\"code\":401,\"a\":");
		for (int i = 0; i < 5000; i++)
			appendStringInfoChar(&b, '[');
		for (int i = 0; i < 5000; i++)
			appendStringInfoChar(&b, ']');
		appendStringInfoChar(&b, '}');
		ok(pusher_classify(200, b.data, b.len, &eff) == PUSHER_DELIVERED && eff == 200,
		   "classify: deeply nested 2xx body is not parsed (no recursion blow-up)");
		ok(pusher_classify(200, "{\"error\":\"x\",\"code\":401}xx", 24, &eff) == PUSHER_MISCONFIGURED && eff == 401,
		   "classify: body taken by length, not up to a zero byte");
		/* found by fuzz_classify: a backslash before a zero byte */
		ok(pusher_classify(200, "{\"error\":\"\\\0u\",\"code\":401}", 26, &eff) == PUSHER_DELIVERED && eff == 200,
		   "classify: a body with a zero byte is not JSON and not inspected");
	}
}

static void
test_retry_after(void)
{
	const time_t date = 784111777;	/* Sun, 06 Nov 1994 08:49:37 GMT */

	is_long(pusher_retry_after("120", 0), 120, "retry-after: delta-seconds");
	is_long(pusher_retry_after(" 5 \r\n", 0), 5, "retry-after: surrounding whitespace");
	is_long(pusher_retry_after("0", 0), 0, "retry-after: zero");
	is_long(pusher_retry_after("99999999999999999999999", 0), 7 * 86400, "retry-after: huge value capped at a week");
	is_long(pusher_retry_after("-1", 0), -1, "retry-after: negative is unparsable");
	is_long(pusher_retry_after("1.5", 0), -1, "retry-after: fraction is unparsable");
	is_long(pusher_retry_after("12abc", 0), -1, "retry-after: trailing garbage");
	is_long(pusher_retry_after("", 0), -1, "retry-after: empty");
	is_long(pusher_retry_after(NULL, 0), -1, "retry-after: missing");
	/* RFC 9110 section 5.6.7's IMF-fixdate example */
	is_long(pusher_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date - 100), 100, "retry-after: IMF-fixdate 100 s ahead");
	is_long(pusher_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 5), 0, "retry-after: date in the past is 0");
	is_long(pusher_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 0), 0, "retry-after: the epoch");
	is_long(pusher_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412000L), 480, "retry-after: MDN example date");
	is_long(pusher_retry_after("Tue, 29 Feb 2028 00:00:00 GMT", 1835395200L - 60), 60, "retry-after: leap day");
	is_long(pusher_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", 0), -1, "retry-after: zone other than GMT");
	is_long(pusher_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 0), -1, "retry-after: obsolete RFC 850 form");
	is_long(pusher_retry_after("Sun, 32 Nov 1994 08:49:37 GMT", 0), -1, "retry-after: day 32");
	is_long(pusher_retry_after("Sun, 06 Nox 1994 08:49:37 GMT", 0), -1, "retry-after: unknown month");
	is_long(pusher_retry_after("Sun, 06 Nov 1994 24:49:37 GMT", 0), -1, "retry-after: hour 24");
}

static void
test_pauses_everyone(void)
{
	ok(pusher_pauses_everyone(429, true), "pause: 429 with Retry-After pauses everyone");
	ok(pusher_pauses_everyone(503, true), "pause: 503 with Retry-After (Sockudo) pauses everyone");
	ok(!pusher_pauses_everyone(503, false), "pause: 503 without Retry-After retries its events only");
	ok(!pusher_pauses_everyone(429, false), "pause: 429 without Retry-After retries its events only");
	ok(!pusher_pauses_everyone(500, true), "pause: 500 with Retry-After retries its events only");
}

int
main(void)
{
	test_pauses_everyone();
	test_classify();
	test_retry_after();
	return tap_done();
}
