/*-------------------------------------------------------------------------
 * http_poll.h
 *	  The sockets libcurl asks the worker to watch, waited on together with
 *	  its latch (src/http_poll.c).
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_HTTP_POLL_H
#define RTPUSH_HTTP_POLL_H

#define HTTP_POLL_MAX_SOCKETS 1024

/* a socket that is ready: its CURL_CSELECT_* flags */
typedef struct HttpReady
{
	int			fd;
	int			flags;
} HttpReady;

/* before the first watch and wait (errors out if the epoll set cannot be made) */
extern void http_poll_init(void);

/* libcurl's CURLMOPT_SOCKETFUNCTION: watch fd for CURL_POLL_* what; 0 or -1 */
extern int	http_poll_watch(int fd, int what);

/*
 * Waits up to timeout_ms (-1: no limit) for the latch or a watched socket;
 * fills ready[] (at most max) and returns how many; *latch_set when the
 * latch was set (and reset).  Exits if the postmaster dies.
 */
extern int	http_poll_wait(long timeout_ms, uint32 wait_event_info,
						   HttpReady *ready, int max, bool *latch_set);

/* forgets every socket (libcurl's multi handle is gone) */
extern void http_poll_reset(void);

#endif
