/*-------------------------------------------------------------------------
 * capture.h
 *	  What the capture trigger knows about one rtpush.broadcast() trigger
 *	  (its parsed arguments), shared by capture_args.c (parsing),
 *	  capture_event.c (payloads, channels, enqueue), capture_trigger.c (the
 *	  trigger), capture_op.c (the operation: event names, "rtpush_op") and
 *	  capture_move.c (rows leaving channels, old keys, partition moves).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_CAPTURE_H
#define RTPUSH_CAPTURE_H

#include "postgres.h"

#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/rel.h"

#include "channel_render.h"

/* how a column is written in the JSON payload (json.c's categories) */
typedef enum JsonKind
{
	JK_NUMBER,					/* bare when a valid JSON number, else quoted */
	JK_BOOL,
	JK_DATETIME,				/* date, timestamp, timestamptz: ISO 8601 */
	JK_JSON,					/* json, jsonb: inline */
	JK_STRING,					/* text output, quoted */
	JK_TO_JSON					/* arrays, composites, casts: to_json() */
} JsonKind;

typedef struct OutCol
{
	AttrNumber	attnum;
	char	   *key;			/* "name": with JSON quoting */
	JsonKind	kind;
	Oid			basetype;
	FmgrInfo	fn;				/* output function, or to_json */
} OutCol;

typedef struct Segment
{
	const char *literal;		/* literal text, or NULL for a column */
	int			len;
	AttrNumber	attnum;
	ChannelRender render;		/* the column's canonical text */
} Segment;

typedef struct Template
{
	char	   *text;
	char	   *columns;		/* the columns used, "\"a\", \"b\"", for errors */
	int			ncolumns;
	int			nsegs;
	Segment    *segs;
} Template;

typedef struct ChangedCol
{
	AttrNumber	attnum;
	bool		has_eq;
	FmgrInfo	eq;
	Oid			collation;
	bool		byval;
	int16		typlen;
} ChangedCol;

/* operations, as bits of CaptureOps.sends */
#define CAPTURE_INSERT	0x1
#define CAPTURE_UPDATE	0x2
#define CAPTURE_DELETE	0x4

/* capture_op.c's options: what the operation changes in an event */
typedef struct CaptureOps
{
	bool		include_op;		/* include_op=true: "rtpush_op" member */
	const char *event[3];		/* insert_event=, update_event=, delete_event= */
	int			sends;			/* ops=: operations that send events; 0: all */
} CaptureOps;

typedef struct Capture
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	bool		valid;
	MemoryContext cxt;
	int			nargs;
	char	  **args;
	char	   *relname;
	char	   *event;
	int			ntemplates;
	Template   *templates;
	int			ncols;
	OutCol	   *cols;
	int			nchanged;
	ChangedCol *changed;
	int			nids;			/* "id" for thin events: id or primary key */
	OutCol	   *ids;
	CaptureOps	ops;
	int			ntplcols;		/* columns the templates use */
	ChangedCol *tplcols;
	int			nkeycols;		/* the key columns (ids), compared */
	ChangedCol *keycols;
} Capture;

/* capture_args.c: parses trigger arguments (ERROR on a bad one) */
extern Capture *capture_parse(Relation rel, int nargs, char **args);
extern void capture_set_compare_columns(ChangedCol **out, int *nout, TupleDesc desc,
										AttrNumber *attnums, int n);

/* capture_event.c */
extern void capture_append_json_value(StringInfo buf, OutCol *c, Datum v);
extern void capture_append_json_object(StringInfo buf, OutCol *cols, int n,
									   TupleTableSlot *row);
extern int	capture_expand_channels(Capture *cap, TupleTableSlot *row,
									const char **channels, bool strict);
extern bool capture_columns_differ(ChangedCol *cols, int n,
								   TupleTableSlot *oldrow, TupleTableSlot *newrow);
extern void capture_enqueue(Capture *cap, const char *event, const char **channels,
							int nchannels, StringInfo data);
extern void capture_send_row(Capture *cap, TriggerEvent tev, TupleTableSlot *row,
							 const char **channels, int n, const char *old_key);

/* capture_op.c */
extern bool capture_op_option(Capture *cap, const char *arg);
extern const char *capture_op_name(TriggerEvent tev);
extern const char *capture_op_event(Capture *cap, TriggerEvent tev);
extern bool capture_op_sends(Capture *cap, TriggerEvent tev);
extern void capture_op_check(Capture *cap, int16 tgtype, const char *tgname);
extern void capture_payload_member(StringInfo buf, const char *key);

/* capture_move.c */
extern void capture_move_setup(Capture *cap, TupleDesc desc);
extern void capture_update(Capture *cap, TriggerEvent tev, TupleTableSlot *oldrow,
						   TupleTableSlot *newrow);
extern bool capture_move_delete(Capture *cap, Trigger *tg, TupleTableSlot *oldrow);
extern bool capture_move_insert(Capture *cap, Trigger *tg, TupleTableSlot *newrow);

#endif
