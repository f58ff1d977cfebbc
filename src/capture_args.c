/*-------------------------------------------------------------------------
 * capture_args.c
 *	  Parsing and validation of rtpush.broadcast()'s trigger arguments
 *	  against the table: the event name, channel templates, columns= (the
 *	  payload allowlist), changed= (the columns whose change fires an
 *	  UPDATE), the row's id columns for thin events; capture_op.c's and
 *	  capture_move.c's options and setup are called from here.
 *
 * See capture_trigger.c for the argument syntax.  capture_parse() builds a
 * Capture in CurrentMemoryContext or raises an ERROR naming the bad
 * argument.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "args.h"
#include "capture.h"
#include "compat.h"
#include "pusher.h"

#define OPT_COLUMNS "columns="
#define OPT_CHANGED "changed="

/*
 * The column named name[0..len) of the table; ERROR if there is none.  The
 * name comes from channel template 'tmpl' or, when tmpl is NULL, from
 * trigger argument 'arg'.
 */
static AttrNumber
find_column(TupleDesc desc, const char *name, int len, const char *relname,
			const char *tmpl, const char *arg)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strlen(NameStr(att->attname)) == len &&
			strncmp(NameStr(att->attname), name, len) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%.*s\" of relation \"%s\" does not exist", len, name, relname),
			 tmpl ? errdetail("It is named in channel template \"%s\".", tmpl) :
			 errdetail("It is named in trigger argument \"%s\".", arg),
			 errhint("Name a column of \"%s\" exactly as it is spelled in the table.", relname)));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

static void
malformed_template(const char *tmpl, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed channel template \"%s\"", tmpl),
			 errdetail("%s", why),
			 errhint("Write templates such as \"private-user.{patient_id}.appointments\": a channel name with {column} placeholders.")));
}

static void
output_fn(Oid typid, FmgrInfo *fn)
{
	Oid			outfn;
	bool		isvarlena;

	getTypeOutputInfo(typid, &outfn, &isvarlena);
	fmgr_info_cxt(outfn, fn, CurrentMemoryContext);
}

/* pusher_parse_template()'s callback: one segment per literal or column */
typedef struct TemplateParse
{
	Template   *t;
	TupleDesc	desc;
	const char *relname;
	StringInfoData cols;
	int			ncols;
} TemplateParse;

static void
template_part(void *arg, bool placeholder, const char *s, size_t len)
{
	TemplateParse *tp = arg;
	Segment    *seg = &tp->t->segs[tp->t->nsegs++];

	seg->len = (int) len;
	if (!placeholder)
	{
		seg->literal = pnstrdup(s, len);
		return;
	}
	seg->literal = NULL;
	seg->attnum = find_column(tp->desc, s, (int) len, tp->relname,
							  tp->t->text, NULL);
	channel_render_init(&seg->render, TupleDescAttr(tp->desc, seg->attnum - 1),
						tp->t->text, tp->relname);
	appendStringInfo(&tp->cols, "%s\"%.*s\"", tp->cols.len ? ", " : "",
					 (int) len, s);
	tp->ncols++;
}

static void
parse_template(Template *t, const char *tmpl, TupleDesc desc, const char *relname)
{
	TemplateParse tp;
	const char *why;

	t->text = pstrdup(tmpl);
	t->segs = palloc(sizeof(Segment) * (strlen(tmpl) + 1));
	t->nsegs = 0;
	tp.t = t;
	tp.desc = desc;
	tp.relname = relname;
	initStringInfo(&tp.cols);
	tp.ncols = 0;
	if (!pusher_parse_template(tmpl, template_part, &tp, &why))
		malformed_template(tmpl, why);
	t->columns = tp.cols.data;
	t->ncolumns = tp.ncols;
}

static JsonKind
json_kind(Oid typid, Oid *basetype)
{
	Oid			base = getBaseType(typid);
	Oid			castfunc;

	*basetype = base;
	switch (base)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return JK_NUMBER;
		case BOOLOID:
			return JK_BOOL;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return JK_DATETIME;
		case JSONOID:
		case JSONBOID:
			return JK_JSON;
		default:
			break;
	}
	if (OidIsValid(get_element_type(base)) || base == ANYARRAYOID ||
		base == RECORDARRAYOID || type_is_rowtype(base))
		return JK_TO_JSON;
	if (base >= FirstNormalObjectId &&
		find_coercion_pathway(JSONOID, base, COERCION_EXPLICIT, &castfunc) == COERCION_PATH_FUNC)
		return JK_TO_JSON;
	return JK_STRING;
}

static void
make_outcol(OutCol *c, Form_pg_attribute att)
{
	StringInfoData key;

	initStringInfo(&key);
	escape_json(&key, NameStr(att->attname));
	appendStringInfoChar(&key, ':');
	c->key = key.data;
	c->attnum = att->attnum;
	c->kind = json_kind(att->atttypid, &c->basetype);
	if (c->kind == JK_TO_JSON)
	{
		FuncExpr   *fe;

		fmgr_info_cxt(F_TO_JSON, &c->fn, CurrentMemoryContext);
		fe = makeFuncExpr(F_TO_JSON, JSONOID,
						  list_make1(makeNullConst(att->atttypid, att->atttypmod,
												   att->attcollation)),
						  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		fmgr_info_set_expr((Node *) fe, &c->fn);
	}
	else
		output_fn(att->atttypid, &c->fn);
}

/* splits "a,b , c" into column numbers; ERROR on unknown or empty names */
static AttrNumber *
parse_column_list(const char *arg, const char *opt, TupleDesc desc,
				  const char *relname, int *n)
{
	const char *list = arg + strlen(opt);
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * (strlen(list) / 2 + 1));
	const char *p = list;

	*n = 0;
	for (;;)
	{
		const char *end = strchr(p, ',');
		int			len = end ? end - p : strlen(p);

		while (len > 0 && *p == ' ')
			p++, len--;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("empty column name in trigger argument \"%s\"", arg),
					 errhint("Write \"%scol1,col2\" with at least one column.", opt)));
		attnums[(*n)++] = find_column(desc, p, len, relname, NULL, arg);
		if (!end)
			break;
		p = end + 1;
	}
	return attnums;
}

