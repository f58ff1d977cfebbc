/*-------------------------------------------------------------------------
 * app.h
 *	  The Pusher app a database delivers to: its own row of
 *	  rtpush.app_config (rtpush.set_app()), each column left NULL taking
 *	  the cluster-wide setting, or the cluster-wide settings alone.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_APP_H
#define RTPUSH_APP_H

typedef struct RtpushApp
{
	const char *app_id;			/* "" when not set */
	const char *key;
	const char *secret;			/* superuser-only, never printed */
	const char *cluster;
	const char *host;			/* rtpush.host: "" means the cluster's */
	int			port;			/* 0: the scheme's */
	const char *scheme;
	const char *master_key;		/* superuser-only, never printed */
	bool		own;			/* this database has its own app */
} RtpushApp;

/* from _PG_init: follow changes of rtpush.app_config in every backend */
extern void rtpush_app_init(void);

/*
 * This database's app.  In a transaction it reads rtpush.app_config again
 * if it changed since the last read; outside one (or in an error hook:
 * rtpush_app_cached()) it gives what was read last.  The strings stay valid
 * until the next call in a later transaction, or a reload.
 */
extern const RtpushApp *rtpush_app(void);
extern const RtpushApp *rtpush_app_cached(void);

/*
 * The worker, in its transaction: read it again if it changed; true if it
 * did since the last call.  recheck: look at the table even without an
 * invalidation, which comes only after a change's commit is visible: the
 * events a fetch just read that were committed after a rtpush.set_app()
 * are then sent to the new app.
 */
extern bool rtpush_app_refresh(bool recheck);

/* all three credentials: the worker can sign requests */
extern bool rtpush_app_configured(const RtpushApp *app);

/* host, port the worker talks to; the Host header's value */
extern const char *rtpush_app_host(const RtpushApp *app);
extern int	rtpush_app_port(const RtpushApp *app);
extern void rtpush_app_host_header(const RtpushApp *app, char *buf, size_t len);

#endif
