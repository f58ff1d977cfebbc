/*-------------------------------------------------------------------------
 * outbox.c
 *	  The write side of the outbox: the encryption key check and the only code that
 *	  inserts into rtpush.outbox (the worker's read side is outbox_drain.c).
 *
 * Rows are formed here and inserted directly through the table AM (heap)
 * and the index AM: no SPI, no planner, no executor.  The column defaults
 * of rtpush--0.1.sql (section 00) are computed here: id from this backend's block of rtpush.outbox_id_seq (see
 * outbox.id_next below), xid = the top-level transaction id, queued_at = clock
 * time.  The primary key is enforced by inserting into
 * every ready index with UNIQUE_CHECK_YES for unique ones.
 *
 * No ACL check is made on the outbox: PUBLIC has no rights on it, and the
 * gate is EXECUTE on rtpush.send() (and, for triggers, the right to create
 * a trigger with rtpush.broadcast()), which the install script does not
 * grant to PUBLIC.
 *
 * The outbox's and sequence's OIDs, attribute numbers, indexes (with their
 * IndexInfo) and a tuple slot are cached per
 * backend and rebuilt after any relcache invalidation of either relation
 * (ALTER TABLE, CREATE INDEX, ALTER SEQUENCE, DROP EXTENSION) or of the whole
 * cache: a queued event costs a heap insert, one index insert per index,
 * and no catalog lookup.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "app.h"
#include "crypto.h"
#include "outbox.h"
#include "payload.h"
#include "pusher.h"
#include "settings.h"
#include "status.h"

/* the columns enqueue fills, in this order */
enum
{
	COL_ID,
	COL_XID,
	COL_QUEUED_AT,
	COL_CHANNELS,
	COL_EVENT,
	COL_DATA,
	COL_SOCKET_ID,
	COL_ATTEMPTS,
	NCOLS
};

static const char *const col_names[NCOLS] = {
	"id", "xid", "queued_at", "channels", "event", "data", "socket_id", "attempts"
};


/* ---- checks ---- */

/*
 * An encrypted channel needs a usable master key now: the worker must never
 * find an event it cannot encrypt (and never sends one in plaintext).
 */
static void
check_master_key(const char *channel)
{
	unsigned char key[PUSHER_MASTER_KEY_BYTES];
	const char *why;
	const RtpushApp *app = rtpush_app();
	const char *master_key = app->master_key;
	bool		ok = pusher_master_key_decode(master_key, key, &why);
	bool		unset = master_key[0] == '\0';

	explicit_bzero(key, sizeof(key));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot queue an event on encrypted channel \"%s\"", channel),
				 unset ?
				 errdetail("rtpush.encryption_master_key is not set.") :
				 errdetail("rtpush.encryption_master_key is not the base64 encoding of 32 bytes."),
				 app->own ?
				 errhint("This database has its own app: set it again with SELECT rtpush.set_app(..., encryption_master_key => '...'), the base64 of 32 random bytes (openssl rand -base64 32).") :
				 errhint("Set rtpush.encryption_master_key to the base64 of 32 random bytes (openssl rand -base64 32) and reload the configuration.")));
}

/* ---- the outbox relation ---- */

typedef struct OutboxIndex
{
	Oid			oid;
	IndexInfo  *info;
} OutboxIndex;

/*
 * What this backend knows of the outbox: built the first time an event is
 * queued, marked stale by a relcache invalidation of the outbox or of its
 * sequence (ALTER TABLE, CREATE INDEX, ALTER SEQUENCE, DROP EXTENSION, or a
 * reset of the whole cache), and rebuilt by the next enqueue after it has
 * locked the outbox.  Stale memory is freed only by that rebuild, never in
 * the callback, so an insertion in progress keeps what it uses.
 */
static struct
{
	bool		valid;
	Oid			relid;
	Oid			seqid;
	MemoryContext cxt;
	AttrNumber	attnum[NCOLS];
	TupleTableSlot *slot;		/* over a copy of the outbox's descriptor */
	int			nindexes;
	OutboxIndex *indexes;		/* the indexes ready for inserts */
	uint64		inval_count;	/* invalidations seen, to detect one during a rebuild */
	bool		callback_registered;

