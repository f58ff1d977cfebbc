/*-------------------------------------------------------------------------
 * capture.c
 *	  rtpush.broadcast(), the C trigger that turns row writes into events,
 *	  and the checks behind rtpush.attach() and the CREATE TRIGGER event
 *	  trigger.
 *
 * Trigger arguments (see README, "Capture"):
 *
 *	  rtpush.broadcast('event', 'template', ['template' ...],
 *					   ['columns=col,col,...'], ['changed=col,col,...'],
 *					   ['include_op=true'], ['update_event=name'], ...)
 *
 * The first argument is the event name.  Every other argument is a channel
 * template, except those starting with "columns=" (the payload allowlist,
 * in the order given) and "changed=" (an UPDATE fires only when one of
 * these columns IS DISTINCT FROM its old value).  A template is a channel
 * name in which "{column}" is replaced by that column's canonical text
 * (channel_render.c: the same in every session) of NEW (OLD for DELETE);
 * a NULL value drops the channel, and a row left with no channel queues
 * no event.  Several templates make one event on several channels
 * (identical channels are merged).  The options include_op=, ops=,
 * insert_event=, update_event= and delete_event= belong to capture_op.c;
 * UPDATEs that move a row off channels, change its key or cross
 * partitions, to capture_move.c.
 *
 * The trigger must be AFTER; FOR EACH ROW, or FOR EACH STATEMENT with
 * transition tables (REFERENCING NEW TABLE / OLD TABLE), which queues the
 * same events for the rows of a multi-row statement.
 *
 * The payload is the row as a JSON object with row_to_json()'s encoding
 * (numbers and booleans bare, json and jsonb inline, dates in ISO 8601,
 * other scalars as strings; arrays, composites and types with a cast to
 * json through to_json()).  Above rtpush.max_payload_bytes, rtpush.oversize
 * = error raises an error, thin queues {"table","op","id","oversize":true}.
 *
 * `changed` compares with the type's default equality operator, as IS
 * DISTINCT FROM does; types without one (json, point, ...) compare by
 * binary image (datum_image_eq), where a difference counts as a change.
 *
 * Parsed trigger arguments are cached per backend by trigger OID, checked
 * against the trigger's arguments on every use and dropped on a relcache
 * invalidation of the table (ALTER TABLE, CREATE/DROP TRIGGER).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/jsonapi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "capture.h"
#include "compat.h"
#include "outbox.h"
#include "pusher.h"
#include "settings.h"

#define OPT_COLUMNS "columns="
#define OPT_CHANGED "changed="

static HTAB *capture_cache = NULL;

PG_FUNCTION_INFO_V1(rtpush_broadcast);
PG_FUNCTION_INFO_V1(rtpush_check_broadcast_args);
PG_FUNCTION_INFO_V1(rtpush_check_broadcast_trigger);

/* ---- parsing the trigger arguments ---- */

static AttrNumber
find_column(TupleDesc desc, const char *name, int len, const char *relname,
			const char *context)
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
			 errdetail("It is named in %s.", context),
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
	const char *context;
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
	seg->attnum = find_column(tp->desc, s, (int) len, tp->relname, tp->context);
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
	tp.context = psprintf("channel template \"%s\"", tmpl);
	initStringInfo(&tp.cols);
	tp.ncols = 0;
	if (!pusher_parse_template(tmpl, template_part, &tp, &why))
		malformed_template(tmpl, why);
	t->columns = psprintf("the value%s of column%s %s", tp.ncols > 1 ? "s" : "",
						  tp.ncols > 1 ? "s" : "", tp.cols.data);
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
	char	   *context = psprintf("trigger argument \"%s\"", arg);
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
		attnums[(*n)++] = find_column(desc, p, len, relname, context);
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
static Capture *
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
				 errdetail("The trigger on \"%s\" has %d argument(s).", cap->relname, nargs),
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

/* ---- the per-backend cache ---- */

