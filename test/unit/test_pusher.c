/*-------------------------------------------------------------------------
 * test_pusher.c
 *	  Unit tests of src/pusher.c against Pusher's published vectors (HTTP API
 *	  reference, auth signature reference, official server libraries' test
 *	  suites) plus validation edge cases, JSON escaping round trips through
 *	  PostgreSQL's JSON parser, body shapes, response classification,
 *	  Retry-After parsing and adversarial channel pattern matching.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/jsonapi.h"
#include "compat.h"
#include "mb/pg_wchar.h"
#include "pusher.h"
#include "tap.h"

/* the credentials of Pusher's documentation examples */
#define DOC_KEY		"278d425bdf160c739803"
#define DOC_SECRET	"7ad3773142a6692b25b8"

/* ---------------------------------------------------------------- */

static bool
valid_channel(const char *s)
{
	const char *why = NULL;

	return pusher_valid_channel(s, strlen(s), &why);
}

static const char *
channel_reason(const char *s, size_t len)
{
	const char *why = NULL;

	if (pusher_valid_channel(s, len, &why))
		return "(valid)";
	return why;
}

static void
test_channel_validation(void)
{
	char		name[200];
	const char *why = NULL;

	ok(valid_channel("my-channel"), "channel: my-channel is valid");
	ok(valid_channel("-azAZ9_=@,.;"), "channel: every allowed punctuation character");
	ok(valid_channel("private-user.12.notifications"), "channel: the guide's private-user.{id}.notifications");
	ok(valid_channel("presence-online"), "channel: presence-online");
	ok(valid_channel("private-encrypted-user.7.prescriptions"), "channel: an encrypted channel");
	memset(name, 'a', 164);
	name[164] = '\0';
	ok(valid_channel(name), "channel: 164 characters is the maximum");
	name[164] = 'a';
	name[165] = '\0';
	is_str(channel_reason(name, 165), "is longer than 164 characters", "channel: 165 characters is refused");
	is_str(channel_reason("", 0), "is empty", "channel: empty is refused");
	ok(!pusher_valid_channel(NULL, 0, &why), "channel: NULL is refused");
	is_str(channel_reason("#server-to-user-1", 17), "starts with '#', which is reserved", "channel: leading '#' is reserved");
	is_str(channel_reason("a b", 3), "contains a character outside A-Z a-z 0-9 _ - = @ , . ;", "channel: space is refused");
	ok(!valid_channel("private-user.1%2e2"), "channel: percent-encoded text is refused");
	ok(!valid_channel("private-user/1"), "channel: slash is refused");
	ok(!valid_channel("test_channel:"), "channel: trailing colon is refused (pusher-http-php AuthorizeChannelTest)");
	ok(!valid_channel(":test_channel"), "channel: leading colon is refused (pusher-http-php AuthorizeChannelTest)");
	ok(!valid_channel("test_channel\n:"), "channel: newline is refused (pusher-http-php AuthorizeChannelTest)");
	is_str(channel_reason("ab\0c", 4), "contains a character outside A-Z a-z 0-9 _ - = @ , . ;", "channel: embedded zero byte is refused");
	ok(!valid_channel("caf\xc3\xa9"), "channel: non-ASCII is refused");
	ok(!valid_channel("a#b"), "channel: '#' inside is refused");
	ok(!valid_channel("a*b") && !valid_channel("a{b}"), "channel: pattern syntax is refused in names");
}

static const char *
event_reason(const char *s, size_t len)
{
	const char *why = NULL;

	if (pusher_valid_event(s, len, &why))
		return "(valid)";
	return why;
}

