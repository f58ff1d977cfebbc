/*-------------------------------------------------------------------------
 * http.c
 *	  HTTP POSTs on libcurl's multi interface: keep-alive connections
 *	  shared by every transfer, many transfers in flight, timeouts, TLS
 *	  verified by default.  The worker's latch and curl's sockets are waited
 *	  on together (http_poll.c), so a commit wakes the worker even while
 *	  requests are in flight, and one slow request holds up nothing.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "http.h"
#include "http_poll.h"

#define MAX_RESPONSE_BYTES 4096

typedef struct Transfer
{
	CURL	   *easy;
	struct Transfer *next_free;
	dlist_node	active_node;
	StringInfoData response;
	char		retry_after[64];
	char		errbuf[CURL_ERROR_SIZE];
	char	   *body;
	struct curl_slist *headers;	/* this request's header lines */
	HttpDoneFn	done;
	void	   *arg;
} Transfer;

static CURLM *multi = NULL;
static Transfer *free_transfers = NULL;
static int	active = 0;
static dlist_head active_list = DLIST_STATIC_INIT(active_list);
static TimestampTz timer_deadline = 0;	/* 0: no timer */
static char *default_cainfo = NULL;	/* libcurl's built-in CA bundle */

/*
 * libcurl calls that can fail report it as an error: a setting libcurl
 * refuses (built without a protocol or option, out of memory) must not turn
 * into a request sent with the wrong options.
 */
static void
check_multi(CURLMcode rc, const char *call)
{
	if (rc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("libcurl failed: %s", curl_multi_strerror(rc)),
				 errdetail("The call was %s.", call),
				 errhint("Check the libcurl library the server uses; delivery resumes once it works.")));
}

#define MULTI_SETOPT(m, opt, val) check_multi(curl_multi_setopt((m), (opt), (val)), "curl_multi_setopt(" #opt ")")

/* Sets an option of a transfer; on failure *failed names the first one. */
#define EASY_SETOPT(e, opt, val, failed, code) \
	do { \
		CURLcode	rc_ = curl_easy_setopt((e), (opt), (val)); \
		if (rc_ != CURLE_OK && *(failed) == NULL) \
		{ \
			*(failed) = #opt; \
			*(code) = rc_; \
		} \
	} while (0)

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	return http_poll_watch(fd, what);
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	if (timeout_ms < 0)
		timer_deadline = 0;
	else
		timer_deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	return 0;
}

void
http_init(void)
{
	if (multi)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (multi = curl_multi_init()) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not initialize libcurl"),
				 errhint("Check the libcurl library the server uses.")));
	http_poll_init();
	MULTI_SETOPT(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	MULTI_SETOPT(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	/* remember the built-in CA bundle: reused handles must get it back */
	{
		CURL	   *e = curl_easy_init();
		char	   *path = NULL;

		if (e && curl_easy_getinfo(e, CURLINFO_CAINFO, &path) == CURLE_OK && path)
			default_cainfo = MemoryContextStrdup(TopMemoryContext, path);
		if (e)
			curl_easy_cleanup(e);
	}
}

/* the caller's header lines, and libcurl's Accept and Expect removed */
static struct curl_slist *
header_list(const char *const *lines, int n)
{
	struct curl_slist *list = curl_slist_append(NULL, "Accept:");

	if (list)
		list = curl_slist_append(list, "Expect:");
	for (int i = 0; i < n && list; i++)
	{
		struct curl_slist *more = curl_slist_append(list, lines[i]);

		if (more == NULL)
			curl_slist_free_all(list);
		list = more;
	}
	if (list == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("libcurl could not allocate the request headers.")));
	return list;
}

