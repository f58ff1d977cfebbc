/*-------------------------------------------------------------------------
 * test_sign.c
 *	  Unit tests of src/pusher_sign.c against Pusher's published vectors
 *	  (HTTP API reference, auth signature reference, official server
 *	  libraries' test suites): request signing, channel and user auth
 *	  signatures, webhook verification.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "pusher_body.h"
#include "pusher_sign.h"
#include "tap.h"

/* the credentials of Pusher's documentation examples */
#define DOC_KEY		"278d425bdf160c739803"
#define DOC_SECRET	"7ad3773142a6692b25b8"

static const char *
md5(const char *s)
{
	char	   *out = palloc(33);

	pusher_md5_hex(s, strlen(s), out);
	return out;
}

static const char *
hmac(const char *key, const char *msg)
{
	char	   *out = palloc(65);

	pusher_hmac_sha256_hex(key, strlen(key), msg, strlen(msg), out);
	return out;
}

/* the body of the HTTP API reference's worked example, byte for byte */
static const char doc_body[] =
"{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":\\\"data\\\"}\"}";

static void
test_signing(void)
{
	StringInfoData q;
	StringInfoData body;
	const char *chan[] = {"project-3"};
	PusherEvent ev = {"foo", chan, 1, "{\"some\":\"data\"}", 15, NULL};

	/*
	 * Pusher HTTP API reference, "Worked authentication example"
	 * (pusher.com/docs/channels/library_auth_reference/rest-api), also in
	 * pusher-http-go's TestTriggerRequestUrl and pusher-http-php's
	 * PusherSignature test: body_md5 ec365a77..., signature da454824....
	 */
	is_str(md5(doc_body), "ec365a775a4cd0599faeb73354201b6f", "sign: body_md5 of the HTTP API reference example");
	is_str(hmac(DOC_SECRET, "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"),
		   "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
		   "sign: HMAC of the reference's string to sign");
	initStringInfo(&q);
	pusher_sign_request(&q, "POST", "/apps/3/events", DOC_KEY, DOC_SECRET, 1353088179L,
						doc_body, strlen(doc_body));
	is_str(q.data,
		   "auth_key=278d425bdf160c739803&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
		   "sign: query string of the HTTP API reference example (sorted, as pusher-http-go expects)");

	/* pusher_events_body builds the reference body byte for byte */
	initStringInfo(&body);
	pusher_events_body(&body, &ev);
	is_str(body.data, doc_body, "sign: pusher_events_body reproduces the reference body exactly");
	resetStringInfo(&q);
	pusher_sign_request(&q, "POST", "/apps/3/events", DOC_KEY, DOC_SECRET, 1353088179L,
						body.data, body.len);
	ok(strstr(q.data, "auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c") != NULL,
	   "sign: built body + signer give the published signature");

	/* a different timestamp gives a different signature (re-sign on retry) */
	resetStringInfo(&q);
	pusher_sign_request(&q, "POST", "/apps/3/events", DOC_KEY, DOC_SECRET, 1353088180L,
						doc_body, strlen(doc_body));
	ok(strstr(q.data, "da454824c97ba181") == NULL && strstr(q.data, "auth_timestamp=1353088180&") != NULL,
	   "sign: a fresh timestamp changes the signature");

	/* no body: no body_md5 (GET requests) */
	resetStringInfo(&q);
	pusher_sign_request(&q, "GET", "/apps/3/channels", DOC_KEY, DOC_SECRET, 1353088179L, NULL, 0);
	ok(strstr(q.data, "body_md5") == NULL && strncmp(q.data, "auth_key=", 9) == 0,
	   "sign: a request without a body has no body_md5");
	is_str(strstr(q.data, "auth_signature=") + 15,
		   psprintf("%s&auth_timestamp=1353088179&auth_version=1.0",
					hmac(DOC_SECRET, "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0")),
		   "sign: bodyless string to sign is METHOD\\npath\\nparams");

	/* pusher-http-go crypto_test.go TestMD5Signature and TestHmacSignature */
	is_str(md5("Hello!"), "952d2c56d0485958336747bcdd98590d", "md5: pusher-http-go TestMD5Signature");
	is_str(hmac("supersecret", "Hello!"), "64e3f44166575febbc5de88c9476325ea7d4b3684752158d9fdb31fce34b980d",
		   "hmac: pusher-http-go TestHmacSignature");
	is_str(md5(""), "d41d8cd98f00b204e9800998ecf8427e", "md5: empty input (RFC 1321)");
	/* RFC 4231 test case 2 */
	is_str(hmac("Jefe", "what do ya want for nothing?"),
		   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "hmac: RFC 4231 test case 2");
}