static void
test_event_validation(void)
{
	char		name[260];

	is_str(event_reason("appointment.updated", 19), "(valid)", "event: appointment.updated");
	is_str(event_reason("App\\Events\\MessageSent", 22), "(valid)", "event: Laravel class name with backslashes");
	is_str(event_reason("client-typing", 13), "(valid)", "event: client-typing");
	memset(name, 'e', 200);
	is_str(event_reason(name, 200), "(valid)", "event: 200 characters is the maximum");
	memset(name, 'e', 201);
	is_str(event_reason(name, 201), "is longer than 200 characters", "event: 201 characters is refused");
	is_str(event_reason("", 0), "is empty", "event: empty is refused");
	is_str(event_reason("pusher:subscribe", 16), "starts with \"pusher:\", which is reserved for the protocol", "event: pusher: prefix is reserved");
	is_str(event_reason("pusher_internal:member_added", 28), "starts with \"pusher_internal:\", which is reserved for the protocol", "event: pusher_internal: prefix is reserved");
	is_str(event_reason("pusher", 6), "(valid)", "event: 'pusher' alone is fine");
	is_str(event_reason("a\0b", 3), "contains a zero byte", "event: embedded zero byte is refused");
}

static const char *
sid_reason(const char *s)
{
	const char *why = NULL;

	if (pusher_valid_socket_id(s, strlen(s), &why))
		return "(valid)";
	return why;
}

static void
test_socket_id_validation(void)
{
	static const char *const good[] = {"1234.1234", "1.1", "123.456", "45055.28877557", "0.0"};
	/* the first four are pusher-http-node's and pusher-http-php's rejection cases */
	static const char *const bad[] = {"1.1:", ":1.1", ":\n1.1", "1.1\n:", "1.", ".1", "1",
	"1.2.3", "a.b", "-1.1", " 1.1", "1.1 ", "1,1", "1.1\n", "\xd9\xa1.1", "+1.1"};

	for (int i = 0; i < lengthof(good); i++)
		is_str(sid_reason(good[i]), "(valid)", psprintf("socket_id: %s is valid", good[i]));
	for (int i = 0; i < lengthof(bad); i++)
		is_str(sid_reason(bad[i]), "must be digits, a dot and digits (like 1234.5678)",
			   psprintf("socket_id: bad case %d is refused", i + 1));
	is_str(sid_reason(""), "is empty", "socket_id: empty is refused");
}

static void
test_channel_kinds(void)
{
	/* pusher-http-python pusher_tests/test_crypto.py test_is_encrypted_channel */
	static const struct
	{
		const char *name;
		bool		encrypted;
	}			cases[] = {
		{"private-encrypted-djsahajkshdak", true},
		{"private-encrypted-djsahajkshdak-", true},
		{"private-encrypted--djsahajkshdak", true},
		{"private--encrypted--djsahajkshdak", false},
		{"private--encrypted--djsahajkshdak-", false},
		{"private-encr-djsahajkshdak", false},
		{"private-encrypteddjsahajkshdak", false},
		{"private-encrypte-djsahajkshdak", false},
		{"privateencrypte-djsahajkshdak", false},
		{"private-djsahajkshdak", false},
		{"--djsah private-encrypted-ajkshdak", false},
	};
	bool		all = true;

	for (int i = 0; i < lengthof(cases); i++)
		if (pusher_channel_is_encrypted(cases[i].name) != cases[i].encrypted)
		{
			all = false;
			printf("# wrong for %s\n", cases[i].name);
		}
	ok(all, "kinds: pusher-http-python's is_encrypted_channel matrix (11 cases)");
	ok(pusher_channel_is_private("private-encrypted-x") && pusher_channel_is_private("private-x") &&
	   !pusher_channel_is_private("presence-x") && !pusher_channel_is_private("privatex"),
	   "kinds: private- includes encrypted, excludes presence");
	ok(pusher_channel_is_presence("presence-room") && !pusher_channel_is_presence("private-presence-room"),
	   "kinds: presence- only as a prefix");
	ok(!pusher_channel_is_encrypted("private-encrypted") && !pusher_channel_is_private(NULL),
	   "kinds: private-encrypted without '-' is not encrypted (pusher-http-php CryptoTest)");
}

