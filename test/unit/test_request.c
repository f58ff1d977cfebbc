/*-------------------------------------------------------------------------
 * test_request.c
 *	  Unit tests of src/pusher_request.c and the size functions of
 *	  src/pusher_body.c and src/pusher_sign.c: the computed sizes equal the
 *	  bytes the builders make, and the idempotency key's derivation.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "crypto.h"
#include "pusher_body.h"
#include "pusher_request.h"
#include "pusher_sign.h"
#include "tap.h"

static void
test_string_size(void)
{
	static const char *const s[] = {"", "plain", "q\"b\\s", "\n\r\t\b\f", "\x01\x1f", "{\"a\":\"é\"}"};
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < lengthof(s); i++)
	{
		resetStringInfo(&b);
		pusher_json_string(&b, s[i], strlen(s[i]));
		is_long((long) pusher_json_string_size(s[i], strlen(s[i])), b.len,
				"json string size equals pusher_json_string()'s length");
	}
}

static void
test_body_sizes(void)
{
	const char *chans[] = {"private-a", "b\"c", "presence-x"};
	const char *data = "{\"id\":1,\"s\":\"x\\\"y\"}";
	size_t		ds = pusher_json_string_size(data, strlen(data));
	PusherEvent evs[3];
	StringInfoData b;
	size_t		sum = PUSHER_BATCH_BODY_OVERHEAD;

	initStringInfo(&b);
	for (int i = 0; i < 3; i++)
	{
		evs[i].name = i == 1 ? "ev\"1" : "ev";
		evs[i].channels = &chans[i];
		evs[i].nchannels = 1;
		evs[i].data = data;
		evs[i].datalen = strlen(data);
		evs[i].socket_id = i == 2 ? "123.456" : NULL;
		sum += (i > 0) + pusher_batch_item_size(evs[i].name, chans[i], evs[i].socket_id, ds);
	}
	pusher_batch_body(&b, evs, 3);
	is_long((long) sum, b.len, "batch body size: overhead, items and commas");
	evs[0].channels = chans;
	evs[0].nchannels = 3;
	evs[0].socket_id = "1.2";
	resetStringInfo(&b);
	pusher_events_body(&b, &evs[0]);
	is_long((long) pusher_events_body_size("ev", chans, 3, "1.2", ds), b.len,
			"events body size with three channels and a socket id");
	is_long((long) pusher_envelope_string_size(100),
			(long) pusher_envelope_size(100) + 10, "an encryption envelope as a JSON string: 8 escaped quotes and 2 more");
}

static void
test_query_and_head(void)
{
	StringInfoData q;
	PusherRequestHead h = {"127.0.0.1:6001", 0, true};
	char	   *lines[PUSHER_MAX_HEADERS];
	int			n;
	size_t		wire;
	char		key[PUSHER_IDEMPOTENCY_KEY_LEN + 1];

	initStringInfo(&q);
	pusher_sign_request(&q, "POST", "/apps/1/events", "app-key", "s", 1700000000L, "{}", 2);
	is_long((long) pusher_signed_query_len(7, 1700000000L), q.len, "signed query length");
	is_long((long) pusher_request_target_len(1, false, 7, 1700000000L),
			(long) strlen("/apps/1/events?") + q.len, "request target length, /events");
	is_long((long) pusher_request_target_len(1, true, 7, 1700000000L),
			(long) strlen("/apps/1/batch_events?") + q.len, "request target length, /batch_events");
	is_long((long) pusher_decimal_len(PUSHER_TIMESTAMP_WIDEST), 19, "the widest timestamp has 19 digits");

	h.target_len = 150;
	memset(key, 'a', PUSHER_IDEMPOTENCY_KEY_LEN);
	key[PUSHER_IDEMPOTENCY_KEY_LEN] = '\0';
	n = pusher_request_headers(&h, 12345, key, lines);
	wire = strlen("POST ") + 150 + strlen(" HTTP/1.1\r\n") + 2 + 12345;
	for (int i = 0; i < n; i++)
		wire += strlen(lines[i]) + 2;
	is_long(n, 5, "five header lines with the idempotency key");
	is_str(lines[3], "Content-Length: 12345", "Content-Length header");
	is_long((long) pusher_request_size(&h, 12345), (long) wire, "request size equals its line, headers and body");
	h.idempotency_key = false;
	n = pusher_request_headers(&h, 9, NULL, lines);
	wire = strlen("POST ") + 150 + strlen(" HTTP/1.1\r\n") + 2 + 9;
	for (int i = 0; i < n; i++)
		wire += strlen(lines[i]) + 2;
	is_long(n, 4, "four header lines without the idempotency key");
	is_long((long) pusher_request_size(&h, 9), (long) wire, "request size without the key");
}

static void
test_idempotency_key(void)
{
	int64		ids[] = {1, 2, 3};
	char		a[PUSHER_IDEMPOTENCY_KEY_LEN + 1];
	char		b[PUSHER_IDEMPOTENCY_KEY_LEN + 1];

	/* python3: sha256(pack('>QI', 0x0123456789abcdef, 16384) + pack('>qqq', 1, 2, 3)) */
	pusher_idempotency_key(UINT64CONST(0x0123456789abcdef), 16384, ids, 3, a);
	is_str(a, "ede2e615e26c7e68fc61fe94e2fa6c1855258ed7cd52bb4d8c4fc92c76812bfd",
		   "idempotency key: SHA-256 of system id, database oid and ids");
	pusher_idempotency_key(UINT64CONST(0x0123456789abcdef), 16384, ids, 1, b);
	is_str(b, "b18283f263e5ff3811693414c3d248441b5ab39e86c9807fca785c68c025249c",
		   "idempotency key of one id");
	pusher_idempotency_key(UINT64CONST(0x0123456789abcdef), 16384, ids, 3, b);
	is_str(b, a, "idempotency key: the same ids give the same key (a retry)");
	pusher_idempotency_key(UINT64CONST(0x0123456789abcdef), 16385, ids, 3, b);
	ok(strcmp(a, b) != 0, "idempotency key: another database gives another key");
}

int
main(void)
{
	test_string_size();
	test_body_sizes();
	test_query_and_head();
	test_idempotency_key();
	return tap_done();
}