static void
set_payload_columns(Capture *cap, TupleDesc desc, AttrNumber *attnums, int n)
{
	cap->cols = palloc(sizeof(OutCol) * (attnums ? n : desc->natts));
	cap->ncols = 0;
	if (attnums)
	{
		for (int i = 0; i < n; i++)
			make_outcol(&cap->cols[cap->ncols++], TupleDescAttr(desc, attnums[i] - 1));
		return;
	}
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			make_outcol(&cap->cols[cap->ncols++], TupleDescAttr(desc, i));
}

/* columns compared between OLD and NEW (changed=, templates, keys) */
void
capture_set_compare_columns(ChangedCol **out, int *nout, TupleDesc desc,
							AttrNumber *attnums, int n)
{
	*out = palloc(sizeof(ChangedCol) * Max(n, 1));
	*nout = n;
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);
		ChangedCol *c = &(*out)[i];
		TypeCacheEntry *tce = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR_FINFO);

		c->attnum = att->attnum;
		c->collation = att->attcollation;
		c->byval = att->attbyval;
		c->typlen = att->attlen;
		c->has_eq = OidIsValid(tce->eq_opr_finfo.fn_oid);
		if (c->has_eq)
			fmgr_info_copy(&c->eq, &tce->eq_opr_finfo, CurrentMemoryContext);
	}
}

/* the row's "id" for thin events: column id, else the primary key */
static void
set_id_columns(Capture *cap, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			pk;

	cap->nids = 0;
	cap->ids = palloc(sizeof(OutCol) * INDEX_MAX_KEYS);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), "id") == 0)
		{
			make_outcol(&cap->ids[cap->nids++], att);
			return;
		}
	}
	pk = compat_primary_key_index(rel);
	if (OidIsValid(pk))
	{
		Relation	idx = index_open(pk, AccessShareLock);

		for (int k = 0; k < idx->rd_index->indnkeyatts; k++)
		{
			AttrNumber	a = idx->rd_index->indkey.values[k];

			if (a > 0)
				make_outcol(&cap->ids[cap->nids++], TupleDescAttr(desc, a - 1));
		}
		index_close(idx, AccessShareLock);
	}
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
duplicate_option(const char *opt)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("trigger option \"%s\" is given twice", opt),
			 errhint("Give each option once, with a comma-separated list of columns.")));
}

/*
 * Parses trigger arguments against the table in CurrentMemoryContext.
 * ERROR on any bad argument.
 */
Capture *
capture_parse(Relation rel, int nargs, char **args)
{
	Capture    *cap = palloc0(sizeof(Capture));
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber *cols = NULL;
	AttrNumber *changed = NULL;
	int			ncols = 0;
	int			nchanged = 0;

	cap->relid = RelationGetRelid(rel);
	cap->relname = pstrdup(RelationGetRelationName(rel));
	cap->nargs = nargs;
	cap->args = palloc(sizeof(char *) * Max(nargs, 1));
	for (int i = 0; i < nargs; i++)
		cap->args[i] = pstrdup(args[i]);
	if (nargs < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rtpush.broadcast needs an event name and at least one channel template"),
				 errdetail_plural("The trigger on \"%s\" has %d argument.",
								  "The trigger on \"%s\" has %d arguments.",
								  nargs, cap->relname, nargs),
				 errhint("Use EXECUTE FUNCTION rtpush.broadcast('message-sent', 'private-conversation.{conversation_id}').")));
	cap->event = cap->args[0];
	rtpush_check_event(cap->event);
	cap->templates = palloc(sizeof(Template) * nargs);
	for (int i = 1; i < nargs; i++)
	{
		if (has_prefix(args[i], OPT_COLUMNS))
		{
			if (cols)
				duplicate_option(OPT_COLUMNS);
			cols = parse_column_list(args[i], OPT_COLUMNS, desc, cap->relname, &ncols);
		}
		else if (has_prefix(args[i], OPT_CHANGED))
		{
			if (changed)
				duplicate_option(OPT_CHANGED);
			changed = parse_column_list(args[i], OPT_CHANGED, desc, cap->relname, &nchanged);
		}
		else if (!capture_op_option(cap, args[i]))
			parse_template(&cap->templates[cap->ntemplates++], args[i], desc, cap->relname);
	}
	if (cap->ntemplates == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rtpush.broadcast needs at least one channel template"),
				 errhint("Add a template such as 'private-conversation.{conversation_id}'.")));
	rtpush_check_channel_count(cap->ntemplates);
	set_payload_columns(cap, desc, cols, ncols);
	capture_set_compare_columns(&cap->changed, &cap->nchanged, desc, changed, nchanged);
	set_id_columns(cap, rel);
	capture_move_setup(cap, desc);
	return cap;
}