/* ---------------------------------------------------------------- */

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

/* ---------------------------------------------------------------- */

typedef struct Collected
{
	int			nscalars;
	StringInfoData value;		/* the first string scalar */
	int			depth;
	bool		top_is_array;
	int			top_fields;
	StringInfoData fields;		/* "name," for every top-level field */
} Collected;

static JsonCbResult
col_scalar(void *state, char *token, JsonTokenType type)
{
	Collected  *c = state;

	if (c->nscalars++ == 0 && type == JSON_TOKEN_STRING)
		appendStringInfoString(&c->value, token);
	return JSON_CB_OK;
}

static JsonCbResult
col_in(void *state)
{
	((Collected *) state)->depth++;
	return JSON_CB_OK;
}

static JsonCbResult
col_out(void *state)
{
	((Collected *) state)->depth--;
	return JSON_CB_OK;
}

static JsonCbResult
col_field(void *state, char *fname, bool isnull)
{
	Collected  *c = state;

	if (c->depth == 1)
	{
		c->top_fields++;
		appendStringInfo(&c->fields, "%s,", fname);
	}
	return JSON_CB_OK;
}

/* parses JSON text with PostgreSQL's parser; returns the parse result */
static JsonParseErrorType
parse(const char *text, Collected *c)
{
	JsonSemAction sem = {0};
	JsonLexContext *lex = compat_json_lexer(pstrdup(text), strlen(text), true);

	memset(c, 0, sizeof(*c));
	initStringInfo(&c->value);
	initStringInfo(&c->fields);
	sem.semstate = c;
	sem.scalar = col_scalar;
	sem.object_start = col_in;
	sem.object_end = col_out;
	sem.array_start = col_in;
	sem.array_end = col_out;
	sem.object_field_start = col_field;
	return pg_parse_json(lex, &sem);
}

static const char *
json_str(const char *s, size_t len)
{
	StringInfoData b;

	initStringInfo(&b);
	pusher_json_string(&b, s, len);
	return b.data;
}

static void
test_json_strings(void)
{
	static const char *const samples[] = {
		"", "plain", "quote \" backslash \\ slash /", "line\nfeed\r\ttab\b\f",
		"{\"some\":\"data\"}", "\x01\x02\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"</script><script>alert(1)</script>", "\\u0000 literal", "\"\"\"\\\\\\",
	};
	char		all[128];
	Collected	c;

	is_str(json_str("", 0), "\"\"", "json: empty string");
	is_str(json_str("a\"b\\c", 5), "\"a\\\"b\\\\c\"", "json: quote and backslash");
	is_str(json_str("\n\r\t\b\f", 5), "\"\\n\\r\\t\\b\\f\"", "json: short escapes");
	is_str(json_str("\x01\x1f", 2), "\"\\u0001\\u001f\"", "json: other control characters as \\u00XX");
	is_str(json_str("a\0b", 3), "\"a\\u0000b\"", "json: zero byte as \\u0000");
	is_str(json_str("\x7f/\xc3\xa9", 4), "\"\x7f/\xc3\xa9\"", "json: DEL, slash and UTF-8 unchanged");
	is_str(json_str("abcdef", 3), "\"abc\"", "json: honours the length");

	for (int i = 0; i < lengthof(samples); i++)
	{
		const char *j = json_str(samples[i], strlen(samples[i]));
		JsonParseErrorType rc = parse(j, &c);

		ok(rc == JSON_SUCCESS && strcmp(c.value.data, samples[i]) == 0,
		   "json: round trip through pg_parse_json, sample %d", i + 1);
	}
	for (int i = 1; i < 128; i++)
		all[i - 1] = (char) i;
	all[127] = '\0';
	ok(parse(json_str(all, 127), &c) == JSON_SUCCESS && strcmp(c.value.data, all) == 0,
	   "json: round trip of every ASCII character 1..127");
}