static void
capture_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	Capture    *cap;

	hash_seq_init(&seq, capture_cache);
	while ((cap = hash_seq_search(&seq)) != NULL)
		if (relid == InvalidOid || cap->relid == relid)
			cap->valid = false;
}

static bool
same_args(Capture *cap, Trigger *tg)
{
	if (cap->nargs != tg->tgnargs)
		return false;
	for (int i = 0; i < tg->tgnargs; i++)
		if (strcmp(cap->args[i], tg->tgargs[i]) != 0)
			return false;
	return true;
}

static Capture *
capture_get(Relation rel, Trigger *tg)
{
	Capture    *cap;
	Capture    *parsed;
	bool		found;
	MemoryContext cxt;
	MemoryContext old;

	if (capture_cache == NULL)
	{
		HASHCTL		ctl = {0};

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(Capture);
		capture_cache = hash_create("rtpush capture triggers", 16, &ctl,
									HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(capture_invalidate, (Datum) 0);
	}
	cap = hash_search(capture_cache, &tg->tgoid, HASH_FIND, NULL);
	if (cap && cap->valid && cap->relid == RelationGetRelid(rel) && same_args(cap, tg))
		return cap;

	/* parse in a child of the current context: an ERROR frees it */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "rtpush trigger",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	parsed = capture_parse(rel, tg->tgnargs, tg->tgargs);
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, CacheMemoryContext);

	cap = hash_search(capture_cache, &tg->tgoid, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(cap->cxt);
	*cap = *parsed;
	cap->tgoid = tg->tgoid;
	cap->cxt = cxt;
	cap->valid = true;
	return cap;
}

/* ---- building an event from a row ---- */

void
capture_append_json_value(StringInfo buf, OutCol *c, Datum v)
{
	char	   *s;
	char		dt[MAXDATELEN + 1];

	switch (c->kind)
	{
		case JK_NUMBER:
			if (rtpush_append_int(buf, c->basetype, v))
				break;
			s = OutputFunctionCall(&c->fn, v);
			if (IsValidJsonNumber(s, strlen(s)))
				appendStringInfoString(buf, s);
			else
				escape_json(buf, s);
			break;
		case JK_BOOL:
			appendStringInfoString(buf, DatumGetBool(v) ? "true" : "false");
			break;
		case JK_DATETIME:
			JsonEncodeDateTime(dt, v, c->basetype, NULL);
			appendStringInfo(buf, "\"%s\"", dt);
			break;
		case JK_JSON:
			appendStringInfoString(buf, OutputFunctionCall(&c->fn, v));
			break;
		case JK_STRING:
			escape_json(buf, OutputFunctionCall(&c->fn, v));
			break;
		case JK_TO_JSON:
			s = TextDatumGetCString(FunctionCall1(&c->fn, v));
			appendStringInfoString(buf, s);
			break;
	}
}

void
capture_append_json_object(StringInfo buf, OutCol *cols, int n, TupleTableSlot *row)
{
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		v = slot_getattr(row, cols[i].attnum, &isnull);

		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, cols[i].key);
		if (isnull)
			appendStringInfoString(buf, "null");
		else
			capture_append_json_value(buf, &cols[i], v);
	}
	appendStringInfoChar(buf, '}');
}

/* true when a column IS DISTINCT FROM its old value */
bool
capture_columns_differ(ChangedCol *cols, int n, TupleTableSlot *oldrow,
					   TupleTableSlot *newrow)
{
	for (int i = 0; i < n; i++)
	{
		ChangedCol *c = &cols[i];
		bool		oldnull;
		bool		newnull;
		Datum		o = slot_getattr(oldrow, c->attnum, &oldnull);
		Datum		n = slot_getattr(newrow, c->attnum, &newnull);

		if (oldnull || newnull)
		{
			if (oldnull != newnull)
				return true;
			continue;
		}
		if (c->has_eq)
		{
			if (!DatumGetBool(FunctionCall2Coll(&c->eq, c->collation, o, n)))
				return true;
		}
		else if (!datum_image_eq(o, n, c->byval, c->typlen))
			return true;
	}
	return false;
}

