/*-------------------------------------------------------------------------
 * settings.c
 *	  Defines every rtpush.* configuration parameter.
 *
 * Credentials are PGC_SIGHUP: set with ALTER SYSTEM (or postgresql.conf)
 * and pg_reload_conf(); no session can SET them.  The app secret and the
 * encryption master key are GUC_SUPERUSER_ONLY and GUC_NO_SHOW_ALL, so
 * SHOW and pg_settings hide them from everyone else, and no rtpush code
 * ever prints them.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "utils/guc.h"

#include "settings.h"

char	   *rtpush_app_id = NULL;
char	   *rtpush_key = NULL;
char	   *rtpush_secret = NULL;
char	   *rtpush_cluster = NULL;
char	   *rtpush_host = NULL;
int			rtpush_port = 0;
char	   *rtpush_scheme = NULL;
char	   *rtpush_ca_file = NULL;
char	   *rtpush_encryption_master_key = NULL;
char	   *rtpush_database_name = NULL;
int			rtpush_max_databases = RTPUSH_MAX_DATABASES_DEFAULT;
int			rtpush_max_in_flight = 8;
int			rtpush_batch_size = 10;
int			rtpush_poll_interval = 1000;
int			rtpush_coalesce_max_wait = RTPUSH_COALESCE_MAX_WAIT_DEFAULT;
int			rtpush_max_attempts = 12;
int			rtpush_max_age = 86400;
int			rtpush_retry_base = 250;
int			rtpush_retry_max = 60000;
int			rtpush_connect_timeout = 5000;
int			rtpush_request_timeout = 10000;
int			rtpush_log_failure_interval = 60000;
int			rtpush_max_payload_bytes = 10240;
int			rtpush_max_request_bytes = RTPUSH_MAX_REQUEST_BYTES_DEFAULT;
bool		rtpush_idempotency_key = true;
int			rtpush_oversize = RTPUSH_OVERSIZE_ERROR;
char	   *rtpush_socket_id = NULL;
char	   *rtpush_auth_endpoint = NULL;
char	   *rtpush_ws_host = NULL;
int			rtpush_ws_port = 0;
int			rtpush_ws_tls = RTPUSH_WS_TLS_AUTO;
char	   *rtpush_event_id_field = NULL;
int			rtpush_history_retention = 86400;

static const struct config_enum_entry oversize_options[] = {
	{"error", RTPUSH_OVERSIZE_ERROR, false},
	{"thin", RTPUSH_OVERSIZE_THIN, false},
	{NULL, 0, false}
};

static const struct config_enum_entry ws_tls_options[] = {
	{"auto", RTPUSH_WS_TLS_AUTO, false},
	{"on", RTPUSH_WS_TLS_ON, false},
	{"off", RTPUSH_WS_TLS_OFF, false},
	{"true", RTPUSH_WS_TLS_ON, true},
	{"false", RTPUSH_WS_TLS_OFF, true},
	{NULL, 0, false}
};

#define SECRET_FLAGS (GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE)

static bool
check_scheme(char **newval, void **extra, GucSource source)
{
	if (strcmp(*newval, "http") == 0 || strcmp(*newval, "https") == 0)
		return true;
	GUC_check_errdetail("Value \"%s\" is neither \"http\" nor \"https\".", *newval);
	GUC_check_errhint("Use https for Pusher, http for a local server such as soketi.");
	return false;
}

/* true if value holds a space, slash, "?" or "#": part of a URL, not a name */
static bool
has_url_part(const char *value)
{
	return strpbrk(value, " \t\n/?#") != NULL;
}

/* a bare host name: no space, scheme, path, query or fragment */
static bool
is_bare_host(const char *value, const char *port_setting)
{
	if (!has_url_part(value))
		return true;
	GUC_check_errdetail("Value \"%s\" contains a space, slash, \"?\" or \"#\".", value);
	GUC_check_errhint("Give the bare host name, without scheme, port or path; the port goes in %s.",
					  port_setting);
	return false;
}

/*
 * An app id, key or cluster: one token as the Pusher dashboard shows it,
 * without space, slash, "?" or "#" (the cluster goes into a host name, the
 * app id into the request path).
 */
static bool
check_app_token(char **newval, void **extra, GucSource source)
{
	if (!has_url_part(*newval))
		return true;
	GUC_check_errdetail("Value \"%s\" contains a space, slash, \"?\" or \"#\".", *newval);
	GUC_check_errhint("Give the value alone, exactly as the app's keys page of the Pusher dashboard (or the server's configuration) shows it.");
	return false;
}

/*
 * A host: also no scheme ("http://x") and no port ("x:6001"); an IPv6
 * address goes in brackets ("[::1]") and its port in the port setting.
 */