	/*
	 * This backend's block of event ids, [id_next, id_last].
	 * rtpush.outbox_id_seq counts in steps of its INCREMENT (64 as
	 * installed).  A nextval() that returns v went from v - INCREMENT to v,
	 * so no caller ever gets the values between: this backend takes (v -
	 * INCREMENT, v] and hands them out one by one, v last.  Rows written by
	 * hand with the column default get v and waste the rest.  Ids are unique
	 * (as long as nobody moves the sequence back with setval or RESTART),
	 * increase within a backend, so within a transaction, and are neither
	 * dense nor in commit order.
	 */
	int64		id_next;
	int64		id_last;
}			outbox = {.id_next = 1, .id_last = 0};

static void
outbox_relcache_changed(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == outbox.relid || relid == outbox.seqid)
	{
		outbox.valid = false;
		outbox.inval_count++;
		/* ALTER SEQUENCE ... RESTART wants new ids from now on */
		outbox.id_next = 1;
		outbox.id_last = 0;
	}
}

static void
outbox_lookup(void)
{
	Oid			nsp = get_namespace_oid("rtpush", true);

	if (!outbox.callback_registered)
	{
		CacheRegisterRelcacheCallback(outbox_relcache_changed, (Datum) 0);
		outbox.callback_registered = true;
	}
	outbox.relid = outbox.seqid = InvalidOid;
	if (OidIsValid(nsp))
	{
		outbox.relid = get_relname_relid("outbox", nsp);
		outbox.seqid = get_relname_relid("outbox_id_seq", nsp);
	}
	if (!OidIsValid(outbox.relid) || !OidIsValid(outbox.seqid))
	{
		outbox.relid = outbox.seqid = InvalidOid;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"rtpush\" is not installed in this database"),
				 errdetail("Table rtpush.outbox or sequence rtpush.outbox_id_seq does not exist."),
				 errhint("Run CREATE EXTENSION rtpush.")));
	}
}

/* maps the columns enqueue fills to attribute numbers; checks the others */
static void
outbox_map_columns(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int c = 0; c < NCOLS; c++)
		outbox.attnum[c] = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;

		if (att->attisdropped)
			continue;
		for (c = 0; c < NCOLS; c++)
			if (strcmp(NameStr(att->attname), col_names[c]) == 0)
				break;
		if (c < NCOLS)
			outbox.attnum[c] = att->attnum;
		else if (att->attnotnull)
			elog(ERROR, "rtpush.outbox column \"%s\" is NOT NULL but not filled by rtpush",
				 NameStr(att->attname));
	}
	for (int c = 0; c < NCOLS; c++)
		if (outbox.attnum[c] == InvalidAttrNumber)
			elog(ERROR, "rtpush.outbox has no column \"%s\"", col_names[c]);
}

/* the indexes to maintain, with their IndexInfo */
static void
outbox_map_indexes(Relation rel)
{
	List	   *oids = RelationGetIndexList(rel);
	ListCell   *lc;

	outbox.indexes = palloc(sizeof(OutboxIndex) * Max(list_length(oids), 1));
	outbox.nindexes = 0;
	foreach(lc, oids)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *ii = BuildIndexInfo(idx);

		if (ii->ii_ReadyForInserts)
		{
			if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL ||
				ii->ii_ExclusionOps != NULL || !idx->rd_index->indimmediate)
				elog(ERROR, "rtpush.outbox index \"%s\" is not a plain immediate index",
					 RelationGetRelationName(idx));
			outbox.indexes[outbox.nindexes].oid = lfirst_oid(lc);
			outbox.indexes[outbox.nindexes].info = ii;
			outbox.nindexes++;
		}
		index_close(idx, NoLock);
	}
}

static void
outbox_build(Relation rel)
{
	uint64		inval_count = outbox.inval_count;
	MemoryContext old;

	if (outbox.cxt == NULL)
		outbox.cxt = AllocSetContextCreate(CacheMemoryContext, "rtpush outbox",
										   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(outbox.cxt);
	outbox.slot = NULL;
	if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
		elog(ERROR, "rtpush.outbox is not a heap table");
	old = MemoryContextSwitchTo(outbox.cxt);
	outbox_map_columns(rel);
	outbox_map_indexes(rel);
	outbox.slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)),
										   &TTSOpsHeapTuple);
	MemoryContextSwitchTo(old);
	/* an invalidation while building: this insertion uses it, the next rebuilds */
	outbox.valid = (inval_count == outbox.inval_count);
}

