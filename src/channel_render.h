/*-------------------------------------------------------------------------
 * channel_render.h
 *	  The canonical text of a column value in a channel name: the same
 *	  whatever the writing session's DateStyle, TimeZone, IntervalStyle,
 *	  extra_float_digits or locale settings.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_CHANNEL_RENDER_H
#define RTPUSH_CHANNEL_RENDER_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

typedef enum ChannelRenderKind
{
	CR_INT,						/* int2, int4, int8: decimal */
	CR_DATE,					/* date: ISO 8601 YYYY-MM-DD, or [-]infinity */
	CR_FLOAT,					/* float4, float8: shortest exact text */
	CR_OUTPUT					/* output function independent of settings */
} ChannelRenderKind;

typedef struct ChannelRender
{
	ChannelRenderKind kind;
	Oid			basetype;
	FmgrInfo	out;			/* for CR_OUTPUT */
} ChannelRender;

/*
 * Prepares the rendering of column att (in CurrentMemoryContext), or raises
 * an ERROR, with a hint, when its type cannot make a stable, valid channel
 * name (timestamps, times, intervals, money, bytea, json, xml, arrays,
 * composites, ranges, geometric types).  tmpl and relname name
 * the template and the table in the error.
 */
extern void channel_render_init(ChannelRender *r, Form_pg_attribute att,
								const char *tmpl, const char *relname);

/* appends the canonical text of v (not NULL) */
extern void channel_render_append(StringInfo buf, const ChannelRender *r, Datum v);

/*
 * Appends an int2/int4/int8 in decimal (as int2out/int4out/int8out write
 * it, without fmgr or a palloc'd string); false for other types.
 */
extern bool rtpush_append_int(StringInfo buf, Oid basetype, Datum v);

#endif
