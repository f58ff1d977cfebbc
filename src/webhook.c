/*-------------------------------------------------------------------------
 * webhook.c
 *	  rtpush.verify_webhook(): checks a Pusher webhook's X-Pusher-Key and
 *	  X-Pusher-Signature against rtpush.key and rtpush.secret in constant
 *	  time.  rtpush.handle_webhook() (section 30 of rtpush--0.1.sql) calls it before
 *	  recording presence.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "app.h"
#include "auth.h"
#include "pusher.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(rtpush_verify_webhook);

/*
 * rtpush.verify_webhook(key text, signature text, body text) RETURNS boolean.
 * NULL arguments verify nothing: false.  Unset credentials: ERROR 55000.
 */
Datum
rtpush_verify_webhook(PG_FUNCTION_ARGS)
{
	text	   *key;
	text	   *body;
	char	   *signature;
	bool		key_ok;
	bool		sig_ok;
	const RtpushApp *app;

	rtpush_require_credentials(true);
	app = rtpush_app();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	key = PG_GETARG_TEXT_PP(0);
	signature = text_to_cstring(PG_GETARG_TEXT_PP(1));
	body = PG_GETARG_TEXT_PP(2);

	/* evaluate both so that the time taken does not tell which failed */
	key_ok = pusher_secure_equal(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
								 app->key, strlen(app->key));
	sig_ok = pusher_webhook_valid(app->secret, signature,
								  VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body));
	PG_RETURN_BOOL(key_ok && sig_ok);
}
