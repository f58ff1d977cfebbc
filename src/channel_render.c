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
 * Accepted template column types (domains by their base type), and their
 * text:
 *	  int2, int4, int8          decimal
 *	  numeric                   numeric_out (no exponent; NaN, Infinity)
 *	  date                      ISO 8601 YYYY-MM-DD, infinity, -infinity
 *	  bool                      t, f (as boolout)
 *	  oid, uuid                 their output (settings play no part)
 *	  string types (text, varchar, char(n), name, "char", citext, ...: type
 *	  category S) and enums     the value itself (char(n) without its
 *	                            trailing blanks, as its cast to text)
 * Every other type is refused when the template is parsed (at attach, at
 * CREATE TRIGGER and ALTER TABLE, and at the first write): timestamps,
 * times and intervals have no text without ':' or ' ' (not allowed in a
 * channel name) and depend on the time zone; floats depend on
 * extra_float_digits and write exponents with '+'; money follows
 * lc_monetary; bytea follows bytea_output; json, arrays, composites,
 * ranges, geometric and network types are written with characters a
 * channel name cannot hold.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
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

/* types whose output function no setting changes and that may fit a channel */
static bool
settings_free_output(Oid base)
{
	char		category;
	bool		preferred;

	switch (base)
	{
		case NUMERICOID:
		case BOOLOID:
		case OIDOID:
		case UUIDOID:
			return true;
		default:
			break;
	}
	if (type_is_enum(base))
		return true;
	get_type_category_preferred(base, &category, &preferred);
	return category == TYPCATEGORY_STRING && !OidIsValid(get_element_type(base));
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
	else if (settings_free_output(base))
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