void
http_cleanup(void)
{
	http_abandon_all();
	while (free_transfers)
	{
		Transfer   *t = free_transfers;

		free_transfers = t->next_free;
		curl_easy_cleanup(t->easy);
		pfree(t->response.data);
		pfree(t);
	}
	if (multi)
		curl_multi_cleanup(multi);
	multi = NULL;
	http_poll_reset();
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		len = size * nmemb;
	size_t		room = MAX_RESPONSE_BYTES - t->response.len;

	appendBinaryStringInfo(&t->response, ptr, Min(len, room));
	return len;
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		len = size * nitems;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && pg_strncasecmp(buf, name, sizeof(name) - 1) == 0)
	{
		size_t		start = sizeof(name) - 1;
		size_t		end = len;

		while (start < end && (buf[start] == ' ' || buf[start] == '\t'))
			start++;
		while (end > start && (buf[end - 1] == '\r' || buf[end - 1] == '\n' || buf[end - 1] == ' '))
			end--;
		strlcpy(t->retry_after, buf + start, Min(end - start + 1, sizeof(t->retry_after)));
	}
	return len;
}

static Transfer *
get_transfer(void)
{
	Transfer   *t = free_transfers;

	if (t)
	{
		free_transfers = t->next_free;
		resetStringInfo(&t->response);
		return t;
	}
	t = MemoryContextAllocZero(TopMemoryContext, sizeof(Transfer));
	t->easy = curl_easy_init();
	if (t->easy == NULL)
	{
		pfree(t);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("libcurl could not create a transfer handle.")));
	}
	t->response.data = NULL;
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&t->response);
		MemoryContextSwitchTo(old);
	}
	return t;
}

/* Sets up a transfer; false with the failing option in *failed. */
static bool
setup_easy(Transfer *t, const char *url, size_t bodylen, const HttpOptions *opts,
		   const char **failed, CURLcode *code)
{
	CURL	   *e = t->easy;
	const char *ca = (opts->ca_file && opts->ca_file[0]) ? opts->ca_file : default_cainfo;

	*failed = NULL;
	EASY_SETOPT(e, CURLOPT_URL, url, failed, code);
	EASY_SETOPT(e, CURLOPT_POST, 1L, failed, code);
	EASY_SETOPT(e, CURLOPT_POSTFIELDS, t->body, failed, code);
	EASY_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) bodylen, failed, code);
	EASY_SETOPT(e, CURLOPT_HTTPHEADER, t->headers, failed, code);
	EASY_SETOPT(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1, failed, code);
	EASY_SETOPT(e, CURLOPT_NOSIGNAL, 1L, failed, code);
	EASY_SETOPT(e, CURLOPT_TCP_NODELAY, 1L, failed, code);
	EASY_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https", failed, code);
	EASY_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms, failed, code);
	EASY_SETOPT(e, CURLOPT_TIMEOUT_MS, opts->timeout_ms, failed, code);
	EASY_SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L, failed, code);
	EASY_SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L, failed, code);
	EASY_SETOPT(e, CURLOPT_CAINFO, ca, failed, code);
	EASY_SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb, failed, code);
	EASY_SETOPT(e, CURLOPT_WRITEDATA, t, failed, code);
	EASY_SETOPT(e, CURLOPT_HEADERFUNCTION, header_cb, failed, code);
	EASY_SETOPT(e, CURLOPT_HEADERDATA, t, failed, code);
	EASY_SETOPT(e, CURLOPT_ERRORBUFFER, t->errbuf, failed, code);
	EASY_SETOPT(e, CURLOPT_PRIVATE, t, failed, code);
	return *failed == NULL;
}

/* Puts a transfer that was never added to the multi handle back. */
static void
unused_transfer(Transfer *t)
{
	pfree(t->body);
	t->body = NULL;
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	t->next_free = free_transfers;
	free_transfers = t;
}