/* opens the outbox with RowExclusiveLock, (re)building the cache if needed */
static Relation
outbox_open(void)
{
	Relation	rel = NULL;

	if (outbox.valid)
		rel = try_table_open(outbox.relid, RowExclusiveLock);
	/* locking processed invalidations: the cache may be stale now */
	if (rel != NULL && outbox.valid)
		return rel;
	if (rel)
		table_close(rel, RowExclusiveLock);
	outbox.valid = false;
	outbox_lookup();
	rel = table_open(outbox.relid, RowExclusiveLock);
	outbox_build(rel);
	return rel;
}

/* ---- insertion ---- */

/*
 * The sequence's INCREMENT and MINVALUE as the nextval() just made used them:
 * it holds the sequence's lock until the transaction ends, and ALTER
 * SEQUENCE waits for that lock.
 */
static void
sequence_step(int64 *increment, int64 *minvalue)
{
	HeapTuple	tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(outbox.seqid));

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for sequence %u", outbox.seqid);
	*increment = ((Form_pg_sequence) GETSTRUCT(tup))->seqincrement;
	*minvalue = ((Form_pg_sequence) GETSTRUCT(tup))->seqmin;
	ReleaseSysCache(tup);
}

static int64
outbox_next_id(void)
{
	if (outbox.id_next > outbox.id_last)
	{
		int64		top = nextval_internal(outbox.seqid, false);
		int64		increment;
		int64		minvalue;
		int64		first = top;

		sequence_step(&increment, &minvalue);
		if (increment > 1 &&
			(pg_sub_s64_overflow(top, increment - 1, &first) || first < minvalue))
			first = minvalue;	/* the first value: nobody had any below */
		outbox.id_next = first;
		outbox.id_last = top;
	}
	return outbox.id_next++;
}

/* the row's entries in every index, with the keys taken from its values */
static void
insert_index_entries(Relation rel, ItemPointer tid, const Datum *values,
					 const bool *isnull)
{
	for (int i = 0; i < outbox.nindexes; i++)
	{
		IndexInfo  *ii = outbox.indexes[i].info;
		Relation	idx = index_open(outbox.indexes[i].oid, RowExclusiveLock);
		Datum		keys[INDEX_MAX_KEYS];
		bool		keynull[INDEX_MAX_KEYS];

		for (int k = 0; k < ii->ii_NumIndexAttrs; k++)
		{
			AttrNumber	a = ii->ii_IndexAttrNumbers[k];

			keys[k] = values[a - 1];
			keynull[k] = isnull[a - 1];
		}
		index_insert(idx, keys, keynull, tid, rel,
					 ii->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, ii);
		index_close(idx, NoLock);
	}
}

static int64
insert_row(Relation rel, const RtpushEvent *ev, const char *const *channels,
		   int nchannels)
{
	TupleTableSlot *slot = outbox.slot;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *isnull = palloc(sizeof(bool) * desc->natts);
	Datum	   *chans = palloc(sizeof(Datum) * nchannels);
	int64		id = outbox_next_id();

	for (int i = 0; i < nchannels; i++)
		chans[i] = CStringGetTextDatum(channels[i]);

	memset(isnull, true, sizeof(bool) * desc->natts);
#define SET(c, v) (values[outbox.attnum[c] - 1] = (v), isnull[outbox.attnum[c] - 1] = false)
	SET(COL_ID, Int64GetDatum(id));
	SET(COL_XID, FullTransactionIdGetDatum(GetTopFullTransactionId()));
	SET(COL_QUEUED_AT, TimestampTzGetDatum(GetCurrentTimestamp()));
	SET(COL_CHANNELS, PointerGetDatum(construct_array(chans, nchannels, TEXTOID,
													  -1, false, TYPALIGN_INT)));
	SET(COL_EVENT, CStringGetTextDatum(ev->event));
	SET(COL_DATA, PointerGetDatum(cstring_to_text_with_len(ev->data, ev->datalen)));
	if (ev->socket_id)
		SET(COL_SOCKET_ID, CStringGetTextDatum(ev->socket_id));
	SET(COL_ATTEMPTS, Int32GetDatum(0));
#undef SET

	/* the slot owns the tuple, so the table AM inserts it without a copy */
	ExecStoreHeapTuple(heap_form_tuple(desc, values, isnull), slot, true);
	table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
	insert_index_entries(rel, &slot->tts_tid, values, isnull);
	/* the slot outlives the transaction: it lets go of the tuple now */
	ExecClearTuple(slot);
	return id;
}

