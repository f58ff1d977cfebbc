/*-------------------------------------------------------------------------
 * args.h
 *	  The argument checks shared by rtpush.send() (send.c), the capture
 *	  triggers (capture*.c) and the subscriber authorization functions
 *	  (auth*.c): channel names, event names, socket ids, user ids and
 *	  non-null arguments.  Each raises a PostgreSQL-style ERROR with one
 *	  hint wording, whoever calls it.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_ARGS_H
#define RTPUSH_ARGS_H

#include "fmgr.h"

/* ERROR 22004 if argument n (named name in the SQL signature) is NULL */
extern void rtpush_require_arg(FunctionCallInfo fcinfo, int n, const char *name);

/* ERROR unless 'event' is a valid Pusher event name */
extern void rtpush_check_event(const char *event);

/* ERROR unless 'channel' is a valid Pusher channel name */
extern void rtpush_check_channel(const char *channel);

/*
 * ERROR unless 'channel', made by channel template 'template' from the
 * values of the ncolumns columns listed in 'columns' (quoted names joined
 * by ", "), is a valid Pusher channel name.
 */
extern void rtpush_check_template_channel(const char *channel, const char *template,
										  const char *columns, int ncolumns);

/* ERROR unless 1 <= n <= PUSHER_MAX_CHANNELS */
extern void rtpush_check_channel_count(int n);

/* ERROR unless 'sid' is a valid socket id (digits, a dot, digits) */
extern void rtpush_check_socket_id(const char *sid);

/*
 * The socket id to exclude: 'given' when not NULL, else the rtpush.socket_id
 * setting when not empty, else NULL.  ERROR if the one chosen is malformed.
 */
extern const char *rtpush_writer_socket_id(const char *given);

/* ERROR unless 'user_id' is a non-empty user id Pusher accepts */
extern void rtpush_check_user_id(const char *user_id);

#endif
