/*-------------------------------------------------------------------------
 * history_write.c
 *	  The rows the worker writes to rtpush.history for the events it is
 *	  about to send, in the transaction that fetched them (see
 *	  history_store.c for why).  An outbox module: with outbox*.c and
 *	  history_store.c / history_read.c the only code that touches
 *	  rtpush's event tables.
 *
 * Since 0.5 (rtpush--0.4--0.5.sql, section 50.3) a row holds the events of
 * one channel from one fetch, at most HISTORY_GROUP_EVENTS of them, as
 * arrays in position order: a fetch of 1,000 events on 100 channels writes
 * about 100 rows and index entries, not 1,000.  An extension still at 0.4
 * (the library updated, ALTER EXTENSION UPDATE not yet run) has a row per
 * event and channel, and gets those.  Which one the table has is read from
 * the catalog under the lock the insert takes, so an update that commits
 * meanwhile is seen.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "history_store.h"
#include "payload.h"

/* at most this many events in one history row */
#define HISTORY_GROUP_EVENTS 100

/* 0.4: a row per event and channel */
static const char *ROWS_SQL =
"INSERT INTO rtpush.history (position, id, channel, event, data) "
"SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])";

/* 0.5: rows of rtpush.history's own type, made here */
static const char *GROUPS_SQL = "INSERT INTO rtpush.history SELECT * FROM unnest($1)";

/* The kept plans of the two inserts. */
typedef struct HistoryWrite
{
	SPIPlanPtr	rows_plan;
	SPIPlanPtr	groups_plan;
} HistoryWrite;

static HistoryWrite hw;

/*
 * One event on one of its channels.  Sorted by the channel's hash, then
 * the channel, then fetch order: a channel's entries come together, in
 * fetch order, and most comparisons are of two integers (the channels of a
 * fetch often share a long prefix).
 */
typedef struct HistoryEntry
{
	uint32		hash;
	const char *channel;
	int			ev;
} HistoryEntry;

void
history_write_forget(void)
{
	if (hw.rows_plan)
		SPI_freeplan(hw.rows_plan);
	if (hw.groups_plan)
		SPI_freeplan(hw.groups_plan);
	hw.rows_plan = NULL;
	hw.groups_plan = NULL;
}

/*
 * *plan, prepared and kept the first time (history_read.c's too), always
 * with its generic plan.  Every history query is a key range or lookup
 * whose generic plan is right for any arguments; left to choose, the plan
 * cache found the generic plan's estimate above the custom plans' and
 * planned every call afresh: half of a one-event rtpush.history() call was
 * planning the 16 partitions.
 */
SPIPlanPtr
history_kept_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare a history query: %s", SPI_result_code_string(SPI_result));
		*plan = p;
	}
	return *plan;
}

static Datum
array_of(Datum *d, int n, Oid type)
{
	int16		len;
	bool		byval;
	char		align;

	get_typlenbyvalalign(type, &len, &byval, &align);
	return PointerGetDatum(construct_array(d, n, type, len, byval, align));
}

/*
 * Locks rtpush.history as the insert will, and says whether it has 0.5's
 * rows (a "positions" column); *rowtype is its composite type.
 */
static bool
grouped_layout(Oid *rowtype)
{
	Oid			rel = get_relname_relid("history", get_namespace_oid("rtpush", false));

	if (!OidIsValid(rel))
		elog(ERROR, "rtpush.history does not exist");
	LockRelationOid(rel, RowExclusiveLock);
	*rowtype = get_rel_type_id(rel);
	return get_attnum(rel, "positions") != InvalidAttrNumber;
}