/*
 * Expands the templates; returns the number of channels (NULLs dropped).
 * An invalid channel name is an ERROR when strict, else left out (the
 * channels of an old row, which may predate the trigger).
 */
int
capture_expand_channels(Capture *cap, TupleTableSlot *row, const char **channels,
						bool strict)
{
	int			n = 0;
	StringInfoData buf;
	const char *why;

	initStringInfo(&buf);
	for (int t = 0; t < cap->ntemplates; t++)
	{
		Template   *tp = &cap->templates[t];
		bool		dropped = false;

		resetStringInfo(&buf);
		for (int s = 0; s < tp->nsegs && !dropped; s++)
		{
			Segment    *sg = &tp->segs[s];
			bool		isnull;
			Datum		v;

			if (sg->literal)
			{
				appendBinaryStringInfo(&buf, sg->literal, sg->len);
				continue;
			}
			v = slot_getattr(row, sg->attnum, &isnull);
			if (isnull)
				dropped = true;
			else
				channel_render_append(&buf, &sg->render, v);
		}
		if (dropped || (!strict && !pusher_valid_channel(buf.data, buf.len, &why)))
			continue;
		rtpush_check_channel(buf.data, tp->text, tp->columns);
		for (int i = 0; i < n; i++)
			if (strcmp(channels[i], buf.data) == 0)
				dropped = true;
		if (!dropped)
			channels[n++] = pstrdup(buf.data);
	}
	pfree(buf.data);
	return n;
}

static void
thin_payload(Capture *cap, StringInfo buf, TupleTableSlot *row, TriggerEvent tev,
			 const char *old_key, size_t size)
{
	resetStringInfo(buf);
	appendStringInfoString(buf, "{\"table\":");
	escape_json(buf, cap->relname);
	appendStringInfo(buf, ",\"op\":\"%s\",\"id\":", capture_op_name(tev));
	if (cap->nids == 0)
		appendStringInfoString(buf, "null");
	else if (cap->nids == 1)
	{
		bool		isnull;
		Datum		v = slot_getattr(row, cap->ids[0].attnum, &isnull);

		if (isnull)
			appendStringInfoString(buf, "null");
		else
			capture_append_json_value(buf, &cap->ids[0], v);
	}
	else
		capture_append_json_object(buf, cap->ids, cap->nids, row);
	if (old_key)
		appendStringInfo(buf, ",\"rtpush_old_key\":%s", old_key);
	appendStringInfoString(buf, ",\"oversize\":true}");
	if (buf->len > rtpush_max_payload_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row of \"%s\" is too large for an event, even thin", cap->relname),
				 errdetail("Event \"%s\": the row has %zu bytes of data and its thin form %d; rtpush.max_payload_bytes is %d.",
						   capture_op_event(cap, tev), size, buf->len, rtpush_max_payload_bytes),
				 errhint("Raise rtpush.max_payload_bytes.")));
}

void
capture_enqueue(Capture *cap, const char *event, const char **channels,
				int nchannels, StringInfo data)
{
	RtpushEvent ev;

	ev.event = event;
	ev.channels = channels;
	ev.nchannels = nchannels;
	ev.data = data->data;
	ev.datalen = data->len;
	ev.socket_id = rtpush_writer_socket_id(NULL);
	rtpush_outbox_enqueue(&ev);
}

/*
 * Queues the event for row on its channels: the row's payload, with
 * "rtpush_op" (include_op=true) and "rtpush_old_key" (old_key: the old
 * key's JSON when an UPDATE changed the key), thin when too large.
 */
