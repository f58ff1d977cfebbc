/*-------------------------------------------------------------------------
 * http.h
 *	  HTTP POST transport on the libcurl multi interface, waiting on the
 *	  worker's latch and curl's sockets together.  Knows no SQL and nothing
 *	  of Pusher.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_HTTP_H
#define RTPUSH_HTTP_H

typedef struct HttpResult
{
	long		status;			/* HTTP status; 0 when no answer */
	const char *body;			/* response body (truncated), NUL-terminated */
	size_t		bodylen;
	const char *retry_after;	/* Retry-After header or NULL */
	const char *error;			/* transport error or NULL */
	bool		unreachable;	/* could not resolve or connect: nothing was sent */
} HttpResult;

typedef void (*HttpDoneFn) (void *arg, const HttpResult *result);

typedef struct HttpOptions
{
	long		connect_timeout_ms;
	long		timeout_ms;
	const char *ca_file;		/* NULL or "" for the system's */
	long		max_connections;
} HttpOptions;

extern void http_init(void);
extern void http_cleanup(void);
/*
 * POSTs body to url with exactly these header lines ("Name: value"), over
 * HTTP/1.1, none of libcurl's own added.
 */
extern void http_post(const char *url, const char *body, size_t bodylen,
					  const char *const *headers, int nheaders,
					  const HttpOptions *opts, HttpDoneFn done, void *arg);
extern int	http_active(void);

/*
 * Waits for transfer progress, the process latch, or timeout_ms (-1: no
 * limit), then runs the done callbacks of finished transfers.  Returns true
 * if the latch was set (it is reset).
 */
extern bool http_wait(long timeout_ms, uint32 wait_event_info);

/* Abandons every transfer in flight without calling its callback. */
extern void http_abandon_all(void);

#endif
