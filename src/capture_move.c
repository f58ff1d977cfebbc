/*-------------------------------------------------------------------------
 * capture_move.c
 *	  Rows that leave channels: the UPDATE half of capture.
 *
 * When an UPDATE changes a column a channel template uses (a patient moved
 * to another doctor: private-user.{doctor_id}.appointments), the channels
 * of the old row that the new row no longer has get the operation's event
 * with
 *	  {"rtpush_moved": true, "rtpush_old_key": {...}}
 * (and "rtpush_op": "UPDATE" with include_op=true), so that a client
 * holding the row can drop it; the new channels get the row as usual.
 * Such an UPDATE always sends, whatever changed= says.  When the UPDATE
 * changes the key, the row's payload carries "rtpush_old_key" too.  The
 * key is the "id" column, else the primary key columns, else (no key)
 * every payload column of the old row; rtpush_old_key is always a JSON
 * object: {"id": 7}.
 *
 * A cross-partition UPDATE reaches row triggers as an AFTER DELETE on the
 * old partition and an AFTER INSERT on the new one (PostgreSQL fires no
 * AFTER UPDATE row trigger for it).  The DELETE's old tuple is marked as
 * moved to another partition; its channels and key wait here until the
 * INSERT of the same trigger in the same command, which then sends what
 * the UPDATE would have sent.  rtpush.attach() makes an UPDATE trigger
 * on a partitioned table fire on INSERT and DELETE too (ops= says which
 * operations send, capture_op.c).  State: one list of waiting moves,
 * emptied at the end of every transaction.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "utils/memutils.h"

#include "capture.h"

typedef struct PendingMove
{
	char	   *tgname;
	int			nargs;
	char	  **args;
	SubTransactionId subid;
	CommandId	cid;
	const char **channels;		/* of the old row */
	int			nchannels;
	char	   *key;			/* JSON of the old key */
} PendingMove;

typedef struct MoveState
{
	bool		callback;		/* the end-of-transaction callback is registered */
	List	   *pending;		/* of PendingMove, in TopTransactionContext */
} MoveState;

static MoveState moves;

#define UPDATE_EVENT (TRIGGER_EVENT_UPDATE | TRIGGER_EVENT_ROW)

void
capture_move_setup(Capture *cap, TupleDesc desc)
{
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * (desc->natts + 1));
	int			n = 0;

	for (int t = 0; t < cap->ntemplates; t++)
		for (int s = 0; s < cap->templates[t].nsegs; s++)
		{
			Segment    *sg = &cap->templates[t].segs[s];
			bool		seen = false;

			if (sg->literal)
				continue;
			for (int i = 0; i < n; i++)
				seen |= attnums[i] == sg->attnum;
			if (!seen)
				attnums[n++] = sg->attnum;
		}
	capture_set_compare_columns(&cap->tplcols, &cap->ntplcols, desc, attnums, n);
	n = 0;
	for (int i = 0; i < cap->nids; i++)
		attnums[n++] = cap->ids[i].attnum;
	capture_set_compare_columns(&cap->keycols, &cap->nkeycols, desc, attnums, n);
}

/* the old key as a JSON object (see above) */
static char *
old_key(Capture *cap, TupleTableSlot *row)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (cap->nids > 0)
		capture_append_json_object(&buf, cap->ids, cap->nids, row);
	else
		capture_append_json_object(&buf, cap->cols, cap->ncols, row);
	return buf.data;
}

/* queues the "moved" event on the old channels the new row lacks */
static void
send_moved(Capture *cap, const char **oldch, int nold, const char **newch,
		   int nnew, const char *key)
{
	const char **left = palloc(sizeof(char *) * Max(nold, 1));
	int			nleft = 0;
	StringInfoData data;

	for (int i = 0; i < nold; i++)
	{
		bool		kept = false;

		for (int j = 0; j < nnew && !kept; j++)
			kept = strcmp(oldch[i], newch[j]) == 0;
		if (!kept)
			left[nleft++] = oldch[i];
	}
	if (nleft == 0)
		return;
	initStringInfo(&data);
	appendStringInfo(&data, "{\"rtpush_moved\":true,\"rtpush_old_key\":%s", key);
	if (cap->ops.include_op)
		appendStringInfoString(&data, ",\"rtpush_op\":\"UPDATE\"");
	appendStringInfoChar(&data, '}');
	capture_enqueue(cap, capture_op_event(cap, UPDATE_EVENT), left, nleft, &data);
}

