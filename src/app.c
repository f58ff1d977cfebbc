/*-------------------------------------------------------------------------
 * app.c
 *	  Which Pusher app this database delivers to and signs for: the one
 *	  row of rtpush.app_config if there is one (each NULL column taking
 *	  the cluster-wide setting), else the cluster-wide settings
 *	  (settings.c).  Every user of the credentials and the endpoint asks
 *	  here: the worker, the auth functions, the capture trigger's check of
 *	  the master key, the webhook check and the log redaction.
 *
 * The row is read with a plain heap scan, without a permission check: the
 * table is superusers' only (it holds the secret), yet an app role's
 * rtpush.authorize_channel() must sign with it, as it signs with the
 * superuser-only rtpush.secret.  Each backend keeps what it read, in its
 * own memory context, until a relcache invalidation of the table: the
 * table's statement trigger (app_config.c) sends one at commit of every
 * change, so every backend, the worker included, reads the new row in its
 * next transaction.  Nothing is read outside a transaction.  That message
 * comes after the change's commit is visible, so the worker, whose fetch
 * may read events committed after a rtpush.set_app() before the message
 * is there, also looks at the row's version after each fetch that found
 * events (rtpush_app_refresh(true)): those events go to the new app.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "utils/rel.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "app.h"
#include "settings.h"

/* rtpush.app_config's columns, in the order rtpush--0.7--0.8.sql makes them */
enum
{
	COL_ONE,
	COL_APP_ID,
	COL_KEY,
	COL_SECRET,
	COL_CLUSTER,
	COL_HOST,
	COL_PORT,
	COL_SCHEME,
	COL_MASTER_KEY,
	COL_UPDATED_AT,
	APP_CONFIG_NATTS
};

#define APP_CONFIG_TABLE "app_config"
#define APP_SCHEMA "rtpush"

/* what one read of rtpush.app_config found */
typedef struct AppRow
{
	Oid			relid;			/* rtpush.app_config; InvalidOid: not there */
	bool		has_row;
	char	   *col[APP_CONFIG_NATTS];	/* text columns, NULL if null */
	int			port;			/* 0 if null */
	ItemPointerData tid;		/* the row's version: where it is, */
	TransactionId xmin;			/* and who wrote it */
	char	   *image;			/* all of it as one string, to tell a change */
} AppRow;

typedef struct AppCache
{
	MemoryContext cxt;			/* holds row's strings (a new one per read) */
	bool		valid;			/* read since the table last changed */
	AppRow		row;
	uint64		generation;		/* bumped when what was read changed */
	uint64		refreshed;		/* generation at the last rtpush_app_refresh() */
	RtpushApp	merged;			/* what rtpush_app() last handed out */
} AppCache;

static AppCache app;

/*
 * The table changed (its trigger), or went (DROP EXTENSION); without it,
 * any relation's invalidation may be the table being made (CREATE or
 * ALTER EXTENSION: a new pg_class row invalidates its relation).
 */
static void
app_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == app.row.relid || !OidIsValid(app.row.relid))
		app.valid = false;
}

void
rtpush_app_init(void)
{
	CacheRegisterRelcacheCallback(app_invalidate, (Datum) 0);
}

static Oid
app_config_relid(void)
{
	Oid			nsp = get_namespace_oid(APP_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(APP_CONFIG_TABLE, nsp) : InvalidOid;
}

/* the tuple's columns into *row, copied into CurrentMemoryContext */
static void
keep_row(AppRow *row, HeapTuple tup, TupleDesc desc)
{
	Datum		v[APP_CONFIG_NATTS];
	bool		n[APP_CONFIG_NATTS];

	if (desc->natts != APP_CONFIG_NATTS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table rtpush.app_config has %d columns instead of %d", desc->natts, APP_CONFIG_NATTS),
				 errhint("Its columns are the extension's: run ALTER EXTENSION rtpush UPDATE, or drop and create the extension.")));
	heap_deform_tuple(tup, desc, v, n);
	row->has_row = true;
	row->tid = tup->t_self;
	row->xmin = HeapTupleHeaderGetXmin(tup->t_data);
	for (int c = COL_APP_ID; c <= COL_MASTER_KEY; c++)
		if (c != COL_PORT && !n[c])
			row->col[c] = TextDatumGetCString(v[c]);
	row->port = n[COL_PORT] ? 0 : DatumGetInt32(v[COL_PORT]);
}

