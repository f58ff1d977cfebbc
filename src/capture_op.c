/*-------------------------------------------------------------------------
 * capture_op.c
 *	  What the operation (INSERT, UPDATE, DELETE) changes in a captured
 *	  event: its name, the "rtpush_op" member, and which operations send.
 *
 * Trigger arguments of rtpush.broadcast() owned here (see capture_trigger.c):
 *	  include_op=true		JSON-object payloads get "rtpush_op": "INSERT",
 *							"UPDATE" or "DELETE" (default false: payloads
 *							are the row alone, as in 0.1)
 *	  insert_event=NAME		the event name for that operation (default: the
 *	  update_event=NAME		first argument); rtpush.attach(events => ...)
 *	  delete_event=NAME		writes them
 *	  ops=OP,OP				the operations that send events, when the
 *							trigger fires on more: rtpush.attach() on a
 *							partitioned table adds INSERT and DELETE to an
 *							UPDATE trigger to see rows that move between
 *							partitions (capture_move.c); 0.1's triggers
 *							send for every operation they fire on
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_trigger.h"

#include "args.h"
#include "capture.h"
#include "outbox.h"

#define OPT_INCLUDE_OP	"include_op="
#define OPT_OPS			"ops="

static const char *const op_names[3] = {"INSERT", "UPDATE", "DELETE"};
static const char *const op_options[3] = {"insert_event=", "update_event=", "delete_event="};

static int
op_index(TriggerEvent tev)
{
	if (TRIGGER_FIRED_BY_INSERT(tev))
		return 0;
	if (TRIGGER_FIRED_BY_UPDATE(tev))
		return 1;
	return 2;
}

const char *
capture_op_name(TriggerEvent tev)
{
	return op_names[op_index(tev)];
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ERROR: trigger option arg is invalid; detail and hint are errdetail() and errhint() */
#define bad_option(arg, detail, hint) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
			 errmsg("invalid trigger option \"%s\"", arg), \
			 detail, hint))

static int
parse_ops(const char *arg)
{
	const char *p = arg + strlen(OPT_OPS);
	int			mask = 0;

	while (*p)
	{
		int			len = strcspn(p, ",");
		int			i;

		for (i = 0; i < 3; i++)
			if (len == (int) strlen(op_names[i]) && strncmp(p, op_names[i], len) == 0)
				break;
		if (i == 3)
			bad_option(arg, errdetail("Operations are INSERT, UPDATE and DELETE."),
					   errhint("Write \"ops=INSERT,UPDATE\"."));
		mask |= 1 << i;
		p += len;
		if (*p == ',')
			p++;
	}
	if (mask == 0)
		bad_option(arg, errdetail("It names no operation."),
				   errhint("Write \"ops=INSERT,UPDATE\"."));
	return mask;
}

/* consumes an option of this module; false when arg is not one */
bool
capture_op_option(Capture *cap, const char *arg)
{
	if (has_prefix(arg, OPT_INCLUDE_OP))
	{
		const char *v = arg + strlen(OPT_INCLUDE_OP);

		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			bad_option(arg, errdetail("include_op is true or false."),
					   errhint("Write \"include_op=true\"."));
		cap->ops.include_op = strcmp(v, "true") == 0;
		return true;
	}
	if (has_prefix(arg, OPT_OPS))
	{
		cap->ops.sends = parse_ops(arg);
		return true;
	}
	for (int i = 0; i < 3; i++)
		if (has_prefix(arg, op_options[i]))
		{
			const char *name = arg + strlen(op_options[i]);

			if (cap->ops.event[i])
				bad_option(arg, errdetail("The event of this operation is given twice."),
						   errhint("Name each operation's event once."));
			rtpush_check_event(name);
			cap->ops.event[i] = name;
			return true;
		}
	return false;
}

const char *
capture_op_event(Capture *cap, TriggerEvent tev)
{
	const char *e = cap->ops.event[op_index(tev)];

	return e ? e : cap->event;
}

bool
capture_op_sends(Capture *cap, TriggerEvent tev)
{
	return cap->ops.sends == 0 || (cap->ops.sends & (1 << op_index(tev))) != 0;
}

/* ERROR when an option names an operation the trigger does not fire on */
void
capture_op_check(Capture *cap, int16 tgtype, const char *tgname)
{
	int			fires = (TRIGGER_FOR_INSERT(tgtype) ? CAPTURE_INSERT : 0) |
		(TRIGGER_FOR_UPDATE(tgtype) ? CAPTURE_UPDATE : 0) |
		(TRIGGER_FOR_DELETE(tgtype) ? CAPTURE_DELETE : 0);

	for (int i = 0; i < 3; i++)
		if (((cap->ops.event[i] || (cap->ops.sends & (1 << i))) && !(fires & (1 << i))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("trigger \"%s\" on \"%s\" names operation %s but does not fire on it",
							tgname, cap->relname, op_names[i]),
					 errhint("Add %s to the trigger's events, or remove the %s option.",
							 op_names[i], cap->ops.event[i] ? op_options[i] : OPT_OPS)));
}

/*
 * Opens a JSON object payload (ending in '}') for one more member: buf then
 * ends with ",\"key\":" (or "{\"key\":" for an empty object); the caller
 * appends the value and the closing '}'.
 */
void
capture_payload_member(StringInfo buf, const char *key)
{
	Assert(buf->len > 0 && buf->data[buf->len - 1] == '}');
	buf->data[--buf->len] = '\0';
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	appendStringInfo(buf, "\"%s\":", key);
}
