/*-------------------------------------------------------------------------
 * delivery_health.c
 *	  Whether delivery works, as the server log and rtpush.status tell it.
 *
 * Owns two things, in one struct:
 *
 * - The misconfiguration pause.  An answer about the configuration rather
 *   than one event (401, 403, 404, 405, 407: wrong key or secret, unknown
 *   app id, no Pusher API at that address, a proxy wanting credentials;
 *   PUSHER_MISCONFIGURED) stops the worker sending: delivery.c puts the
 *   request's events back, attempts untouched, and starts nothing more but
 *   a probe (one request) after a delay that doubles from rtpush.retry_base
 *   to rtpush.retry_max, in case the server gets fixed.  A reload of the
 *   settings (SIGHUP) or any request that goes through ends the pause.  The
 *   worker's state names the settings to check.
 *
 * - The log.  Requests failing for reasons not about one event (these, and
 *   unreachable endpoints, 5xx, 429, transport errors) open a failure
 *   streak: one LOG line when it starts (what failed, which settings or
 *   server to check), one summary every rtpush.log_failure_interval while it
 *   lasts, and one line when a request goes through again.  Nothing is
 *   logged per request.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "app.h"
#include "delivery_health.h"
#include "settings.h"

typedef struct Health
{
	/* the failure streak */
	bool		failing;
	TimestampTz failing_since;
	uint64		failures;		/* failed requests in the streak */
	uint64		failures_at_summary;	/* of them, when the last line was logged */
	TimestampTz last_line_at;	/* the start line or the last summary */
	char		last_why[320];
	const char *last_check;		/* hint: what to check */
	/* the misconfiguration pause */
	bool		misconfigured;
	long		misconfig_status;
	TimestampTz next_probe;
	int			probes;
	char		state[128];
} Health;

static Health health;

/*
 * The same for a database with its own app (rtpush.set_app()): the key,
 * secret and app id are its, the endpoint its or, where it gave none, the
 * cluster-wide settings'.
 */
static const char *
what_to_check_own(long status, bool unreachable)
{
	switch (status)
	{
		case 401:
			return "Check the key and secret given to rtpush.set_app(): the server did not accept the request's signature.";
		case 403:
			return "Check the key given to rtpush.set_app(), and on the server whether the app is enabled and within its quota.";
		case 404:
			return "Check the app id given to rtpush.set_app(), and that its host and port (or rtpush.host and rtpush.port) point at the Pusher HTTP API.";
		case 405:
			return "Check the host, port and scheme given to rtpush.set_app() (or rtpush.host, rtpush.port, rtpush.scheme): the server there is not a Pusher HTTP API.";
		case 0:
			if (unreachable)
				return "Check the host and port given to rtpush.set_app() (or rtpush.host and rtpush.port), and that the server there is running.";
			return "Check the host, port and scheme given to rtpush.set_app() (or rtpush.host, rtpush.port, rtpush.scheme), rtpush.ca_file, and the server's TLS certificate.";
		default:
			return NULL;
	}
}

/* A hint, a whole sentence, saying what to check for this failure. */
static const char *
what_to_check(long status, bool unreachable)
{
	const char *own = rtpush_app_cached()->own ? what_to_check_own(status, unreachable) : NULL;

	if (own)
		return own;
	switch (status)
	{
		case 401:
			return "Check rtpush.key and rtpush.secret: the server did not accept the request's signature.";
		case 403:
			return "Check rtpush.key, and on the server whether the app is enabled and within its quota.";
		case 404:
			return "Check rtpush.app_id, and that rtpush.host and rtpush.port point at the Pusher HTTP API.";
		case 405:
			return "Check rtpush.host, rtpush.port and rtpush.scheme: the server there is not a Pusher HTTP API.";
		case 407:
			return "Check the proxy's credentials in the server's environment (https_proxy, http_proxy).";
		case 429:
			return "The server is rate-limiting this app: check its limits on the server.";
		case 0:
			if (unreachable)
				return "Check rtpush.host and rtpush.port, and that the server there is running.";
			return "Check rtpush.host, rtpush.port, rtpush.scheme and rtpush.ca_file, and the server's TLS certificate.";
		default:
			return "Check the server's own log: it failed to handle the request.";
	}
}

/* the note of the worker's misconfigured state: the status, the settings to check */
static const char *
state_for(long status)
{
	if (rtpush_app_cached()->own)
		switch (status)
		{
			case 401:
				return "HTTP 401: check rtpush.set_app()'s key, secret";
			case 403:
				return "HTTP 403: check rtpush.set_app()'s key, the app on the server";
			case 404:
				return "HTTP 404: check rtpush.set_app()'s app_id, host, port";
			case 405:
				return "HTTP 405: check rtpush.set_app()'s host, port, scheme";
			default:
				break;
		}
	switch (status)
	{
		case 401:
			return "HTTP 401: check rtpush.key, rtpush.secret";
		case 403:
			return "HTTP 403: check rtpush.key, the app on the server";
		case 404:
			return "HTTP 404: check rtpush.app_id, rtpush.host, rtpush.port";
		case 405:
			return "HTTP 405: check rtpush.host, rtpush.port, rtpush.scheme";
		default:
			return "HTTP 407: check the proxy credentials";
	}
}

