/*-------------------------------------------------------------------------
 * install_warning.c
 *	  Drops the one-database WARNING of rtpush--0.1.sql where it no longer
 *	  holds.
 *
 * The released install script warns, at CREATE EXTENSION in any database
 * but rtpush.database_name, that rtpush "delivers events only from
 * database" rtpush.database_name.  Since 0.7 an empty rtpush.database_name
 * (the default) means every database with rtpush: the warning would name
 * database "" and be wrong.  Released scripts never change, so an
 * emit_log_hook drops exactly that message, and only while the setting is
 * empty.  (The hook runs for messages sent to the server log: with
 * log_min_messages above warning the client still sees it.)
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/elog.h"

#include "install_warning.h"
#include "settings.h"

/* rtpush--0.1.sql's RAISE WARNING, with rtpush.database_name = '' */
#define ONE_DATABASE_WARNING "rtpush delivers events only from database \"\""

static emit_log_hook_type prev_emit_log_hook = NULL;

static void
install_warning_hook(ErrorData *edata)
{
	if (edata->elevel == WARNING && rtpush_database_name && rtpush_database_name[0] == '\0' &&
		edata->message && strcmp(edata->message, ONE_DATABASE_WARNING) == 0)
	{
		edata->output_to_server = false;
		edata->output_to_client = false;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
rtpush_install_warning_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = install_warning_hook;
}