static void
scan_app_config(AppRow *row)
{
	Relation	rel = table_open(row->relid, AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	HeapTuple	tup;

	if ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		keep_row(row, tup, RelationGetDescr(rel));
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
}

/*
 * Is the row now the version read last (or still none)?  A plain look at
 * the table, without copying anything.  Without the table, or with a table
 * gone meanwhile, the invalidation that made or dropped it tells.
 */
static bool
row_unchanged(void)
{
	Relation	rel = OidIsValid(app.row.relid) ? try_table_open(app.row.relid, AccessShareLock) : NULL;
	Snapshot	snap;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		same;

	if (rel == NULL)
		return true;
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snap, 0, NULL);
	if ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		same = app.row.has_row && ItemPointerEquals(&tup->t_self, &app.row.tid) &&
			HeapTupleHeaderGetXmin(tup->t_data) == app.row.xmin;
	else
		same = !app.row.has_row;
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return same;
}

/* the row (or none) as one string (where the table is does not count) */
static char *
row_image(const AppRow *row)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%d|%d", (int) row->has_row, row->port);
	for (int c = COL_APP_ID; c <= COL_MASTER_KEY; c++)
		if (row->col[c])
			appendStringInfo(&s, "|%zu:%s", strlen(row->col[c]), row->col[c]);
		else
			appendStringInfoString(&s, "|-");
	return s.data;
}

/*
 * Read the row into a new context, a child of the transaction's until it is
 * complete (an error frees it, and app keeps the last read); then it
 * replaces the last read.  Nobody keeps the strings across transactions.
 */
static void
read_app_config(void)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "rtpush app", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	AppRow		row = {0};
	bool		changed;

	row.relid = app_config_relid();
	if (OidIsValid(row.relid))
		scan_app_config(&row);
	row.image = row_image(&row);
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, TopMemoryContext);
	changed = app.row.image == NULL || strcmp(app.row.image, row.image) != 0;
	if (app.cxt)
		MemoryContextDelete(app.cxt);
	app.cxt = cxt;
	app.row = row;
	if (changed)
		app.generation++;
	app.valid = true;
}

static const char *
either(const char *own, const char *cluster)
{
	if (own)
		return own;
	return cluster ? cluster : "";
}

/* what was read, each missing column taking the cluster-wide setting */
static const RtpushApp *
merged(void)
{
	RtpushApp  *m = &app.merged;
	const AppRow *row = &app.row;
	bool		own = row->has_row;

	m->own = own;
	m->app_id = own ? row->col[COL_APP_ID] : either(NULL, rtpush_app_id);
	m->key = own ? row->col[COL_KEY] : either(NULL, rtpush_key);
	m->secret = own ? row->col[COL_SECRET] : either(NULL, rtpush_secret);
	m->cluster = either(row->col[COL_CLUSTER], rtpush_cluster);
	m->host = either(row->col[COL_HOST], rtpush_host);
	m->port = row->port > 0 ? row->port : rtpush_port;
	m->scheme = either(row->col[COL_SCHEME], rtpush_scheme);
	m->master_key = either(row->col[COL_MASTER_KEY], rtpush_encryption_master_key);
	return m;
}

const RtpushApp *
rtpush_app(void)
{
	if (!app.valid && IsTransactionState())
		read_app_config();
	return merged();
}

const RtpushApp *
rtpush_app_cached(void)
{
	return merged();
}

bool
rtpush_app_refresh(bool recheck)
{
	bool		changed;

	(void) rtpush_app();
	if (recheck && !row_unchanged())
		read_app_config();
	changed = app.generation != app.refreshed;
	app.refreshed = app.generation;
	return changed;
}

bool
rtpush_app_configured(const RtpushApp *a)
{
	return a->app_id[0] && a->key[0] && a->secret[0];
}

const char *
rtpush_app_host(const RtpushApp *a)
{
	static char buf[256];

	if (a->host[0])
		return a->host;
	snprintf(buf, sizeof(buf), "api-%s.pusher.com", a->cluster);
	return buf;
}

static int
scheme_port(const RtpushApp *a)
{
	return strcmp(a->scheme, "http") == 0 ? 80 : 443;
}

int
rtpush_app_port(const RtpushApp *a)
{
	return a->port > 0 ? a->port : scheme_port(a);
}

void
rtpush_app_host_header(const RtpushApp *a, char *buf, size_t len)
{
	int			port = rtpush_app_port(a);

	if (port == scheme_port(a))
		snprintf(buf, len, "%s", rtpush_app_host(a));
	else
		snprintf(buf, len, "%s:%d", rtpush_app_host(a), port);
}