static long
probe_delay_ms(int n)
{
	double		d = rtpush_retry_base;

	for (int i = 1; i < n && d < rtpush_retry_max; i++)
		d *= 2;
	return (long) Min(d, (double) rtpush_retry_max);
}

static void
log_start(int queued)
{
	ereport(LOG,
			(errmsg("rtpush delivery to %s://%s:%d is failing: %s", rtpush_app_cached()->scheme,
					rtpush_app_host(rtpush_app_cached()), rtpush_app_port(rtpush_app_cached()), health.last_why),
			 errdetail_plural("%d event is held; it stays in the outbox and goes out, in order, once delivery works again.",
							  "%d events are held; they stay in the outbox and go out, in order, once delivery works again.",
							  queued, queued),
			 errhint("%s", health.last_check)));
}

void
health_failed(PusherOutcome outcome, long status, bool unreachable,
			  const char *why, int queued)
{
	TimestampTz now = GetCurrentTimestamp();

	health.failures++;
	strlcpy(health.last_why, why, sizeof(health.last_why));
	health.last_check = what_to_check(status, unreachable);
	if (!health.failing)
	{
		health.failing = true;
		health.failing_since = now;
		health.failures = 1;
		health.failures_at_summary = 1;
		health.last_line_at = now;
		log_start(queued);
	}
	if (outcome == PUSHER_MISCONFIGURED)
	{
		if (!health.misconfigured || health.misconfig_status != status)
			strlcpy(health.state, state_for(status), sizeof(health.state));
		if (!health.misconfigured)
			health.probes = 0;
		health.misconfigured = true;
		health.misconfig_status = status;
		health.next_probe = TimestampTzPlusMilliseconds(now, probe_delay_ms(++health.probes));
	}
}

void
health_delivered(void)
{
	if (health.failing)
	{
		long		secs = (long) ((GetCurrentTimestamp() - health.failing_since) / USECS_PER_SEC);

		ereport(LOG,
				(errmsg_plural("rtpush delivery works again after %llu failed request in %ld s",
							   "rtpush delivery works again after %llu failed requests in %ld s",
							   (unsigned long) health.failures,
							   (unsigned long long) health.failures, secs)));
	}
	health.failing = false;
	health.misconfigured = false;
	health.probes = 0;
	health.next_probe = 0;
}

int
health_slots(int slots, int in_flight)
{
	TimestampTz now;

	if (!health.misconfigured)
		return slots;
	now = GetCurrentTimestamp();
	if (in_flight > 0 || now < health.next_probe)
		return 0;
	/* the probe's answer sets the next probe's time; until then, none */
	health.next_probe = TimestampTzPlusMilliseconds(now, rtpush_request_timeout + probe_delay_ms(health.probes + 1));
	return Min(slots, 1);
}

long
health_next_probe_ms(void)
{
	if (!health.misconfigured)
		return -1;
	return TimestampDifferenceMilliseconds(GetCurrentTimestamp(), health.next_probe);
}

void
health_settings_changed(void)
{
	/* the failure streak goes on until a request goes through */
	health.misconfigured = false;
	health.probes = 0;
	health.next_probe = 0;
}

const char *
health_state(void)
{
	return health.misconfigured ? health.state : NULL;
}

void
health_tick(int queued)
{
	TimestampTz now;
	uint64		recent;

	if (!health.failing)
		return;
	now = GetCurrentTimestamp();
	if (now < TimestampTzPlusMilliseconds(health.last_line_at, rtpush_log_failure_interval))
		return;
	recent = health.failures - health.failures_at_summary;
	if (recent == 0)
	{
		/*
		 * Nothing failed since the last line: a probe or retry is still to
		 * come (the summary waits for it), or nothing is left to send (the
		 * streak ends without news).
		 */
		if (queued == 0)
			health.failing = false;
		return;
	}
	ereport(LOG,
			(errmsg_plural("rtpush delivery to %s://%s:%d still failing: %llu failed request in the last %ld s, %llu since it started failing %ld s ago",
						   "rtpush delivery to %s://%s:%d still failing: %llu failed requests in the last %ld s, %llu since it started failing %ld s ago",
						   (unsigned long) recent,
					rtpush_app_cached()->scheme, rtpush_app_host(rtpush_app_cached()),
					rtpush_app_port(rtpush_app_cached()),
					(unsigned long long) recent,
					(long) ((now - health.last_line_at) / USECS_PER_SEC),
					(unsigned long long) health.failures,
					(long) ((now - health.failing_since) / USECS_PER_SEC)),
			 errdetail_plural("The last failure: %s; %d event is held.",
							  "The last failure: %s; %d events are held.",
							  queued, health.last_why, queued),
			 errhint("%s", health.last_check)));
	health.failures_at_summary = health.failures;
	health.last_line_at = now;
}
