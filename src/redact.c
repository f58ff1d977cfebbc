/*-------------------------------------------------------------------------
 * redact.c
 *	  Keeps rtpush's secrets (rtpush.secret, rtpush.encryption_master_key,
 *	  a database app's secret and master key) out of the server log.
 *
 * rtpush never prints them, but PostgreSQL itself would: the postmaster
 * logs 'parameter "rtpush.secret" changed to "<value>"' on a reload, and
 * log_statement or an error's STATEMENT line would show
 * "ALTER SYSTEM SET rtpush.secret = '<value>'".  An emit_log_hook, set in
 * every process, rewrites such messages before they are written: it drops
 * the value from setting-change messages, replaces a statement naming a
 * secret setting, hides the STATEMENT line of any message while such a
 * statement runs, and masks the current secrets wherever they appear.
 * A statement calling rtpush.set_app() or naming rtpush.app_config holds
 * a database app's secrets: it is treated as one naming a secret setting,
 * and the detail of its errors (a constraint's failing row) is not logged.
 *
 * Messages are recognised by their untranslated format string
 * (ErrorData.message_id), never by their text, which lc_messages may have
 * translated: the formats below are PostgreSQL's own (guc.c, postgres.c),
 * the same in 15 to 18.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "app.h"
#include "redact.h"
#include "settings.h"

#define MIN_SECRET_LEN 4

/* guc.c, when a reload changes a setting */
#define SETTING_CHANGED_FORMAT "parameter \"%s\" changed to \"%s\""
/* postgres.c, log_statement */
#define STATEMENT_FORMAT "statement: %s"

static emit_log_hook_type prev_emit_log_hook = NULL;

static const char *const secret_settings[] = {
	"rtpush.secret", "rtpush.encryption_master_key"
};

/* a database's own app (app_config.c): its secrets are in the statement */
static const char *const secret_statements[] = {"set_app", "app_config"};

/* does s hold one of the n names? */
static bool
holds_any(const char *s, const char *const *names, int n)
{
	if (s == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strstr(s, names[i]) != NULL)
			return true;
	return false;
}

static bool
names_secret_setting(const char *s)
{
	return holds_any(s, secret_settings, lengthof(secret_settings));
}

/* a secret setting, or a statement that may carry a database app's secret */
static bool
names_secret(const char *s)
{
	return holds_any(s, secret_statements, lengthof(secret_statements)) ||
		names_secret_setting(s);
}

/* s with every occurrence of secret replaced by "********", or NULL */
static char *
mask(const char *s, const char *secret)
{
	StringInfoData buf;
	size_t		len;
	const char *hit;

	if (s == NULL || secret == NULL || (len = strlen(secret)) < MIN_SECRET_LEN ||
		(hit = strstr(s, secret)) == NULL)
		return NULL;
	initStringInfo(&buf);
	do
	{
		appendBinaryStringInfo(&buf, s, hit - s);
		appendStringInfoString(&buf, "********");
		s = hit + len;
	} while ((hit = strstr(s, secret)) != NULL);
	appendStringInfoString(&buf, s);
	return buf.data;
}

static void
mask_field(char **field)
{
	const RtpushApp *app = rtpush_app_cached();	/* never reads the table */
	const char *secrets[] = {rtpush_secret, rtpush_encryption_master_key,
	app->secret, app->master_key};

	for (int i = 0; i < lengthof(secrets); i++)
	{
		char	   *masked = mask(*field, secrets[i]);

		if (masked)
			*field = masked;
	}
}

/* true if edata's primary message was made from this (untranslated) format */
static bool
is_format(const ErrorData *edata, const char *format)
{
	return edata->message && edata->message_id &&
		strcmp(edata->message_id, format) == 0;
}

static void
redact_hook(ErrorData *edata)
{
	MemoryContext old = MemoryContextSwitchTo(ErrorContext);

	if (is_format(edata, SETTING_CHANGED_FORMAT) && names_secret_setting(edata->message))
		edata->message = psprintf("parameter \"%s\" changed (value not logged)",
								  strstr(edata->message, "encryption_master_key") ?
								  "rtpush.encryption_master_key" : "rtpush.secret");
	else if (is_format(edata, STATEMENT_FORMAT) && names_secret(edata->message))
		edata->message = pstrdup("statement: <names an rtpush secret setting; not logged>");
	if (names_secret(debug_query_string))
	{
		edata->hide_stmt = true;
		/* a constraint's "Failing row contains (...)": the client only */
		if (edata->detail)
			edata->detail_log = pstrdup("(not logged: the statement may hold an rtpush secret)");
	}
	mask_field(&edata->message);
	mask_field(&edata->detail);
	mask_field(&edata->detail_log);
	mask_field(&edata->hint);
	mask_field(&edata->context);
	mask_field(&edata->internalquery);
	MemoryContextSwitchTo(old);

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
rtpush_redact_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_hook;
}