static void
test_bodies(void)
{
	const char *one[] = {"private-user.1.notifications"};
	const char *two[] = {"a", "b"};
	const char *c1[] = {"orders"};
	const char *c2[] = {"private-conversation.5"};
	PusherEvent ev = {"message.sent", two, 2, "{\"id\":1}", 8, "123.456"};
	PusherEvent batch[2] = {
		{"order.created", c1, 1, "{\"id\":1,\"note\":\"a \\\"b\\\"\"}", 25, NULL},
		{"message.sent", c2, 1, "{\"text\":\"hi\\n\"}", 15, "9.9"},
	};
	StringInfoData b;
	Collected	c;
	PusherEvent evs[PUSHER_MAX_BATCH];

	initStringInfo(&b);
	pusher_events_body(&b, &ev);
	is_str(b.data, "{\"name\":\"message.sent\",\"channels\":[\"a\",\"b\"],\"data\":\"{\\\"id\\\":1}\",\"socket_id\":\"123.456\"}",
		   "body: events body with two channels and socket_id");
	ok(parse(b.data, &c) == JSON_SUCCESS && strcmp(c.fields.data, "name,channels,data,socket_id,") == 0,
	   "body: events body parses with members name, channels, data, socket_id");

	resetStringInfo(&b);
	pusher_batch_body(&b, batch, 2);
	is_str(b.data,
		   "{\"batch\":[{\"name\":\"order.created\",\"channel\":\"orders\",\"data\":\"{\\\"id\\\":1,\\\"note\\\":\\\"a \\\\\\\"b\\\\\\\"\\\"}\"},"
		   "{\"name\":\"message.sent\",\"channel\":\"private-conversation.5\",\"data\":\"{\\\"text\\\":\\\"hi\\\\n\\\"}\",\"socket_id\":\"9.9\"}]}",
		   "body: batch body of two events, data escaped twice where needed");
	ok(parse(b.data, &c) == JSON_SUCCESS && strcmp(c.fields.data, "batch,") == 0,
	   "body: batch body parses with the single member batch");

	for (int i = 0; i < PUSHER_MAX_BATCH; i++)
		evs[i] = (PusherEvent) {"e", one, 1, "{}", 2, NULL};
	resetStringInfo(&b);
	pusher_batch_body(&b, evs, PUSHER_MAX_BATCH);
	{
		int			n = 0;

		for (const char *p = b.data; (p = strstr(p, "\"channel\":")) != NULL; p++)
			n++;
		ok(n == 10 && parse(b.data, &c) == JSON_SUCCESS, "body: a full batch of 10 events parses");
	}
	resetStringInfo(&b);
	pusher_batch_body(&b, evs, 0);
	is_str(b.data, "{\"batch\":[]}", "body: empty batch");

	/* data with a zero byte or raw control characters still gives valid JSON */
	ev = (PusherEvent) {"e", one, 1, "a\0\x01\"", 4, NULL};
	resetStringInfo(&b);
	pusher_events_body(&b, &ev);
	is_str(b.data, "{\"name\":\"e\",\"channels\":[\"private-user.1.notifications\"],\"data\":\"a\\u0000\\u0001\\\"\"}",
		   "body: data is taken by length, zero bytes escaped");
}

/* ---------------------------------------------------------------- */

static const char *
outcome_name(PusherOutcome o)
{
	return o == PUSHER_DELIVERED ? "delivered" : o == PUSHER_RETRY ? "retry" :
		o == PUSHER_MISCONFIGURED ? "misconfigured" : "rejected";
}