/* ---------------------------------------------------------------- */

static void
test_auth(void)
{
	StringInfoData s;

	initStringInfo(&s);

	/* Pusher auth signature reference, worked example (private channel) */
	pusher_channel_auth(&s, DOC_KEY, DOC_SECRET, "1234.1234", "private-foobar", NULL);
	is_str(s.data, "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		   "auth: docs worked example, private-foobar");

	/*
	 * Pusher auth signature reference, presence channels (also
	 * pusher-http-java PusherTest.presenceChannelAuth, pusher-http-go)
	 */
	resetStringInfo(&s);
	pusher_channel_auth(&s, DOC_KEY, DOC_SECRET, "1234.1234", "presence-foobar",
						"{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Pusher\"}}");
	is_str(s.data, "278d425bdf160c739803:afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c",
		   "auth: docs presence example, presence-foobar with channel_data");

	/* pusher-http-node tests/integration/pusher/authenticate.js #authorizeChannel */
	{
		static const struct
		{
			const char *key,
					   *secret,
					   *sid,
					   *chan,
					   *data,
					   *expected;
		}			c[] = {
			{"1234", "tofu", "123.456", "test", NULL, "1234:efa6cf7644a0b35cba36aa0f776f3cbf7bb60e95ea2696bde1dbe8403b61bd7c"},
			{"aaaa", "tofu", "321.654", "test", NULL, "aaaa:f6ecb0a17d3e4f68aca28f1673197a7608587c09deb0208faa4b5519aee0a777"},
			{"aaaa", "tofu", "123.456", "test1", NULL, "aaaa:d5ab857f805433cb50562da96afa41688d7742a3c3a021ed15a4d991a4d8cf94"},
			{"aaaa", "tofu", "123.456", "test2", NULL, "aaaa:43affa6a09af1fb9ce1cadf176171346beaf7366673ec1e5920f68b3e97a466d"},
			{"11111", "1", "123.456", "test", NULL, "11111:584828bd6e80b2d177d2b28fde07b8e170abf87ccb5a791a50c933711fb8eb28"},
			{"11111", "2", "123.456", "test", NULL, "11111:269bbf3f7625db4e0d0525b617efa5915c3ae667fd222dc8e4cb94bc531f26f2"},
			{"aaaa", "tofu", "123.456", "test", "{\"foo\":\"bar\"}", "aaaa:f41faf9ead2ea76772cc6b1168363057459f02499ae4d92e88229dc7f4efa2d4"},
			{"aaaa", "tofu", "1.1", "test", "\"\xc4\x85\xc2\xa7\xc2\xb6\xe2\x84\xa2\xe2\x82\xac\xc5\x82\xc3\xbc\xe2\x82\xac\xc3\x9f\xc2\xa3\"",
			"aaaa:2a229263e89d9c50524fd80c2e88be2843379f6931e28995e2cc214282c9db0c"},
			/* "Pusher with encryptionMasterKey" block */
			{"f00d", "tofu", "123.456", "private-encrypted-bla", "\"foo\"", "f00d:962c48b78bf93d98ff4c92ee7dff04865821455b7b401e9d60a9e0a90af2c105"},
			{"f00d", "tofu", "123.456", "bla", "\"foo\"", "f00d:013ad3da0d88e0df6ae0a8184bef50b9c3933f2344499e6e3d1ad67fad799e20"},
			/* pusher-http-php tests/unit/AuthorizeChannelTest.php */
			{"thisisaauthkey", "thisisasecret", "1.1", "testing_pusher-php", NULL, "thisisaauthkey:751ccc12aeaa79d46f7c199bced5fa47527d3480b51fe61a0bd10438241bd52d"},
			{"thisisaauthkey", "thisisasecret", "45055.28877557", "-azAZ9_=@,.;", NULL, "thisisaauthkey:d1c20ad7684c172271f92c108e11b45aef07499b005796ae1ec5beb924f361c4"},
			{"thisisaauthkey", "thisisasecret", "45055.28877557", "-azAZ9_=@,.;", "{\"user_id\": \"123\"}", "thisisaauthkey:3b3f1dcc4d7d2f95dd10ed05562397b3287b102d4cccfacbf30eed2f1ffa3d69"},
			/* pusher-http-python test_authentication_client.py, encrypted channel */
			{"foo", "bar", "345.23", "private-encrypted-channel", NULL, "foo:fff0503dfe4929f5162efe4d1dacbce524b0d8e7e1331117a8651c0e74d369e3"},
		};

		for (int i = 0; i < lengthof(c); i++)
		{
			resetStringInfo(&s);
			pusher_channel_auth(&s, c[i].key, c[i].secret, c[i].sid, c[i].chan, c[i].data);
			is_str(s.data, c[i].expected,
				   psprintf("auth: official library vector %d (%s, %s%s)", i + 1, c[i].sid, c[i].chan,
							c[i].data ? ", with channel_data" : ""));
		}
	}

	/* pusher-http-node authenticate.js #authenticateUser */
	{
		static const struct
		{
			const char *key,
					   *secret,
					   *sid,
					   *data,
					   *expected;
		}			u[] = {
			{"1234", "tofu", "123.456", "{\"id\":\"45678\"}", "1234:f4b1fdeea7c93e32648c7230e32b172057c5623cace6cfce791c6e7035e0babd"},
			{"aaaa", "tofu", "123.456", "{\"id\":\"55555\",\"user_name\":\"test\"}", "aaaa:b8a9f173455903792ae2b788add0c4c78ad7372b3ae7fb5769479276a1993743"},
			{"11111", "1", "123.456", "{\"id\":\"45678\"}", "11111:79bddf29fe8e2153dd5d8d569b3f45e5aeb26ae2eb4758879d844791b466cfa2"},
			{"11111", "2", "123.456", "{\"id\":\"45678\"}", "11111:a542498ffa6faf6de7c17a8106b923c042319bd73acfd1d274df32e269b55d1f"},
			{"aaaa", "tofu", "1.1", "{\"id\":\"\xc4\x85\xc2\xa7\xc2\xb6\xe2\x84\xa2\xe2\x82\xac\xc5\x82\xc3\xbc\xe2\x82\xac\xc3\x9f\xc2\xa3\"}",
			"aaaa:620494cee53d6c568b49598313194088afda37218f0d059af03c0c898ed61ff4"},
		};

		for (int i = 0; i < lengthof(u); i++)
		{
			resetStringInfo(&s);
			pusher_user_auth(&s, u[i].key, u[i].secret, u[i].sid, u[i].data);
			is_str(s.data, u[i].expected, psprintf("user auth: pusher-http-node vector %d", i + 1));
		}
	}

	/* the signed string differs between channel and user auth */
	resetStringInfo(&s);
	pusher_user_auth(&s, "k", "s", "1.1", "{}");
	is_str(s.data, psprintf("k:%s", hmac("s", "1.1::user::{}")), "user auth: signs socket_id::user::user_data");
}

static void
test_webhooks(void)
{
	const char *node_body = "{\"time_ms\":1403175510755,\"events\":[{\"channel\":\"test_channel\",\"name\":\"channel_vacated\"}]}";
	const char *node_sig = "c17257e92037cd7de407ebc1ed174ceb7b2e518db127f44411b9ffc4f5b28cc5";
	const char *php_body = "{\"time_ms\":1530710011901,\"events\":[{\"name\":\"client_event\",\"channel\":\"private-my-channel\",\"event\":\"client-event\",\"data\":\"Unencrypted\",\"socket_id\":\"240621.35780774\"}]}";
	char		upper[65];

	/* pusher-http-node tests/integration/webhook.js (secret "tofu") */
	ok(pusher_webhook_valid("tofu", node_sig, node_body, strlen(node_body)),
	   "webhook: pusher-http-node valid signature");
	ok(!pusher_webhook_valid("tofu", "000", node_body, strlen(node_body)),
	   "webhook: pusher-http-node incorrect signature 000");
	ok(!pusher_webhook_valid("tofu", "df1465f5ff93f83238152fd002cb904f9562d39569e68f00a6bfa0d8ccf88334", node_body, strlen(node_body)),
	   "webhook: pusher-http-node signature for another key");
	ok(!pusher_webhook_valid("nope", node_sig, node_body, strlen(node_body)),
	   "webhook: right signature, wrong secret");
	/* pusher-http-php tests/unit/WebhookTest.php (secret "thisisasecret") */
	ok(pusher_webhook_valid("thisisasecret", "40e0ad3b9aa49529322879e84de1aaaf18bde1efe839ca263d540cc865510d25",
							"{\"hello\":\"world\"}", 17), "webhook: pusher-http-php valid signature");
	ok(!pusher_webhook_valid("thisisasecret", "potato", "{\"hello\":\"world\"}", 17),
	   "webhook: pusher-http-php invalid signature 'potato'");
	ok(pusher_webhook_valid("thisisasecret", "a19cab2af3ca1029257570395e78d5d675e9e700ca676d18a375a7083178df1c",
							php_body, strlen(php_body)), "webhook: pusher-http-php client_event webhook");
	/* edge cases */
	ok(!pusher_webhook_valid("tofu", node_sig, node_body, strlen(node_body) - 1), "webhook: body changed by one byte");
	strlcpy(upper, node_sig, sizeof(upper));
	for (int i = 0; upper[i]; i++)
		upper[i] = pg_toupper((unsigned char) upper[i]);
	ok(!pusher_webhook_valid("tofu", upper, node_body, strlen(node_body)), "webhook: upper-case hex is refused");
	ok(!pusher_webhook_valid("tofu", psprintf("%.63s", node_sig), node_body, strlen(node_body)), "webhook: truncated signature");
	ok(!pusher_webhook_valid("tofu", psprintf("%s0", node_sig), node_body, strlen(node_body)), "webhook: signature with an extra character");
	ok(!pusher_webhook_valid("tofu", "", node_body, strlen(node_body)), "webhook: empty signature");
	ok(!pusher_webhook_valid("tofu", NULL, node_body, strlen(node_body)), "webhook: missing signature");
	ok(!pusher_webhook_valid("", hmac("", node_body), node_body, strlen(node_body)), "webhook: empty secret never verifies");

	ok(pusher_secure_equal("abc", 3, "abc", 3) && !pusher_secure_equal("abc", 3, "abd", 3) &&
	   !pusher_secure_equal("abc", 3, "ab", 2) && !pusher_secure_equal("ab", 2, "abc", 3) &&
	   pusher_secure_equal("", 0, "", 0) && !pusher_secure_equal("", 0, "a", 1) &&
	   !pusher_secure_equal("a", 1, "", 0) && !pusher_secure_equal("abc", 3, "abc\0", 4),
	   "secure_equal: equal, different, prefixes, empty");
}

int
main(void)
{
	test_signing();
	test_auth();
	test_webhooks();
	return tap_done();
}