void
capture_send_row(Capture *cap, TriggerEvent tev, TupleTableSlot *row,
				 const char **channels, int n, const char *old_key)
{
	const char *event = capture_op_event(cap, tev);
	StringInfoData data;
	size_t		wire;

	initStringInfo(&data);
	capture_append_json_object(&data, cap->cols, cap->ncols, row);
	if (cap->ops.include_op)
	{
		capture_payload_member(&data, "rtpush_op");
		appendStringInfo(&data, "\"%s\"}", capture_op_name(tev));
	}
	if (old_key)
	{
		capture_payload_member(&data, "rtpush_old_key");
		appendStringInfo(&data, "%s}", old_key);
	}
	wire = rtpush_wire_size(channels, n, data.data, data.len);
	if (wire > (size_t) rtpush_max_payload_bytes)
	{
		if (rtpush_oversize != RTPUSH_OVERSIZE_THIN)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("row of \"%s\" is too large for an event", cap->relname),
					 wire == (size_t) data.len ?
					 errdetail("Event \"%s\" would carry %d bytes of data; rtpush.max_payload_bytes is %d.",
							   event, data.len, rtpush_max_payload_bytes) :
					 errdetail("Event \"%s\" would carry %d bytes of data, %zu as sent (encrypted, or with rtpush.event_id_field); rtpush.max_payload_bytes is %d.",
							   event, data.len, wire, rtpush_max_payload_bytes),
					 errhint("Send fewer columns with columns=..., or SET rtpush.oversize = thin to send {\"table\",\"op\",\"id\",\"oversize\":true} so clients refetch.")));
		thin_payload(cap, &data, row, tev, old_key, data.len);
	}
	capture_enqueue(cap, event, channels, n, &data);
}

static void
capture_one(Capture *cap, TriggerEvent tev, TupleTableSlot *oldrow,
			TupleTableSlot *newrow)
{
	const char **channels;
	int			n;

	if (!capture_op_sends(cap, tev))
		return;
	if (TRIGGER_FIRED_BY_UPDATE(tev))
	{
		capture_update(cap, tev, oldrow, newrow);
		return;
	}
	channels = palloc(sizeof(char *) * cap->ntemplates);
	n = capture_expand_channels(cap, TRIGGER_FIRED_BY_DELETE(tev) ? oldrow : newrow,
								channels, true);
	if (n > 0)
		capture_send_row(cap, tev, TRIGGER_FIRED_BY_DELETE(tev) ? oldrow : newrow,
						 channels, n, NULL);
}

/* FOR EACH STATEMENT with transition tables: every row, in order */
static void
capture_statement(Capture *cap, TriggerData *td)
{
	TriggerEvent tev = td->tg_event;
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Tuplestorestate *oldts = td->tg_oldtable;
	Tuplestorestate *newts = td->tg_newtable;
	TupleTableSlot *oldrow = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	TupleTableSlot *newrow = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "rtpush row",
												 ALLOCSET_DEFAULT_SIZES);

	if (oldts)
		tuplestore_rescan(oldts);
	if (newts)
		tuplestore_rescan(newts);
	for (;;)
	{
		bool		more = true;
		MemoryContext old;

		/* tuples read back from disk belong to the slots: not rowcxt */
		if (oldts)
			more = tuplestore_gettupleslot(oldts, true, false, oldrow);
		if (newts && more)
			more = tuplestore_gettupleslot(newts, true, false, newrow);
		if (!more)
			break;
		old = MemoryContextSwitchTo(rowcxt);
		capture_one(cap, tev, oldts ? oldrow : NULL, newts ? newrow : NULL);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	ExecDropSingleTupleTableSlot(oldrow);
	ExecDropSingleTupleTableSlot(newrow);
}

/* ---- when and how the trigger may fire ---- */