static void
test_classify(void)
{
	static const struct
	{
		long		status;
		const char *body;
		const char *outcome;
		long		effective;
	}			t[] = {
		{200, "{}", "delivered", 200},
		{200, "", "delivered", 200},
		{200, NULL, "delivered", 200},
		{202, "not json", "delivered", 202},
		{204, "", "delivered", 204},
		/* soketi's failure-with-200 (issue 3) */
		{200, "{\"error\":\"The secret authentication failed\",\"code\":401}", "misconfigured", 401},
		/* soketi 1.6.1: an unknown app id */
		{200, "{\"error\":\"The app 7 could not be found.\",\"code\":404}", "misconfigured", 404},
		{404, "{\"error\":\"The app 7 could not be found.\",\"code\":404}", "misconfigured", 404},
		{200, "{\"error\":\"The received data is incorrect.\",\"code\":400}", "rejected", 400},
		{200, "{\"error\":\"The payload size is too big.\",\"code\":413}", "rejected", 413},
		{200, "{\"error\":\"x\",\"code\":\"403\"}", "misconfigured", 403},
		{200, "{\"error\":\"x\",\"code\":413}", "rejected", 413},
		{200, "{\"error\":\"x\",\"code\":429}", "retry", 429},
		{200, "{\"error\":\"x\",\"code\":503}", "retry", 503},
		{200, "{\"error\":\"x\"}", "retry", 500},
		{200, "{\"code\":401,\"error\":\"x\"}", "misconfigured", 401},
		{200, "{\"error\":\"x\",\"code\":200}", "retry", 500},
		{200, "{\"error\":\"x\",\"code\":\"abc\"}", "retry", 500},
		{200, "{\"error\":\"x\",\"code\":4010}", "retry", 500},
		{200, "{\"error\":\"x\",\"code\":401.5}", "retry", 500},
		{200, "{\"error\":{\"message\":\"m\"},\"code\":422}", "rejected", 422},
		{200, " \n{\"error\":\"x\",\"code\":404}\n", "misconfigured", 404},
		{200, "{\"\\u0065rror\":\"x\",\"code\":401}", "misconfigured", 401},
		{200, "{\"error\":\"\\u00e9\\ud83d\\ude00\\u0000\",\"code\":401}", "misconfigured", 401},
		{200, "{\"error\":null}", "delivered", 200},
		{200, "{\"code\":401}", "delivered", 200},
		{200, "{\"data\":{\"error\":\"x\",\"code\":401}}", "delivered", 200},
		{200, "[{\"error\":\"x\",\"code\":401}]", "delivered", 200},
		{200, "{\"error\":\"x\",\"code\":401", "delivered", 200},
		{200, "{\"a\":[{\"code\":401}],\"error\":\"x\"}", "retry", 500},
		{0, NULL, "retry", 0},
		{408, "", "retry", 408},
		{429, "Too Many Requests", "retry", 429},
		{500, "", "retry", 500},
		{502, "", "retry", 502},
		{503, "", "retry", 503},
		{504, "", "retry", 504},
		{400, "", "rejected", 400},
		{401, "{\"error\":\"x\",\"code\":500}", "misconfigured", 401},
		{403, "", "misconfigured", 403},
		{404, "", "misconfigured", 404},
		{405, "", "misconfigured", 405},
		{407, "", "misconfigured", 407},
		{410, "", "rejected", 410},
		{413, "", "rejected", 413},
		{422, "", "rejected", 422},
		{418, "", "rejected", 418},
		{301, "", "retry", 301},
		{100, "", "retry", 100},
	};

	for (int i = 0; i < lengthof(t); i++)
	{
		long		eff = -1;
		PusherOutcome o = pusher_classify(t[i].status, t[i].body,
										  t[i].body ? strlen(t[i].body) : 0, &eff);
		bool		good = strcmp(outcome_name(o), t[i].outcome) == 0 && eff == t[i].effective;

		ok(good, "classify: %ld %s -> %s %ld", t[i].status,
		   t[i].body ? json_str(t[i].body, strlen(t[i].body)) : "(no body)",
		   t[i].outcome, t[i].effective);
		if (!good)
			printf("#      got: %s %ld\n", outcome_name(o), eff);
	}

	/* a body nested deeper than the parser is allowed to go is not inspected */
	{
		StringInfoData b;
		long		eff;

		initStringInfo(&b);
		appendStringInfoString(&b, "{\"error\":\"x\",\"code\":401,\"a\":");
		for (int i = 0; i < 5000; i++)
			appendStringInfoChar(&b, '[');
		for (int i = 0; i < 5000; i++)
			appendStringInfoChar(&b, ']');
		appendStringInfoChar(&b, '}');
		ok(pusher_classify(200, b.data, b.len, &eff) == PUSHER_DELIVERED && eff == 200,
		   "classify: deeply nested 2xx body is not parsed (no recursion blow-up)");
		ok(pusher_classify(200, "{\"error\":\"x\",\"code\":401}xx", 24, &eff) == PUSHER_MISCONFIGURED && eff == 401,
		   "classify: body taken by length, not up to a zero byte");
		/* found by fuzz_classify: a backslash before a zero byte */
		ok(pusher_classify(200, "{\"error\":\"\\\0u\",\"code\":401}", 26, &eff) == PUSHER_DELIVERED && eff == 200,
		   "classify: a body with a zero byte is not JSON and not inspected");
	}
}