/*
 * The bytes of the members payload_plain() may add to data at most, and the
 * quotes among them (each escaped in a request body).
 */
static size_t
added_members(const char *data, size_t datalen, size_t *quotes)
{
	size_t		size = 0;

	*quotes = 0;
	if (datalen == 0 || data[0] != '{')
		return 0;
	if (rtpush_event_id_field[0])
	{
		size += strlen(rtpush_event_id_field) + 4 + 20; /* "f":<int64>, */
		*quotes += 2;
	}
	if (rtpush_history_retention > 0)
	{
		size += PAYLOAD_HISTORY_MEMBERS_MAX;
		*quotes += 6;
	}
	return size;
}

size_t
rtpush_wire_size(const char *const *channels, int nchannels,
				 const char *data, size_t datalen)
{
	size_t		quotes;
	size_t		size = datalen + added_members(data, datalen, &quotes);

	for (int i = 0; i < nchannels; i++)
		if (pusher_channel_is_encrypted(channels[i]))
			return pusher_envelope_size(size);
	return size;
}

/* the widest /events request of one outbox row of ev on these channels */
static size_t
row_request_size(const RtpushEvent *ev, const char *const *channels, int n)
{
	char		host[300];
	PusherRequestHead head;
	size_t		quotes;
	size_t		added = added_members(ev->data, ev->datalen, &quotes);
	size_t		str;
	const RtpushApp *app = rtpush_app();

	if (n == 1 && pusher_channel_is_encrypted(channels[0]))
		str = pusher_envelope_string_size(ev->datalen + added);
	else
		str = pusher_json_string_size(ev->data, ev->datalen) + added + quotes;
	rtpush_app_host_header(app, host, sizeof(host));
	head.host = host;
	head.target_len = pusher_request_target_len(strlen(app->app_id), false, strlen(app->key),
												PUSHER_TIMESTAMP_WIDEST);
	head.idempotency_key = rtpush_idempotency_key;
	return pusher_request_size(&head, pusher_events_body_size(ev->event, channels, n, ev->socket_id, str));
}

size_t
rtpush_request_size(const RtpushEvent *ev)
{
	const char **plain = palloc(sizeof(char *) * Max(ev->nchannels, 1));
	int			nplain = 0;
	size_t		size = 0;

	/* as rtpush_outbox_enqueue() splits it: each encrypted channel alone */
	for (int i = 0; i < ev->nchannels; i++)
	{
		if (pusher_channel_is_encrypted(ev->channels[i]))
			size = Max(size, row_request_size(ev, &ev->channels[i], 1));
		else
			plain[nplain++] = ev->channels[i];
	}
	if (nplain > 0)
		size = Max(size, row_request_size(ev, plain, nplain));
	pfree(plain);
	return size;
}

int64
rtpush_outbox_enqueue(const RtpushEvent *ev)
{
	Relation	rel;
	int64		first;
	int			nenc = 0;

	PreventCommandIfReadOnly("rtpush event capture");
	PreventCommandIfParallelMode("rtpush event capture");

	for (int i = 0; i < ev->nchannels; i++)
		if (pusher_channel_is_encrypted(ev->channels[i]))
		{
			if (nenc++ == 0)
				check_master_key(ev->channels[i]);
		}

	rel = outbox_open();
	if (nenc == 0 || ev->nchannels == 1)
		first = insert_row(rel, ev, ev->channels, ev->nchannels);
	else
	{
		/* Pusher refuses encrypted channels in multi-channel events */
		const char **rest = palloc(sizeof(char *) * ev->nchannels);
		int			nrest = 0;

		first = -1;
		for (int i = 0; i < ev->nchannels; i++)
			if (!pusher_channel_is_encrypted(ev->channels[i]))
				rest[nrest++] = ev->channels[i];
		if (nrest > 0)
			first = insert_row(rel, ev, rest, nrest);
		for (int i = 0; i < ev->nchannels; i++)
		{
			if (pusher_channel_is_encrypted(ev->channels[i]))
			{
				int64		id = insert_row(rel, ev, &ev->channels[i], 1);

				if (first < 0)
					first = id;
			}
		}
		pfree(rest);
	}
	table_close(rel, NoLock);
	rtpush_note_queued();
	return first;
}