static void
check_trigger_kind(const char *relname, const char *tgname, int16 tgtype,
				   bool has_old_table, bool has_new_table, bool has_changed)
{
	const char *why = NULL;

	if (!TRIGGER_FOR_AFTER(tgtype))
		why = "It is not an AFTER trigger";
	else if (TRIGGER_FOR_TRUNCATE(tgtype))
		why = "It fires on TRUNCATE, which has no rows";
	else if (!TRIGGER_FOR_ROW(tgtype) &&
			 ((TRIGGER_FOR_DELETE(tgtype) && !has_old_table) ||
			  ((TRIGGER_FOR_INSERT(tgtype) || TRIGGER_FOR_UPDATE(tgtype)) && !has_new_table) ||
			  (TRIGGER_FOR_UPDATE(tgtype) && has_changed && !has_old_table)))
		why = "It is FOR EACH STATEMENT without the transition tables it needs";
	else if (has_changed && !TRIGGER_FOR_UPDATE(tgtype))
		why = "It has a changed= option but does not fire on UPDATE";
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("trigger \"%s\" on \"%s\" cannot use rtpush.broadcast", tgname, relname),
				 errdetail("%s.", why),
				 errhint("Use AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW, or FOR EACH STATEMENT with REFERENCING NEW TABLE AS ... (and OLD TABLE AS ... for DELETE and changed=).")));
}

static void
check_trigger(Capture *cap, Trigger *tg)
{
	check_trigger_kind(cap->relname, tg->tgname, tg->tgtype,
					   tg->tgoldtable != NULL, tg->tgnewtable != NULL,
					   cap->nchanged > 0);
	capture_op_check(cap, tg->tgtype, tg->tgname);
}

Datum
rtpush_broadcast(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Capture    *cap;
	TriggerEvent tev;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rtpush.broadcast() can only be called as a trigger"),
				 errhint("Use it in CREATE TRIGGER ... EXECUTE FUNCTION rtpush.broadcast(...), or call rtpush.send().")));
	tev = td->tg_event;
	cap = fcinfo->flinfo->fn_extra;
	if (cap == NULL || !cap->valid || cap->tgoid != td->tg_trigger->tgoid)
	{
		cap = capture_get(td->tg_relation, td->tg_trigger);
		check_trigger(cap, td->tg_trigger);
		fcinfo->flinfo->fn_extra = cap;
	}
	if (TRIGGER_FIRED_FOR_ROW(tev) &&
		((TRIGGER_FIRED_BY_DELETE(tev) &&
		  capture_move_delete(cap, td->tg_trigger, td->tg_trigslot)) ||
		 (TRIGGER_FIRED_BY_INSERT(tev) &&
		  capture_move_insert(cap, td->tg_trigger, td->tg_trigslot))))
		return PointerGetDatum(NULL);	/* half of a move between partitions */
	if (TRIGGER_FIRED_FOR_ROW(tev))
		capture_one(cap, tev,
					TRIGGER_FIRED_BY_INSERT(tev) ? NULL : td->tg_trigslot,
					TRIGGER_FIRED_BY_UPDATE(tev) ? td->tg_newslot :
					TRIGGER_FIRED_BY_INSERT(tev) ? td->tg_trigslot : NULL);
	else
		capture_statement(cap, td);
	return PointerGetDatum(NULL);
}

/* ---- checks for rtpush.attach() and the CREATE TRIGGER event trigger ---- */

/* rtpush.check_broadcast_args(tbl regclass, args text[]): ERROR if bad */
Datum
rtpush_check_broadcast_args(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Relation	rel = table_open(relid, AccessShareLock);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **args;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	args = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("trigger arguments must not be null"),
					 errhint("Remove null channel templates and column names.")));
		args[i] = TextDatumGetCString(elems[i]);
	}
	capture_parse(rel, n, args);
	table_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/* rtpush.check_broadcast_trigger(tbl regclass, trigger oid): ERROR if bad */
Datum
rtpush_check_broadcast_trigger(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			tgoid = PG_GETARG_OID(1);
	Relation	rel = table_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;

	for (int i = 0; trigdesc && i < trigdesc->numtriggers; i++)
	{
		Trigger    *tg = &trigdesc->triggers[i];

		if (tg->tgoid == tgoid)
		{
			Capture    *cap = capture_parse(rel, tg->tgnargs, tg->tgargs);

			check_trigger(cap, tg);
		}
	}
	table_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}