static void
test_retry_after(void)
{
	const time_t date = 784111777;	/* Sun, 06 Nov 1994 08:49:37 GMT */

	is_long(pusher_retry_after("120", 0), 120, "retry-after: delta-seconds");
	is_long(pusher_retry_after(" 5 \r\n", 0), 5, "retry-after: surrounding whitespace");
	is_long(pusher_retry_after("0", 0), 0, "retry-after: zero");
	is_long(pusher_retry_after("99999999999999999999999", 0), 7 * 86400, "retry-after: huge value capped at a week");
	is_long(pusher_retry_after("-1", 0), -1, "retry-after: negative is unparsable");
	is_long(pusher_retry_after("1.5", 0), -1, "retry-after: fraction is unparsable");
	is_long(pusher_retry_after("12abc", 0), -1, "retry-after: trailing garbage");
	is_long(pusher_retry_after("", 0), -1, "retry-after: empty");
	is_long(pusher_retry_after(NULL, 0), -1, "retry-after: missing");
	/* RFC 9110 section 5.6.7's IMF-fixdate example */
	is_long(pusher_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date - 100), 100, "retry-after: IMF-fixdate 100 s ahead");
	is_long(pusher_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 5), 0, "retry-after: date in the past is 0");
	is_long(pusher_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 0), 0, "retry-after: the epoch");
	is_long(pusher_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412000L), 480, "retry-after: MDN example date");
	is_long(pusher_retry_after("Tue, 29 Feb 2028 00:00:00 GMT", 1835395200L - 60), 60, "retry-after: leap day");
	is_long(pusher_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", 0), -1, "retry-after: zone other than GMT");
	is_long(pusher_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 0), -1, "retry-after: obsolete RFC 850 form");
	is_long(pusher_retry_after("Sun, 32 Nov 1994 08:49:37 GMT", 0), -1, "retry-after: day 32");
	is_long(pusher_retry_after("Sun, 06 Nox 1994 08:49:37 GMT", 0), -1, "retry-after: unknown month");
	is_long(pusher_retry_after("Sun, 06 Nov 1994 24:49:37 GMT", 0), -1, "retry-after: hour 24");
}

/* ---------------------------------------------------------------- */

typedef struct Captures
{
	int			n;
	StringInfoData text;
} Captures;

static void
capture(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	Captures   *c = arg;

	c->n++;
	appendStringInfo(&c->text, "%.*s=%.*s;", (int) namelen, name, (int) valuelen, value);
}

/* returns "no" or the captures as "name=value;..." */
static const char *
match(const char *pattern, const char *channel)
{
	Captures	c = {0};

	initStringInfo(&c.text);
	if (!pusher_match_pattern(pattern, channel, capture, &c))
		return c.n == 0 ? "no" : "no, but captured";
	return c.n == 0 ? "(match)" : c.text.data;
}

