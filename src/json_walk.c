/*-------------------------------------------------------------------------
 * json_walk.c
 *	  The members of a JSON text's top-level object, one callback each:
 *	  the semantic actions for PostgreSQL's parser that track the nesting
 *	  depth and pair each top-level member name with its value.
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

#include "compat.h"
#include "json_walk.h"

typedef struct WalkState
{
	int			depth;			/* object/array nesting, 1 = top level */
	char	   *name;			/* the top-level member whose value is next */
	json_member_cb cb;
	void	   *arg;
} WalkState;

/*
 * Hands a value to the callback when it is a top-level member's: a name is
 * pending only from a top-level field until its value, the next one parsed.
 */
static void
walk_value(WalkState *st, JsonTokenType type, const char *value)
{
	if (st->name == NULL)
		return;
	st->cb(st->arg, st->name, type, value);
	pfree(st->name);
	st->name = NULL;
}

/* an object or array starts: a top-level member's value, not walked into */
static void
walk_nest_in(WalkState *st, JsonTokenType type)
{
	walk_value(st, type, NULL);
	st->depth++;
}

static JsonCbResult
walk_object_start(void *state)
{
	walk_nest_in((WalkState *) state, JSON_TOKEN_OBJECT_START);
	return JSON_CB_OK;
}

static JsonCbResult
walk_array_start(void *state)
{
	walk_nest_in((WalkState *) state, JSON_TOKEN_ARRAY_START);
	return JSON_CB_OK;
}

static JsonCbResult
walk_nest_out(void *state)
{
	((WalkState *) state)->depth--;
	return JSON_CB_OK;
}

static JsonCbResult
walk_field_start(void *state, char *fname, bool isnull)
{
	WalkState  *st = (WalkState *) state;

	if (st->depth == 1 && fname != NULL)
	{
		if (st->name)
			pfree(st->name);
		st->name = fname;
	}
	else if (fname)
		pfree(fname);
	return JSON_CB_OK;
}

static JsonCbResult
walk_scalar(void *state, char *token, JsonTokenType tokentype)
{
	walk_value((WalkState *) state, tokentype, token);
	if (token)
		pfree(token);
	return JSON_CB_OK;
}

bool
json_walk_members(char *text, size_t len, json_member_cb cb, void *arg)
{
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonParseErrorType rc;
	WalkState	st;

	lex = compat_json_lexer(text, (int) len, false);
	rc = pg_parse_json(lex, &nullSemAction);
	compat_json_lexer_free(lex);
	if (rc != JSON_SUCCESS)
		return false;

	memset(&st, 0, sizeof(st));
	st.cb = cb;
	st.arg = arg;
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = walk_object_start;
	sem.object_end = walk_nest_out;
	sem.array_start = walk_array_start;
	sem.array_end = walk_nest_out;
	sem.object_field_start = walk_field_start;
	sem.scalar = walk_scalar;
	lex = compat_json_lexer(text, (int) len, true);
	rc = pg_parse_json(lex, &sem);
	compat_json_lexer_free(lex);
	if (st.name)
		pfree(st.name);
	return rc == JSON_SUCCESS;
}