/* 0.4's rows: one per event and channel */
static void
record_rows(OutboxEvent **evs, int n, Datum *data, int rows)
{
	Oid			types[5] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		args[5];
	Datum	   *cols[5];
	int			r = 0;

	for (int c = 0; c < 5; c++)
		cols[c] = palloc(sizeof(Datum) * rows);
	for (int i = 0; i < n; i++)
	{
		for (int k = 0; k < evs[i]->nchannels; k++, r++)
		{
			cols[0][r] = Int64GetDatum(evs[i]->position);
			cols[1][r] = Int64GetDatum(evs[i]->id);
			cols[2][r] = CStringGetTextDatum(evs[i]->channels[k]);
			cols[3][r] = CStringGetTextDatum(evs[i]->event);
			cols[4][r] = data[i];
		}
	}
	args[0] = array_of(cols[0], rows, INT8OID);
	args[1] = array_of(cols[1], rows, INT8OID);
	for (int c = 2; c < 5; c++)
		args[c] = array_of(cols[c], rows, TEXTOID);
	if (SPI_execute_plan(history_kept_plan(&hw.rows_plan, ROWS_SQL, 5, types), args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record events in history");
}

static int
entry_cmp(const void *a, const void *b)
{
	const HistoryEntry *x = a;
	const HistoryEntry *y = b;
	int			c;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	c = strcmp(x->channel, y->channel);
	return c != 0 ? c : x->ev - y->ev;
}

/* The columns of a group row, by name: the table's order is not assumed. */
typedef struct GroupColumns
{
	int			position,
				positions,
				ids,
				channel,
				events,
				data;
} GroupColumns;

static int
column(TupleDesc desc, const char *name)
{
	int			att = SPI_fnumber(desc, name);

	if (att <= 0)
		elog(ERROR, "rtpush.history has no column \"%s\"", name);
	return att - 1;
}

/* the row of count entries of one channel, in fetch order */
static Datum
group_row(TupleDesc desc, const GroupColumns *col, OutboxEvent **evs, Datum *data,
		  HistoryEntry *e, int count)
{
	Datum	   *values = palloc0(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	Datum	   *pos = palloc(sizeof(Datum) * count);
	Datum	   *ids = palloc(sizeof(Datum) * count);
	Datum	   *names = palloc(sizeof(Datum) * count);
	Datum	   *dat = palloc(sizeof(Datum) * count);

	memset(nulls, true, sizeof(bool) * desc->natts);
	for (int j = 0; j < count; j++)
	{
		OutboxEvent *ev = evs[e[j].ev];

		pos[j] = Int64GetDatum(ev->position);
		ids[j] = Int64GetDatum(ev->id);
		names[j] = CStringGetTextDatum(ev->event);
		dat[j] = data[e[j].ev];
	}
	values[col->position] = pos[0];
	values[col->positions] = array_of(pos, count, INT8OID);
	values[col->ids] = array_of(ids, count, INT8OID);
	values[col->channel] = CStringGetTextDatum(e[0].channel);
	values[col->events] = array_of(names, count, TEXTOID);
	values[col->data] = array_of(dat, count, TEXTOID);
	nulls[col->position] = nulls[col->positions] = nulls[col->ids] = false;
	nulls[col->channel] = nulls[col->events] = nulls[col->data] = false;
	return heap_copy_tuple_as_datum(heap_form_tuple(desc, values, nulls), desc);
}

/* 0.5's rows: one per channel, of up to HISTORY_GROUP_EVENTS events */
static void
record_groups(OutboxEvent **evs, int n, Datum *data, int entries, Oid rowtype)
{
	HistoryEntry *e = palloc(sizeof(HistoryEntry) * entries);
	Datum	   *rows = palloc(sizeof(Datum) * entries);
	Oid			argtype = get_array_type(rowtype);
	TupleDesc	desc = lookup_rowtype_tupdesc(rowtype, -1);
	GroupColumns col;
	Datum		arg;
	int			nrows = 0;
	int			m = 0;

	col.position = column(desc, "position");
	col.positions = column(desc, "positions");
	col.ids = column(desc, "ids");
	col.channel = column(desc, "channel");
	col.events = column(desc, "events");
	col.data = column(desc, "data");
	for (int i = 0; i < n; i++)
		for (int k = 0; k < evs[i]->nchannels; k++)
		{
			const char *ch = evs[i]->channels[k];

			e[m++] = (HistoryEntry) {hash_bytes((const unsigned char *) ch, strlen(ch)), ch, i};
		}
	qsort(e, entries, sizeof(HistoryEntry), entry_cmp);
	for (int from = 0; from < entries;)
	{
		int			to = from + 1;

		while (to < entries && to - from < HISTORY_GROUP_EVENTS && e[to].hash == e[from].hash &&
			   strcmp(e[to].channel, e[from].channel) == 0)
			to++;
		rows[nrows++] = group_row(desc, &col, evs, data, &e[from], to - from);
		from = to;
	}
	ReleaseTupleDesc(desc);
	arg = array_of(rows, nrows, rowtype);
	if (SPI_execute_plan(history_kept_plan(&hw.groups_plan, GROUPS_SQL, 1, &argtype), &arg, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record events in history");
}

/* The events held, with the data as clients get it (before encryption). */
void
history_record(OutboxEvent **evs, int n)
{
	Datum	   *data;
	int			entries = 0;
	Oid			rowtype;

	for (int i = 0; i < n; i++)
		entries += evs[i]->nchannels;
	if (entries == 0 || !history_active())
		return;
	data = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		const char *plain;
		size_t		len;

		outbox_event_plain(evs[i], &plain, &len);
		data[i] = PointerGetDatum(cstring_to_text_with_len(plain, len));
	}
	if (grouped_layout(&rowtype))
		record_groups(evs, n, data, entries, rowtype);
	else
		record_rows(evs, n, data, entries);
}
