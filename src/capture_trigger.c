/*-------------------------------------------------------------------------
 * capture_trigger.c
 *	  rtpush.broadcast(), the C trigger that turns row writes into events:
 *	  when and how it may fire, the per-backend cache of parsed arguments,
 *	  row and statement triggers; and the checks behind rtpush.attach() and
 *	  the CREATE TRIGGER event trigger.
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
 * Parsing the arguments is capture_args.c's, building the events
 * capture_event.c's.
 *
 * Parsed trigger arguments are cached per backend by trigger OID, checked
 * against the trigger's arguments on every use and dropped on a relcache
 * invalidation of the table (ALTER TABLE, CREATE/DROP TRIGGER).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "capture.h"

PG_FUNCTION_INFO_V1(rtpush_broadcast);
PG_FUNCTION_INFO_V1(rtpush_check_broadcast_args);
PG_FUNCTION_INFO_V1(rtpush_check_broadcast_trigger);

/* the parsed arguments of the triggers this backend has run, by trigger OID */
static HTAB *capture_cache = NULL;

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

/* ---- firing ---- */

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

/* why a trigger cannot use rtpush.broadcast, if it cannot */
typedef enum TriggerUnfit
{
	TRIGGER_FITS,
	TRIGGER_NOT_AFTER,
	TRIGGER_ON_TRUNCATE,
	TRIGGER_NO_TRANSITION_TABLES,
	TRIGGER_CHANGED_WITHOUT_UPDATE
} TriggerUnfit;

static void
check_trigger_kind(const char *relname, const char *tgname, int16 tgtype,
				   bool has_old_table, bool has_new_table, bool has_changed)
{
	TriggerUnfit unfit = TRIGGER_FITS;

	if (!TRIGGER_FOR_AFTER(tgtype))
		unfit = TRIGGER_NOT_AFTER;
	else if (TRIGGER_FOR_TRUNCATE(tgtype))
		unfit = TRIGGER_ON_TRUNCATE;
	else if (!TRIGGER_FOR_ROW(tgtype) &&
			 ((TRIGGER_FOR_DELETE(tgtype) && !has_old_table) ||
			  ((TRIGGER_FOR_INSERT(tgtype) || TRIGGER_FOR_UPDATE(tgtype)) && !has_new_table) ||
			  (TRIGGER_FOR_UPDATE(tgtype) && has_changed && !has_old_table)))
		unfit = TRIGGER_NO_TRANSITION_TABLES;
	else if (has_changed && !TRIGGER_FOR_UPDATE(tgtype))
		unfit = TRIGGER_CHANGED_WITHOUT_UPDATE;
	if (unfit != TRIGGER_FITS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("trigger \"%s\" on \"%s\" cannot use rtpush.broadcast", tgname, relname),
				 unfit == TRIGGER_NOT_AFTER ?
				 errdetail("It is not an AFTER trigger.") :
				 unfit == TRIGGER_ON_TRUNCATE ?
				 errdetail("It fires on TRUNCATE, which has no rows.") :
				 unfit == TRIGGER_NO_TRANSITION_TABLES ?
				 errdetail("It is FOR EACH STATEMENT without the transition tables it needs.") :
				 errdetail("It has a changed= option but does not fire on UPDATE."),
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