static bool
is_host(const char *value, const char *port_setting, const char *scheme_setting)
{
	const char *colon = strchr(value, ':');

	if (strstr(value, "://") != NULL)
	{
		GUC_check_errdetail("Value \"%s\" contains a scheme (\"://\").", value);
		GUC_check_errhint("Give the bare host name; the scheme goes in %s and the port in %s.",
						  scheme_setting, port_setting);
		return false;
	}
	if (!is_bare_host(value, port_setting))
		return false;
	if (colon == NULL || (value[0] == '[' && value[strlen(value) - 1] == ']'))
		return true;
	if (strchr(colon + 1, ':') == NULL)
	{
		GUC_check_errdetail("Value \"%s\" contains a port.", value);
		GUC_check_errhint("Give the bare host name; the port goes in %s.", port_setting);
	}
	else
	{
		GUC_check_errdetail("Value \"%s\" is an IPv6 address without brackets.", value);
		GUC_check_errhint("Write it in brackets, such as [::1]; the port goes in %s.", port_setting);
	}
	return false;
}

static bool
check_host(char **newval, void **extra, GucSource source)
{
	return is_host(*newval, "rtpush.port", "rtpush.scheme");
}

static bool
check_ws_host(char **newval, void **extra, GucSource source)
{
	return is_host(*newval, "rtpush.ws_port", "rtpush.ws_tls");
}

static bool
check_field_name(char **newval, void **extra, GucSource source)
{
	for (const char *p = *newval; *p; p++)
	{
		if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '-'))
		{
			GUC_check_errdetail("Value \"%s\" may only hold letters, digits, \"_\" and \"-\".", *newval);
			return false;
		}
	}
	return true;
}

/*
 * Where browsers connect, when it is not where the worker posts: a server
 * behind a TLS proxy (wss://ws.example.com:443) whose HTTP API the database
 * reaches directly (http://127.0.0.1:8080).
 */