/* an UPDATE of a row that stays in its table (or partition) */
void
capture_update(Capture *cap, TriggerEvent tev, TupleTableSlot *oldrow,
			   TupleTableSlot *newrow)
{
	bool		moved = capture_columns_differ(cap->tplcols, cap->ntplcols, oldrow, newrow);
	const char **channels;
	int			n;
	char	   *key = NULL;

	if (!moved && cap->nchanged > 0 &&
		!capture_columns_differ(cap->changed, cap->nchanged, oldrow, newrow))
		return;
	channels = palloc(sizeof(char *) * cap->ntemplates);
	n = capture_expand_channels(cap, newrow, channels, true);
	if (moved)
	{
		const char **oldch = palloc(sizeof(char *) * cap->ntemplates);
		int			nold = capture_expand_channels(cap, oldrow, oldch, false);

		key = old_key(cap, oldrow);
		send_moved(cap, oldch, nold, channels, n, key);
	}
	if (n == 0)
		return;
	if (cap->nkeycols > 0 &&
		capture_columns_differ(cap->keycols, cap->nkeycols, oldrow, newrow))
		capture_send_row(cap, tev, newrow, channels, n, key ? key : old_key(cap, oldrow));
	else
		capture_send_row(cap, tev, newrow, channels, n, NULL);
}

/* ---- moves between partitions ---- */

static void
moves_at_end(XactEvent event, void *arg)
{
	moves.pending = NIL;		/* its memory goes with TopTransactionContext */
}

static bool
moved_partition(TupleTableSlot *slot)
{
	HeapTuple	t;

	if (!TTS_IS_BUFFERTUPLE(slot))
		return false;
	t = ((BufferHeapTupleTableSlot *) slot)->base.tuple;
	return t && t->t_data && HeapTupleHeaderIndicatesMovedPartitions(t->t_data);
}

static bool
same_trigger(PendingMove *pm, Capture *cap, Trigger *tg)
{
	if (strcmp(pm->tgname, tg->tgname) != 0 || pm->nargs != cap->nargs ||
		pm->subid != GetCurrentSubTransactionId() ||
		pm->cid != GetCurrentCommandId(false))
		return false;
	for (int i = 0; i < cap->nargs; i++)
		if (strcmp(pm->args[i], cap->args[i]) != 0)
			return false;
	return true;
}

/*
 * The AFTER DELETE of a row that moved to another partition, for a trigger
 * that sends UPDATEs and will see the INSERT: keeps its channels and key
 * for capture_move_insert() and returns true (nothing to send yet).
 */
bool
capture_move_delete(Capture *cap, Trigger *tg, TupleTableSlot *oldrow)
{
	MemoryContext old;
	PendingMove *pm;

	if (!TRIGGER_FOR_UPDATE(tg->tgtype) || !TRIGGER_FOR_INSERT(tg->tgtype) ||
		!capture_op_sends(cap, UPDATE_EVENT) || !moved_partition(oldrow))
		return false;
	if (!moves.callback)
	{
		RegisterXactCallback(moves_at_end, NULL);
		moves.callback = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	pm = palloc(sizeof(PendingMove));
	pm->tgname = pstrdup(tg->tgname);
	pm->nargs = cap->nargs;
	pm->args = palloc(sizeof(char *) * Max(cap->nargs, 1));
	for (int i = 0; i < cap->nargs; i++)
		pm->args[i] = pstrdup(cap->args[i]);
	pm->subid = GetCurrentSubTransactionId();
	pm->cid = GetCurrentCommandId(false);
	pm->channels = palloc(sizeof(char *) * cap->ntemplates);
	pm->nchannels = capture_expand_channels(cap, oldrow, pm->channels, false);
	pm->key = old_key(cap, oldrow);
	moves.pending = lcons(pm, moves.pending);
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * The AFTER INSERT of a row: when it ends a move between partitions (a
 * waiting move of the same trigger and command), sends what the UPDATE
 * sends and returns true.
 */
bool
capture_move_insert(Capture *cap, Trigger *tg, TupleTableSlot *newrow)
{
	ListCell   *lc;
	PendingMove *pm = NULL;
	const char **channels;
	int			n;
	char	   *key;

	foreach(lc, moves.pending)
		if (same_trigger(lfirst(lc), cap, tg))
		{
			pm = lfirst(lc);
			moves.pending = foreach_delete_current(moves.pending, lc);
			break;
		}
	if (pm == NULL)
		return false;
	channels = palloc(sizeof(char *) * cap->ntemplates);
	n = capture_expand_channels(cap, newrow, channels, true);
	send_moved(cap, pm->channels, pm->nchannels, channels, n, pm->key);
	if (n > 0)
	{
		key = old_key(cap, newrow);
		capture_send_row(cap, UPDATE_EVENT, newrow, channels, n,
						 strcmp(key, pm->key) != 0 ? pm->key : NULL);
	}
	return true;
}
