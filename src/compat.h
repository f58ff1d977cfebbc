/*
 * compat.h — the one place that knows which PostgreSQL version rtpush is
 * built against.  rtpush supports PostgreSQL 15 to 18; every API that
 * changed between them is wrapped here, so that the rest of the code calls
 * one spelling and builds with -Werror on each version.
 *
 *   16: JSON semantic-action callbacks return JsonParseErrorType
 *   17: makeJsonLexContextCstringLen() takes the context to fill (NULL:
 *       allocate) and is undone by freeJsonLexContext();
 *       CreateWaitEventSet() takes a ResourceOwner, not a MemoryContext
 *   15.4 (and 16): a DROP DATABASE interrupted halfway leaves an invalid
 *       database (database_is_invalid_form()); before 15.4 there is none
 *   18: pg_attribute_noreturn() is gone: pg_noreturn goes before the
 *       declaration; RelationGetPrimaryKeyIndex() takes deferrable_ok
 *
 * Include it after postgres.h (or postgres_fe.h for the unit tests).
 */
#ifndef RTPUSH_COMPAT_H
#define RTPUSH_COMPAT_H

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

/*
 * A JSON callback is declared `static JsonCbResult f(void *state, ...)` and
 * ends with `return JSON_CB_OK;`.
 */
#if PG_VERSION_NUM >= 160000
typedef JsonParseErrorType JsonCbResult;
#define JSON_CB_OK JSON_SUCCESS
#else
typedef void JsonCbResult;
#define JSON_CB_OK
#endif

/* A lexer over text[0..len), with or without de-escaped string values. */
static inline JsonLexContext *
compat_json_lexer(char *text, int len, bool need_escapes)
{
#if PG_VERSION_NUM >= 170000
	return makeJsonLexContextCstringLen(NULL, text, len, PG_UTF8, need_escapes);
#else
	return makeJsonLexContextCstringLen(text, len, PG_UTF8, need_escapes);
#endif
}

/* Frees a lexer made by compat_json_lexer() and its string buffer. */
static inline void
compat_json_lexer_free(JsonLexContext *lex)
{
#if PG_VERSION_NUM >= 170000
	freeJsonLexContext(lex);
#else
	if (lex->strval)
	{
		pfree(lex->strval->data);
		pfree(lex->strval);
	}
	pfree(lex);
#endif
}

/*
 * A wait event set for one wait; the caller frees it with FreeWaitEventSet()
 * (from 17 it is not in a memory context the caller can reset).
 */
#ifndef FRONTEND
#if PG_VERSION_NUM >= 170000
#define compat_wait_event_set(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define compat_wait_event_set(nevents) CreateWaitEventSet(CurrentMemoryContext, (nevents))
#endif

/* A database left invalid by an interrupted DROP DATABASE: never connect to it. */
#if PG_VERSION_NUM >= 150004
#define compat_database_is_invalid(datform) database_is_invalid_form(datform)
#else
#define compat_database_is_invalid(datform) false
#endif

/* PostgreSQL 18's primary key lookup can leave out deferrable keys: rtpush does not. */
#if PG_VERSION_NUM >= 180000
#define compat_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), true)
#else
#define compat_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif
#endif							/* FRONTEND */

/* `pg_noreturn static void f(...);`: the marker before the declaration. */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

#endif							/* RTPUSH_COMPAT_H */
