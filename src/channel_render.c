/*-------------------------------------------------------------------------
 * channel_render.c
 *	  The canonical text of a column value in a channel name.
 *
 * A channel template such as "private-d.{day}" must give the same channel
 * whoever writes the row: a channel name is what subscribers ask for, and
 * PostgreSQL's output functions for dates, times and floats follow the
 * writing session's DateStyle, TimeZone, IntervalStyle and
 * extra_float_digits (a date is 2024-01-02 under ISO, 02.01.2024 under
 * German, 01/02/2024 under SQL, MDY, which is not even a valid channel).
 *
 * Template column types (domains by their base type), and their text:
 *	  int2, int4, int8          decimal
 *	  float4, float8            the shortest text that reads back exactly (as
 *	                            float8out with extra_float_digits > 0, the
 *	                            default), whatever extra_float_digits says
 *	  date                      ISO 8601 YYYY-MM-DD, infinity, -infinity,
 *	                            whatever DateStyle says
 *	  char(n)                   without its trailing blanks (its text cast)
 *	  numeric, bool, uuid, text types, enums, network and bit types, other
 *	  types (user-defined ones too)   their output function, which no
 *	                            setting changes
 * Refused when the template is parsed (at attach, CREATE TRIGGER, ALTER
 * TABLE and the first write): timestamps, times and intervals (their text
 * follows DateStyle, TimeZone and IntervalStyle and always holds ' ' or
 * ':', which a channel name cannot), money (lc_monetary), bytea
 * (bytea_output, and always '\x'), json, jsonb, xml, arrays, composites,
 * ranges and geometric types (always written with characters a channel
 * name cannot hold).  Values of accepted types can still make an invalid
 * channel (a space in a text value, "1e+20"): that write fails, as before.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"

#include "channel_render.h"

bool
rtpush_append_int(StringInfo buf, Oid basetype, Datum v)
{
	int64		i;

	switch (basetype)
	{
		case INT2OID:
			i = DatumGetInt16(v);
			break;
		case INT4OID:
			i = DatumGetInt32(v);
			break;
		case INT8OID:
			i = DatumGetInt64(v);
			break;
		default:
			return false;
	}
	enlargeStringInfo(buf, MAXINT8LEN + 1);
	buf->len += pg_lltoa(i, buf->data + buf->len);
	return true;
}

/*
 * Types whose text no setting changes and that can be (part of) a valid
 * channel name: false for the date/time types but date, intervals, types
 * whose text follows a setting (money, bytea) and types always written
 * with characters a channel cannot hold (json, xml, arrays, composites,
 * ranges, geometric types).
 */
static bool
renderable(Oid base)
{
	char		category;
	bool		preferred;

	switch (base)
	{
		case MONEYOID:
		case BYTEAOID:
		case JSONOID:
		case JSONBOID:
		case XMLOID:
			return false;
		default:
			break;
	}
	if (type_is_rowtype(base))
		return false;
	get_type_category_preferred(base, &category, &preferred);
	return strchr("DTACRGPX", category) == NULL;
}

void
channel_render_init(ChannelRender *r, Form_pg_attribute att, const char *tmpl,
					const char *relname)
{
	Oid			base = getBaseType(att->atttypid);

	r->basetype = base;
	if (base == INT2OID || base == INT4OID || base == INT8OID)
		r->kind = CR_INT;
	else if (base == DATEOID)
		r->kind = CR_DATE;
	else if (base == FLOAT4OID || base == FLOAT8OID)
		r->kind = CR_FLOAT;
	else if (renderable(base))
	{
		Oid			outfn;
		bool		isvarlena;

		r->kind = CR_OUTPUT;
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &r->out, CurrentMemoryContext);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" cannot be used in a channel name",
						NameStr(att->attname), relname),
				 errdetail("Channel template \"%s\" uses it; its type %s has no text that is the same in every session and valid in a channel name.",
						   tmpl, format_type_be(att->atttypid)),
				 errhint("Use a column of an integer, numeric, date, uuid, boolean, enum or text type, for example a generated column such as (col AT TIME ZONE 'UTC')::date or an integer key.")));
}

static void
append_date(StringInfo buf, DateADT d)
{
	char		s[MAXDATELEN + 1];
	struct pg_tm tm;

	if (DATE_NOT_FINITE(d))
		EncodeSpecialDate(d, s);
	else
	{
		j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		EncodeDateOnly(&tm, USE_ISO_DATES, s);
	}
	appendStringInfoString(buf, s);
}

void
channel_render_append(StringInfo buf, const ChannelRender *r, Datum v)
{
	switch (r->kind)
	{
		case CR_INT:
			rtpush_append_int(buf, r->basetype, v);
			break;
		case CR_DATE:
			append_date(buf, DatumGetDateADT(v));
			break;
		case CR_FLOAT:
			{
				char		s[DOUBLE_SHORTEST_DECIMAL_LEN];

				if (r->basetype == FLOAT4OID)
					float_to_shortest_decimal_buf(DatumGetFloat4(v), s);
				else
					double_to_shortest_decimal_buf(DatumGetFloat8(v), s);
				appendStringInfoString(buf, s);
			}
			break;
		case CR_OUTPUT:
			{
				char	   *s = OutputFunctionCall((FmgrInfo *) &r->out, v);
				int			len = strlen(s);

				/* char(n) as text: without its padding */
				while (r->basetype == BPCHAROID && len > 0 && s[len - 1] == ' ')
					len--;
				appendBinaryStringInfo(buf, s, len);
			}
			break;
	}
}