static const char *
pattern_reason(const char *p)
{
	const char *why = NULL;

	return pusher_valid_pattern(p, &why) ? "(valid)" : why;
}

static void
test_patterns(void)
{
	StringInfoData many;

	is_str(pattern_reason("private-user.{user_id}.*"), "(valid)", "pattern: private-user.{user_id}.*");
	is_str(pattern_reason("private-conversation.{conversation_id}"), "(valid)", "pattern: private-conversation.{conversation_id}");
	is_str(pattern_reason("private-doctor.{doctor_id}.ratings"), "(valid)", "pattern: private-doctor.{doctor_id}.ratings");
	is_str(pattern_reason("presence-online"), "(valid)", "pattern: fixed name");
	is_str(pattern_reason(""), "is empty", "pattern: empty");
	is_str(pattern_reason("private-{"), "has a placeholder that is not {name} with a name of letters, digits and _", "pattern: unclosed brace");
	is_str(pattern_reason("private-{}"), "has a placeholder that is not {name} with a name of letters, digits and _", "pattern: empty placeholder");
	is_str(pattern_reason("private-{1a}"), "has a placeholder that is not {name} with a name of letters, digits and _", "pattern: name starting with a digit");
	is_str(pattern_reason("private-{a-b}"), "has a placeholder that is not {name} with a name of letters, digits and _", "pattern: name with '-'");
	is_str(pattern_reason("private-{a}b"), "has a placeholder not followed by '.' or the end", "pattern: placeholder inside a segment");
	is_str(pattern_reason("private-{a}{b}"), "has a placeholder not followed by '.' or the end", "pattern: adjacent placeholders");
	is_str(pattern_reason("private-*"), "has a '*' that is not a final \".*\"", "pattern: bare star");
	is_str(pattern_reason("private-user.*.x"), "has a '*' that is not a final \".*\"", "pattern: star in the middle");
	is_str(pattern_reason("private-user.**"), "has a '*' that is not a final \".*\"", "pattern: double star");
	is_str(pattern_reason("private-user.{a}.{a}"), "uses the same placeholder name twice", "pattern: repeated placeholder");
	is_str(pattern_reason("private-}"), "has a '}' without '{'", "pattern: stray brace");
	is_str(pattern_reason("private user"), "contains a character outside A-Z a-z 0-9 _ - = @ , . ; and placeholders", "pattern: space");
	is_str(pattern_reason("private-%7Buser%7D"), "contains a character outside A-Z a-z 0-9 _ - = @ , . ; and placeholders", "pattern: percent-encoding");
	is_str(pattern_reason("#server"), "starts with '#', which is reserved", "pattern: leading '#'");
	initStringInfo(&many);
	appendStringInfoString(&many, "p");
	for (int i = 0; i < 17; i++)
		appendStringInfo(&many, ".{p%d}", i);
	is_str(pattern_reason(many.data), "has more than 16 placeholders", "pattern: 17 placeholders");

	/* the guide's escape: user 1 must not get private-user.12.* */
	is_str(match("private-user.{user_id}.*", "private-user.12.notifications"), "user_id=12;",
		   "match: private-user.12.notifications captures user_id=12 (so user 1 is refused)");
	is_str(match("private-user.{user_id}.*", "private-user.1.notifications"), "user_id=1;", "match: user 1's own channel");
	is_str(match("private-user.{user_id}.*", "private-user.1"), "no", "match: .* needs at least one more segment");
	is_str(match("private-user.{user_id}.*", "private-user..notifications"), "no", "match: empty placeholder segment");
	is_str(match("private-user.{user_id}.*", "private-user.12."), "no", "match: trailing dot");
	is_str(match("private-user.{user_id}.*", "private-user.12.."), "no", "match: tail of empty segments");
	is_str(match("private-user.{user_id}.*", "private-user.12.a..b"), "no", "match: empty segment inside the tail");
	is_str(match("private-user.{user_id}.*", "private-user.12.a.b"), "user_id=12;", "match: two-segment tail");
	is_str(match("private-user.{user_id}.*", "xprivate-user.12.n"), "no", "match: prefix trick");
	is_str(match("private-user.{user_id}.*", "presence-private-user.1.n"), "no", "match: embedded pattern (substring trick)");
	is_str(match("private-user.{user_id}.*", "private-users.1.n"), "no", "match: lookalike prefix");
	is_str(match("private-user.{user_id}.*", "Private-user.1.n"), "no", "match: case matters");
	is_str(match("private-user.{user_id}.*", "private-user.1%2e2.n"), "no", "match: percent-encoded dot");
	is_str(match("private-user.{user_id}.*", "private-user.1 .n"), "no", "match: space in the id");
	is_str(match("private-user.{user_id}.*", "private-user.1\n.n"), "no", "match: newline in the id");
	is_str(match("private-user.{user_id}.*", "private-user.1.n\n"), "no", "match: trailing newline");
	is_str(match("private-user.{user_id}.*", ""), "no", "match: empty channel");
	is_str(match("private-user.{user_id}", "private-user.12.notifications"), "no", "match: extra segments after the placeholder");
	is_str(match("private-user.{user_id}", "private-user.12"), "user_id=12;", "match: whole segment");
	is_str(match("private-conversation.{conversation_id}", "private-conversation.5"), "conversation_id=5;", "match: conversation");
	is_str(match("private-conversation.{conversation_id}", "private-conversation.5.6"), "no", "match: suffix trick");
	is_str(match("private-conversation.{conversation_id}", "private-conversation.5x"), "conversation_id=5x;", "match: the segment is captured whole");
	is_str(match("private-conversation.{conversation_id}", "private-conversation"), "no", "match: missing segment");
	is_str(match("private-conversation.{conversation_id}", "private-conversation."), "no", "match: empty last segment");
	is_str(match("private-doctor.{doctor_id}.ratings", "private-doctor.5.reviews"), "no", "match: literal after placeholder differs, nothing captured");
	is_str(match("private-doctor.{doctor_id}.ratings", "private-doctor.5.ratings"), "doctor_id=5;", "match: literal after placeholder");
	is_str(match("private-doctor.{doctor_id}.ratings", "private-doctor.5.ratingsx"), "no", "match: literal with suffix");
	is_str(match("private-chat.{a}.{b}", "private-chat.x.y"), "a=x;b=y;", "match: two placeholders in order");
	is_str(match("private-encrypted-user.{patient_id}.prescriptions", "private-encrypted-user.7.prescriptions"),
		   "patient_id=7;", "match: encrypted channel pattern");
	is_str(match("private-encrypted-user.{patient_id}.prescriptions", "private-user.7.prescriptions"), "no",
		   "match: encrypted pattern does not cover the plain channel");
	is_str(match("private-user.{user_id}.*", "private-user.{user_id}.x"), "no", "match: channel spelled like the pattern");
	is_str(match("presence-online", "presence-online"), "(match)", "match: fixed name");
	is_str(match("presence-online", "presence-online2"), "no", "match: fixed name with suffix");
	is_str(match("private-{bad", "private-x"), "no", "match: an invalid pattern matches nothing");
	ok(pusher_match_pattern("private-user.{user_id}.*", "private-user.1.n", NULL, NULL), "match: NULL capture callback is fine");
}

int
main(void)
{
	test_channel_validation();
	test_event_validation();
	test_socket_id_validation();
	test_channel_kinds();
	test_signing();
	test_auth();
	test_webhooks();
	test_json_strings();
	test_bodies();
	test_classify();
	test_retry_after();
	test_patterns();
	return tap_done();
}
