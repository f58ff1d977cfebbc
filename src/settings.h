/*-------------------------------------------------------------------------
 * settings.h
 *	  rtpush's configuration parameters (GUCs): every rtpush.* setting.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_SETTINGS_H
#define RTPUSH_SETTINGS_H

typedef enum RtpushOversize
{
	RTPUSH_OVERSIZE_ERROR,
	RTPUSH_OVERSIZE_THIN
} RtpushOversize;

typedef enum RtpushWsTls
{
	RTPUSH_WS_TLS_AUTO,			/* as rtpush.scheme: https means TLS */
	RTPUSH_WS_TLS_ON,
	RTPUSH_WS_TLS_OFF
} RtpushWsTls;

/* endpoint and credentials (reload) */
extern char *rtpush_app_id;
extern char *rtpush_key;
extern char *rtpush_secret;		/* superuser-only, hidden */
extern char *rtpush_cluster;
extern char *rtpush_host;
extern int	rtpush_port;
extern char *rtpush_scheme;
extern char *rtpush_ca_file;
extern char *rtpush_encryption_master_key;	/* superuser-only, hidden */

/* workers (restart) */
extern char *rtpush_database_name;	/* '' = every database with rtpush */
extern int	rtpush_max_databases;	/* slots: databases with a worker at once */
#define RTPUSH_MAX_DATABASES_DEFAULT 16
#define RTPUSH_MAX_DATABASES_MAX 1024

/* delivery tuning (reload) */
extern int	rtpush_max_in_flight;
extern int	rtpush_batch_size;
extern int	rtpush_poll_interval;	/* ms */
extern int	rtpush_coalesce_max_wait;	/* ms: schedule.h's coalescing */
#define RTPUSH_COALESCE_MAX_WAIT_DEFAULT 16	/* COALESCE_MAX_WINDOW_MS */
extern int	rtpush_max_attempts;
extern int	rtpush_max_age;			/* s */
extern int	rtpush_retry_base;		/* ms */
extern int	rtpush_retry_max;		/* ms */
extern int	rtpush_connect_timeout; /* ms */
extern int	rtpush_request_timeout; /* ms */
extern int	rtpush_log_failure_interval;	/* ms */
/* the largest HTTP request, request line and headers included */
extern int	rtpush_max_request_bytes;
#define RTPUSH_MAX_REQUEST_BYTES_DEFAULT	10000	/* Laravel Reverb's default max_request_size */
#define RTPUSH_MAX_REQUEST_BYTES_MIN		4096
#define RTPUSH_MAX_REQUEST_BYTES_MAX		(16 * 1024 * 1024)
extern bool rtpush_idempotency_key;	/* X-Idempotency-Key on every request */

/* capture (session) */
extern int	rtpush_max_payload_bytes;
extern int	rtpush_oversize;
extern char *rtpush_socket_id;

/* delivery: member holding the outbox id in object payloads; '' = none */
extern char *rtpush_event_id_field;

/* history: how long delivered events stay readable; 0 = history off */
extern int	rtpush_history_retention;	/* s */
#define RTPUSH_HISTORY_RETENTION_MAX (366 * 86400)

/* client configuration: what rtpush.client_config() tells pusher-js */
extern char *rtpush_auth_endpoint;
extern char *rtpush_ws_host;	/* '' = rtpush.host */
extern int	rtpush_ws_port;		/* 0 = the API port */
extern int	rtpush_ws_tls;

extern void rtpush_define_settings(void);

/* a database's own app may replace the endpoint and credentials: app.h */

#endif
