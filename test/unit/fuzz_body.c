/*-------------------------------------------------------------------------
 * fuzz_body.c
 *	  libFuzzer target: JSON string escaping.  Any bytes escape to a JSON
 *	  string that PostgreSQL's parser accepts and de-escapes back to the same
 *	  bytes; event and batch bodies built around them are valid JSON.
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

#include "common/jsonapi.h"
#include "compat.h"
#include "mb/pg_wchar.h"

typedef struct Got
{
	int			n;
	char	   *value;
} Got;

static JsonCbResult
scalar(void *state, char *token, JsonTokenType type)
{
	Got		   *g = state;

	FUZZ_CHECK(type == JSON_TOKEN_STRING);
	g->n++;
	g->value = token;
	return JSON_CB_OK;
}

static JsonParseErrorType
parse(char *text, size_t len, bool escapes, const JsonSemAction *sem)
{
	JsonLexContext *lex = compat_json_lexer(text, (int) len, escapes);
	JsonParseErrorType rc = pg_parse_json(lex, (JsonSemAction *) sem);	/* const from 18 */

	compat_json_lexer_free(lex);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	StringInfoData j;
	JsonSemAction sem = {0};
	Got			g = {0};
	JsonParseErrorType rc;
	bool		has_nul = memchr(data, 0, size) != NULL;

	initStringInfo(&j);
	pusher_json_string(&j, (const char *) data, size);
	/* no raw control characters survive */
	for (int i = 0; i < j.len; i++)
		FUZZ_CHECK((unsigned char) j.data[i] >= 0x20);

	sem.semstate = &g;
	sem.scalar = scalar;
	rc = parse(j.data, j.len, true, &sem);
	if (has_nul)
		FUZZ_CHECK(rc == JSON_UNICODE_CODE_POINT_ZERO);	/* \u0000: valid JSON, not text */
	else
	{
		FUZZ_CHECK(rc == JSON_SUCCESS);
		FUZZ_CHECK(g.n == 1 && strlen(g.value) == size && memcmp(g.value, data, size) == 0);
	}
	if (g.value)
		pfree(g.value);
	FUZZ_CHECK(parse(j.data, j.len, false, &nullSemAction) == JSON_SUCCESS);

	/* bodies around arbitrary data are valid JSON */
	{
		const char *ch[] = {"c"};
		PusherEvent ev[2] = {
			{"e", ch, 1, (const char *) data, size, NULL},
			{"f", ch, 1, (const char *) data, size / 2, "1.2"},
		};

		resetStringInfo(&j);
		pusher_events_body(&j, &ev[0]);
		FUZZ_CHECK(parse(j.data, j.len, false, &nullSemAction) == JSON_SUCCESS);
		resetStringInfo(&j);
		pusher_batch_body(&j, ev, 2);
		FUZZ_CHECK(parse(j.data, j.len, false, &nullSemAction) == JSON_SUCCESS);
	}
	pfree(j.data);
	return 0;
}
