/*-------------------------------------------------------------------------
 * http_poll.c
 *	  The sockets libcurl asks the worker to watch (its socket callback),
 *	  waited on together with the worker's latch.  No SQL, no curl calls.
 *
 * On Linux the sockets live in one epoll set that libcurl's callback keeps
 * up to date, and the worker waits on a WaitEventSet made once: its latch,
 * the postmaster's death and that epoll set's descriptor (readable when
 * any socket in it is ready).  A wait is then one epoll_wait() in
 * WaitEventSetWait() and, when a socket is ready, one more that lists
 * them.  Before, every wait made and freed a WaitEventSet holding every
 * socket: an epoll_create1(), an epoll_ctl() per socket and a close(), 7 %
 * of the worker's CPU under a stream of 3,000 single-row commits a second
 * (issue 22).  Elsewhere a WaitEventSet is still made for each wait.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "compat.h"
#include "http_poll.h"

typedef struct Watched
{
	int			fd;
	int			what;			/* CURL_POLL_IN, _OUT or _INOUT */
} Watched;

typedef struct HttpPoll
{
	Watched		sockets[HTTP_POLL_MAX_SOCKETS];
	int			n;
#ifdef __linux__
	int			epfd;			/* -1: not made yet */
	WaitEventSet *set;			/* latch, postmaster death, epfd */
#endif
} HttpPoll;

static HttpPoll poll_state = {.n = 0
#ifdef __linux__
	,.epfd = -1
#endif
};

static int
find(int fd)
{
	for (int i = 0; i < poll_state.n; i++)
		if (poll_state.sockets[i].fd == fd)
			return i;
	return -1;
}

#ifdef __linux__

static uint32
epoll_events(int what)
{
	return ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
}

/* the epoll set and the WaitEventSet around it, made once */
static void
make_set(void)
{
	MemoryContext old;

	if (poll_state.set != NULL)
		return;
	poll_state.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (poll_state.epfd < 0)
		ereport(ERROR,
				(errcode_for_socket_access(),
				 errmsg("could not create an epoll set for HTTP connections: %m"),
				 errhint("The worker tries again after a pause.")));
	old = MemoryContextSwitchTo(TopMemoryContext);
	poll_state.set = compat_wait_event_set(3);
	MemoryContextSwitchTo(old);
	AddWaitEventToSet(poll_state.set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(poll_state.set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(poll_state.set, WL_SOCKET_READABLE, poll_state.epfd, NULL, NULL);
}

/* registers, changes or removes fd in the epoll set; false on failure */
static bool
epoll_update(int fd, int what, bool known)
{
	struct epoll_event ev = {.events = epoll_events(what),.data.fd = fd};

	if (what == CURL_POLL_REMOVE)
	{
		/* libcurl may have closed it already, which removed it */
		return epoll_ctl(poll_state.epfd, EPOLL_CTL_DEL, fd, NULL) == 0 || errno == EBADF || errno == ENOENT;
	}
	if (epoll_ctl(poll_state.epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0)
		return true;
	/* a descriptor number reused after a close libcurl did not report */
	if (known && errno == ENOENT)
		return epoll_ctl(poll_state.epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
	if (!known && errno == EEXIST)
		return epoll_ctl(poll_state.epfd, EPOLL_CTL_MOD, fd, &ev) == 0;
	return false;
}

static int
wait_ready(long timeout_ms, uint32 wait_event_info, HttpReady *ready, int max, bool *latch_set)
{
	WaitEvent	events[3];
	struct epoll_event evs[64];
	int			n;
	int			nready = 0;
	bool		sockets_ready = false;

	n = WaitEventSetWait(poll_state.set, timeout_ms, events, lengthof(events), wait_event_info);
	for (int i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			*latch_set = true;
		}
		if (events[i].events & WL_SOCKET_READABLE)
			sockets_ready = true;
	}
	if (!sockets_ready)
		return 0;
	n = epoll_wait(poll_state.epfd, evs, Min(max, (int) lengthof(evs)), 0);
	for (int i = 0; i < n; i++)
	{
		uint32		e = evs[i].events;

		ready[nready].fd = evs[i].data.fd;
		ready[nready].flags = ((e & (EPOLLIN | EPOLLHUP)) ? CURL_CSELECT_IN : 0) |
			((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) | ((e & EPOLLERR) ? CURL_CSELECT_ERR : 0);
		nready++;
	}
	return nready;
}

#else							/* !__linux__ */

static bool
epoll_update(int fd, int what, bool known)
{
	return true;
}

/* a WaitEventSet of the latch and every watched socket, for this wait */
static int
wait_ready(long timeout_ms, uint32 wait_event_info, HttpReady *ready, int max, bool *latch_set)
{
	WaitEventSet *set = compat_wait_event_set(poll_state.n + 2);
	WaitEvent	events[HTTP_POLL_MAX_SOCKETS + 2];
	int			n;
	int			nready = 0;

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < poll_state.n; i++)
	{
		int			what = poll_state.sockets[i].what;
		uint32		ev = ((what & CURL_POLL_IN) ? WL_SOCKET_READABLE : 0) |
			((what & CURL_POLL_OUT) ? WL_SOCKET_WRITEABLE : 0);

		if (ev)
			AddWaitEventToSet(set, ev, poll_state.sockets[i].fd, NULL, NULL);
	}
	n = WaitEventSetWait(set, timeout_ms, events, lengthof(events), wait_event_info);
	FreeWaitEventSet(set);
	for (int i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			*latch_set = true;
			continue;
		}
		if (nready == max)
			break;
		ready[nready].fd = events[i].fd;
		ready[nready].flags = ((events[i].events & WL_SOCKET_READABLE) ? CURL_CSELECT_IN : 0) |
			((events[i].events & WL_SOCKET_WRITEABLE) ? CURL_CSELECT_OUT : 0);
		nready++;
	}
	return nready;
}

#endif							/* __linux__ */

void
http_poll_init(void)
{
#ifdef __linux__
	make_set();
#endif
}

int
http_poll_watch(int fd, int what)
{
	int			i = find(fd);

#ifdef __linux__
	if (poll_state.set == NULL)
		return -1;				/* http_poll_init() first */
#endif
	if (!epoll_update(fd, what, i >= 0))
		return -1;
	if (what == CURL_POLL_REMOVE)
	{
		if (i >= 0)
			poll_state.sockets[i] = poll_state.sockets[--poll_state.n];
		return 0;
	}
	if (i < 0)
	{
		if (poll_state.n == HTTP_POLL_MAX_SOCKETS)
			return -1;
		i = poll_state.n++;
		poll_state.sockets[i].fd = fd;
	}
	poll_state.sockets[i].what = what;
	return 0;
}

int
http_poll_wait(long timeout_ms, uint32 wait_event_info, HttpReady *ready, int max, bool *latch_set)
{
	*latch_set = false;
	return wait_ready(timeout_ms, wait_event_info, ready, max, latch_set);
}

void
http_poll_reset(void)
{
	poll_state.n = 0;
#ifdef __linux__
	if (poll_state.set != NULL)
	{
		FreeWaitEventSet(poll_state.set);
		close(poll_state.epfd);
		poll_state.set = NULL;
		poll_state.epfd = -1;
	}
#endif
}
