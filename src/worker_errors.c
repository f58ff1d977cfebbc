/*-------------------------------------------------------------------------
 * worker_errors.c
 *	  How a delivery worker logs the errors it catches: whole (SQLSTATE,
 *	  message, detail, hint, context), a repeated one once per
 *	  rtpush.log_failure_interval with its repeats counted, and one line
 *	  when the worker runs normally again.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/elog.h"
#include "utils/timestamp.h"

#include "settings.h"
#include "status.h"
#include "worker_errors.h"

/* the last error logged, to log a repeated one once per interval */
typedef struct RepeatedError
{
	int			sqlerrcode;
	char		message[256];
	TimestampTz logged_at;
	int			repeats;		/* not logged since */
	bool		in_xact;		/* in the turn's transaction, else outside it */
} RepeatedError;

static RepeatedError last_error;

static const char *
default_hint(int sqlerrcode)
{
	if (sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION)
		return "The worker's database is read-only (default_transaction_read_only, or a standby): delivered events cannot be removed from the outbox. The worker tries again every second and goes on once writes are allowed; queued events stay in the outbox.";
	return "The worker tries again in a second; queued events stay in the outbox.";
}

/*
 * Logs an error the worker caught, whole: SQLSTATE, message, detail, hint
 * (without one: that the worker goes on after a pause) and context.  The
 * same error again (SQLSTATE and message) within rtpush.log_failure_interval
 * is only counted; the next time it is logged, its hint says how often it
 * came meanwhile.  The log hook still redacts secrets.  Frees it.
 */
void
worker_log_caught_error(ErrorData *edata, bool in_xact)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		same = last_error.sqlerrcode == edata->sqlerrcode &&
		strncmp(last_error.message, edata->message, sizeof(last_error.message) - 1) == 0;
	const char *hint = edata->hint ? edata->hint : default_hint(edata->sqlerrcode);

	rtpush_status_error(edata->message);
	if (same && now < TimestampTzPlusMilliseconds(last_error.logged_at, rtpush_log_failure_interval))
	{
		last_error.repeats++;
		FreeErrorData(edata);
		return;
	}
	ereport(LOG,
			(errcode(edata->sqlerrcode),
			 errmsg_internal("rtpush delivery worker: %s", edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 same && last_error.repeats > 0 ?
			 errhint("%s The same error came %d more times in the last %ld s, not logged.",
					 hint, last_error.repeats,
					 (long) ((now - last_error.logged_at) / USECS_PER_SEC)) :
			 errhint("%s", hint),
			 edata->context ? errcontext("%s", edata->context) : 0));
	last_error.sqlerrcode = edata->sqlerrcode;
	strlcpy(last_error.message, edata->message, sizeof(last_error.message));
	last_error.logged_at = now;
	last_error.repeats = 0;
	last_error.in_xact = in_xact;
	FreeErrorData(edata);
}

/*
 * A transaction (in_xact) or a turn went through: if the last error came
 * from such a step, say how often it came unlogged, and forget it.
 */
void
worker_error_cleared(bool in_xact)
{
	if (last_error.sqlerrcode == 0 || last_error.in_xact != in_xact)
		return;
	if (last_error.repeats > 0)
		ereport(LOG,
				(errmsg("rtpush delivery worker runs normally again; its last error came %d more times, not logged: %s",
						last_error.repeats, last_error.message)));
	memset(&last_error, 0, sizeof(last_error));
}