static void
define_client_settings(void)
{
	DefineCustomStringVariable("rtpush.ws_host",
							   "Websocket host that rtpush.client_config() tells clients.",
							   "Empty means rtpush.host.", &rtpush_ws_host, "", PGC_SIGHUP, 0,
							   check_ws_host, NULL, NULL);
	DefineCustomIntVariable("rtpush.ws_port",
							"Websocket port that rtpush.client_config() tells clients.",
							"0 means the HTTP API's port.", &rtpush_ws_port, 0, 0, 65535, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("rtpush.ws_tls",
							 "Whether clients connect with TLS (forceTLS).",
							 "auto means as rtpush.scheme: TLS with https.", &rtpush_ws_tls, RTPUSH_WS_TLS_AUTO, ws_tls_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
}

static void
define_endpoint_settings(void)
{
	DefineCustomStringVariable("rtpush.app_id", "Pusher app id (PUSHER_APP_ID).",
							   NULL, &rtpush_app_id, "", PGC_SIGHUP, 0,
							   check_app_token, NULL, NULL);
	DefineCustomStringVariable("rtpush.key", "Pusher app key (PUSHER_APP_KEY).",
							   NULL, &rtpush_key, "", PGC_SIGHUP, 0,
							   check_app_token, NULL, NULL);
	DefineCustomStringVariable("rtpush.secret", "Pusher app secret (PUSHER_APP_SECRET).",
							   "Readable by superusers only; never logged.",
							   &rtpush_secret, "", PGC_SIGHUP, SECRET_FLAGS,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("rtpush.cluster", "Pusher cluster (PUSHER_APP_CLUSTER).",
							   "The HTTP API host is api-<cluster>.pusher.com unless rtpush.host is set.", &rtpush_cluster, "mt1", PGC_SIGHUP, 0,
							   check_app_token, NULL, NULL);
	DefineCustomStringVariable("rtpush.host", "HTTP API host of a Pusher-compatible server (PUSHER_HOST).",
							   "Empty means the cluster's host, api-<cluster>.pusher.com.", &rtpush_host, "", PGC_SIGHUP, 0,
							   check_host, NULL, NULL);
	DefineCustomIntVariable("rtpush.port", "HTTP API port (PUSHER_PORT).",
							"0 means 443 for https, 80 for http.", &rtpush_port, 0, 0, 65535, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("rtpush.scheme", "http or https (PUSHER_SCHEME).",
							   NULL, &rtpush_scheme, "https", PGC_SIGHUP, 0,
							   check_scheme, NULL, NULL);
	DefineCustomStringVariable("rtpush.ca_file", "CA bundle that verifies the endpoint's TLS certificate.",
							   "Empty means the system's CA certificates.", &rtpush_ca_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("rtpush.encryption_master_key",
							   "Base64 32-byte master key for private-encrypted- channels.",
							   "Readable by superusers only; never logged.",
							   &rtpush_encryption_master_key, "", PGC_SIGHUP, SECRET_FLAGS,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("rtpush.auth_endpoint", "Auth endpoint path that rtpush.client_config() tells clients.",
							   NULL, &rtpush_auth_endpoint, "/api/v1/broadcasting/auth",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	define_client_settings();
}

static void
define_worker_settings(void)
{
	DefineCustomStringVariable("rtpush.database_name", "The one database that gets a delivery worker; empty: every database with rtpush.",
							   "Empty (the default since 0.7) starts a worker in each database that has the rtpush extension; a name restricts delivery to that database, as before 0.7, when the default was postgres.",
							   &rtpush_database_name, "", PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.max_databases", "Databases that can have a delivery worker at once.",
							"Each takes one of max_worker_processes too; the launcher logs which database had to wait.",
							&rtpush_max_databases, RTPUSH_MAX_DATABASES_DEFAULT, 1, RTPUSH_MAX_DATABASES_MAX,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.max_in_flight", "Concurrent HTTP requests of the worker.",
							NULL, &rtpush_max_in_flight, 8, 1, 256, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.batch_size", "Events per batch_events request.",
							NULL, &rtpush_batch_size, 10, 1, 10, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.poll_interval", "Fallback poll of the outbox when no commit woke the worker.",
							NULL, &rtpush_poll_interval, 1000, 10, 3600000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.coalesce_max_wait", "Longest wait after a fetch under a stream, to read more commits at once.",
							"From 3,000 events/s the worker waits longer after each fetch, doubling up to this, so that a fetch, its requests and its commit carry tens of events; 1 keeps the 1 ms of light traffic.",
							&rtpush_coalesce_max_wait, RTPUSH_COALESCE_MAX_WAIT_DEFAULT, 1, 1000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.max_attempts", "Attempts before an event goes to the dead letter.",
							NULL, &rtpush_max_attempts, 12, 1, 1000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.max_age", "Age after which an undelivered event goes to the dead letter.",
							NULL, &rtpush_max_age, 86400, 1, INT_MAX, PGC_SIGHUP,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.retry_base", "First retry delay.",
							"The delay doubles with each attempt, with jitter, up to rtpush.retry_max.", &rtpush_retry_base, 250, 1, 3600000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.retry_max", "Longest retry delay.",
							NULL, &rtpush_retry_max, 60000, 1, 86400000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("rtpush.event_id_field",
							   "Member added to JSON-object payloads on the wire, holding the event's outbox id.",
							   "For client de-duplication; empty adds nothing.", &rtpush_event_id_field, "", PGC_SIGHUP, 0,
							   check_field_name, NULL, NULL);
	DefineCustomIntVariable("rtpush.history_retention",
							"How long delivered events stay readable with rtpush.history().",
							"0 turns history off: no positions in the data, no rows kept.", &rtpush_history_retention, 86400, 0,
							RTPUSH_HISTORY_RETENTION_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.max_request_bytes",
							"Largest HTTP request the worker sends, request line and headers included.",
							"Batches close before this size; capture refuses events whose request alone would exceed it. Laravel Reverb's max_request_size is 10000 by default.",
							&rtpush_max_request_bytes, RTPUSH_MAX_REQUEST_BYTES_DEFAULT, RTPUSH_MAX_REQUEST_BYTES_MIN,
							RTPUSH_MAX_REQUEST_BYTES_MAX, PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomBoolVariable("rtpush.idempotency_key",
							 "Whether every request carries an X-Idempotency-Key header.",
							 "Derived from the outbox ids in the request, so a retry carries the same key; turn off for servers that refuse unknown headers.",
							 &rtpush_idempotency_key, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.log_failure_interval",
							"While delivery keeps failing, how often the server log gets a summary.",
							"Also the window in which a repeated worker error is logged once.", &rtpush_log_failure_interval, 60000, 1000, 86400000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.connect_timeout", "HTTP connect timeout.",
							NULL, &rtpush_connect_timeout, 5000, 1, 600000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("rtpush.request_timeout", "HTTP total request timeout.",
							NULL, &rtpush_request_timeout, 10000, 1, 3600000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
}

static void
define_capture_settings(void)
{
	DefineCustomIntVariable("rtpush.max_payload_bytes", "Largest event data accepted.",
							"Pusher's limit is 10 KB.", &rtpush_max_payload_bytes, 10240, 64, 1048576, PGC_SUSET,
							GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomEnumVariable("rtpush.oversize", "What a trigger does with a row over rtpush.max_payload_bytes.",
							 "error raises an error; thin queues {\"table\",\"op\",\"id\",\"oversize\":true} so that clients refetch the row.", &rtpush_oversize, RTPUSH_OVERSIZE_ERROR, oversize_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("rtpush.socket_id", "Pusher socket id of the writer, excluded from its own events.",
							   "Empty excludes no connection; rtpush.send()'s socket_id argument takes precedence.", &rtpush_socket_id, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

void
rtpush_define_settings(void)
{
	define_endpoint_settings();
	define_worker_settings();
	define_capture_settings();
	MarkGUCPrefixReserved("rtpush");
}
