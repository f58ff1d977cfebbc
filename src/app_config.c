/*-------------------------------------------------------------------------
 * app_config.c
 *	  The SQL side of a database's own Pusher app (rtpush--0.7--0.8.sql,
 *	  section 70): rtpush.set_app() checks and stores it in
 *	  rtpush.app_config, rtpush.app_info() shows what the database
 *	  delivers to (never a secret), and the table's statement trigger
 *	  tells every backend and the worker that it changed.  app.c reads it.
 *
 * Secrets never appear in a message: the checks name every argument's
 * value but the secret's and the master key's, and every error here hides
 * the statement (whose text holds them) from the server log; redact.c
 * does the same for any statement calling rtpush.set_app.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "app.h"
#include "crypto.h"
#include "status.h"

#define SET_APP_NARGS 8

PG_FUNCTION_INFO_V1(rtpush_set_app);
PG_FUNCTION_INFO_V1(rtpush_app_info);
PG_FUNCTION_INFO_V1(rtpush_app_config_changed);

/* argument i as a C string, or NULL */
static char *
arg_string(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

static void
require_credential(const char *value, const char *name)
{
	if (value == NULL || value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the app's %s must not be empty", name),
				 errhidestmt(true),
				 errhint("Pass the %s of the Pusher app this database delivers to.", name)));
}

static void
check_host(const char *host)
{
	if (host == NULL)
		return;
	if (host[0] == '\0' || strpbrk(host, "/: \t\r\n@?#") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid host for the app"),
				 errdetail("Host \"%s\" is not a host name or address.", host),
				 errhidestmt(true),
				 errhint("Pass a host name alone (the port is its own argument), or NULL for rtpush.host.")));
}

static void
check_endpoint(FunctionCallInfo fcinfo, const char *scheme)
{
	if (!PG_ARGISNULL(4) && (PG_GETARG_INT32(4) < 1 || PG_GETARG_INT32(4) > 65535))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid port for the app"),
				 errdetail("Port %d is not between 1 and 65535.", PG_GETARG_INT32(4)),
				 errhidestmt(true),
				 errhint("Pass NULL to use rtpush.port.")));
	if (scheme && strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid scheme for the app"),
				 errdetail("Scheme \"%s\" is neither \"http\" nor \"https\".", scheme),
				 errhidestmt(true),
				 errhint("Use https for Pusher, http for a local server such as soketi.")));
}

static void
check_master_key(const char *b64)
{
	unsigned char key[PUSHER_MASTER_KEY_BYTES];
	const char *why;
	bool		ok;

	if (b64 == NULL)
		return;
	ok = pusher_master_key_decode(b64, key, &why);
	explicit_bzero(key, sizeof(key));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid encryption master key for the app"),
				 errdetail("The key %s; its value is not shown.", why),
				 errhidestmt(true),
				 errhint("Pass a base64 encoding of 32 random bytes (openssl rand -base64 32), or NULL for rtpush.encryption_master_key.")));
}

/*
 * rtpush.set_app(app_id, key, secret, host, port, scheme, cluster,
 * encryption_master_key) RETURNS void: this database's app, replacing the
 * one it had.  NULL endpoint arguments take the cluster-wide settings.
 */
Datum
rtpush_set_app(PG_FUNCTION_ARGS)
{
	Oid			types[SET_APP_NARGS] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, TEXTOID};
	Datum		values[SET_APP_NARGS];
	char		nulls[SET_APP_NARGS];

	require_credential(arg_string(fcinfo, 0), "app id");
	require_credential(arg_string(fcinfo, 1), "key");
	require_credential(arg_string(fcinfo, 2), "secret");
	check_host(arg_string(fcinfo, 3));
	check_endpoint(fcinfo, arg_string(fcinfo, 5));
	if (!PG_ARGISNULL(6) && VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(6)) == 0)
		require_credential("", "cluster");
	check_master_key(arg_string(fcinfo, 7));
	for (int i = 0; i < SET_APP_NARGS; i++)
	{
		values[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	SPI_connect();
	if (SPI_execute_with_args(
							  "INSERT INTO rtpush.app_config AS a (app_id, key, secret, host, port, scheme, cluster, encryption_master_key)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
							  " ON CONFLICT (one) DO UPDATE SET app_id = $1, key = $2, secret = $3, host = $4, port = $5,"
							  " scheme = $6, cluster = $7, encryption_master_key = $8, updated_at = now()",
							  SET_APP_NARGS, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "rtpush: storing the app failed");
	SPI_finish();
	PG_RETURN_VOID();
}

#define APP_INFO_COLS 9

/* rtpush.app_info(): what this database delivers to; never a secret */
Datum
rtpush_app_info(PG_FUNCTION_ARGS)
{
	const RtpushApp *a = rtpush_app();
	TupleDesc	desc;
	Datum		v[APP_INFO_COLS];
	bool		n[APP_INFO_COLS] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rtpush: app_info must return a row");
	desc = BlessTupleDesc(desc);
	v[0] = CStringGetTextDatum(a->own ? "database" : "cluster");
	v[1] = CStringGetTextDatum(a->app_id);
	n[1] = a->app_id[0] == '\0';
	v[2] = CStringGetTextDatum(a->key);
	n[2] = a->key[0] == '\0';
	v[3] = CStringGetTextDatum(rtpush_app_host(a));
	v[4] = Int32GetDatum(rtpush_app_port(a));
	v[5] = CStringGetTextDatum(a->scheme);
	v[6] = CStringGetTextDatum(a->cluster);
	n[6] = a->cluster[0] == '\0';
	v[7] = BoolGetDatum(a->secret[0] != '\0');
	v[8] = BoolGetDatum(a->master_key[0] != '\0');
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

/*
 * AFTER ... FOR EACH STATEMENT on rtpush.app_config: at commit, every
 * backend forgets the app it read (app.c) and the worker wakes to use the
 * new one.
 */
Datum
rtpush_app_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger function called outside a trigger"),
				 errhint("It runs as rtpush.app_config's trigger only.")));
	CacheInvalidateRelcache(trig->tg_relation);
	rtpush_note_wake();
	PG_RETURN_POINTER(NULL);
}