void
http_post(const char *url, const char *body, size_t bodylen,
		  const char *const *headers, int nheaders,
		  const HttpOptions *opts, HttpDoneFn done, void *arg)
{
	Transfer   *t = get_transfer();
	CURLMcode	rc;
	const char *failed;
	CURLcode	code = CURLE_OK;

	t->body = MemoryContextAlloc(TopMemoryContext, bodylen + 1);
	memcpy(t->body, body, bodylen);
	t->body[bodylen] = '\0';
	t->headers = header_list(headers, nheaders);
	t->retry_after[0] = '\0';
	t->errbuf[0] = '\0';
	t->done = done;
	t->arg = arg;
	if (!setup_easy(t, url, bodylen, opts, &failed, &code))
	{
		unused_transfer(t);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("libcurl refused an HTTP request option: %s", curl_easy_strerror(code)),
				 errdetail("The option was %s.", failed),
				 errhint("Check the libcurl library the server uses and rtpush.ca_file; "
						 "delivery resumes once the option is accepted.")));
	}
	rc = curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_connections);
	/* keep idle connections for reuse (the default shrinks with the handles added) */
	if (rc == CURLM_OK)
		rc = curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, opts->max_connections + 4);
	if (rc == CURLM_OK)
		rc = curl_multi_add_handle(multi, t->easy);
	if (rc != CURLM_OK)
	{
		unused_transfer(t);
		check_multi(rc, "curl_multi_add_handle");
	}
	dlist_push_tail(&active_list, &t->active_node);
	active++;
}

int
http_active(void)
{
	return active;
}

static void
release_transfer(Transfer *t)
{
	CURLMcode	rc = curl_multi_remove_handle(multi, t->easy);

	if (rc != CURLM_OK)
		ereport(WARNING,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("libcurl failed: %s", curl_multi_strerror(rc)),
				 errdetail("The call was curl_multi_remove_handle.")));
	if (t->body)
		pfree(t->body);
	t->body = NULL;
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	dlist_delete(&t->active_node);
	t->next_free = free_transfers;
	free_transfers = t;
	active--;
}

static void
finish_transfers(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		Transfer   *t;
		HttpResult	r = {0};

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t) != CURLE_OK || t == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("libcurl finished a transfer rtpush does not know")));
		if (msg->data.result != CURLE_OK)
		{
			r.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(msg->data.result);
			r.unreachable = (msg->data.result == CURLE_COULDNT_CONNECT ||
							 msg->data.result == CURLE_COULDNT_RESOLVE_HOST);
		}
		else if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status) != CURLE_OK)
			r.error = "libcurl could not read the response status";
		r.body = t->response.data;
		r.bodylen = t->response.len;
		r.retry_after = t->retry_after[0] ? t->retry_after : NULL;
		t->done(t->arg, &r);
		release_transfer(t);
	}
}

static long
clamp_timeout(long timeout_ms)
{
	if (timer_deadline != 0)
	{
		long		until = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
															timer_deadline);

		if (timeout_ms < 0 || until < timeout_ms)
			timeout_ms = until;
	}
	return timeout_ms;
}

static void
socket_action(curl_socket_t fd, int flags)
{
	int			running;

	check_multi(curl_multi_socket_action(multi, fd, flags, &running),
				"curl_multi_socket_action");
}

bool
http_wait(long timeout_ms, uint32 wait_event_info)
{
	HttpReady	ready[HTTP_POLL_MAX_SOCKETS];
	bool		latch_set;
	int			n;

	n = http_poll_wait(clamp_timeout(timeout_ms), wait_event_info, ready, lengthof(ready), &latch_set);
	for (int i = 0; i < n; i++)
		socket_action(ready[i].fd, ready[i].flags);
	if (timer_deadline != 0 && GetCurrentTimestamp() >= timer_deadline)
	{
		timer_deadline = 0;
		socket_action(CURL_SOCKET_TIMEOUT, 0);
	}
	finish_transfers();
	return latch_set;
}

void
http_abandon_all(void)
{
	dlist_mutable_iter iter;

	if (multi == NULL)
		return;
	dlist_foreach_modify(iter, &active_list)
		release_transfer(dlist_container(Transfer, active_node, iter.cur));
}
