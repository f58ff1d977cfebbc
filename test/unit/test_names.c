/*-------------------------------------------------------------------------
 * test_names.c
 *	  Unit tests of src/pusher_names.c: channel, event and socket id
 *	  validation edge cases and the channel kinds, against Pusher's rules
 *	  and the official server libraries' test suites.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "pusher_names.h"
#include "tap.h"

static bool
valid_channel(const char *s)
{
	const char *why = NULL;

	return pusher_valid_channel(s, strlen(s), &why);
}

typedef bool (*Validator) (const char *s, size_t len, const char **why);

/* "(valid)", or the reason the validator gives for s[0..len) */
static const char *
reason(Validator valid, const char *s, size_t len)
{
	const char *why = NULL;
	bool		is_valid = valid(s, len, &why);

	return is_valid ? "(valid)" : why;
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
	is_str(reason(pusher_valid_channel, name, 165), "The name is longer than 164 characters.", "channel: 165 characters is refused");
	is_str(reason(pusher_valid_channel, "", 0), "The name is empty.", "channel: empty is refused");
	ok(!pusher_valid_channel(NULL, 0, &why), "channel: NULL is refused");
	is_str(reason(pusher_valid_channel, "#server-to-user-1", 17), "The name starts with '#', which is reserved.", "channel: leading '#' is reserved");
	is_str(reason(pusher_valid_channel, "a b", 3), "The name has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ;).", "channel: space is refused");
	ok(!valid_channel("private-user.1%2e2"), "channel: percent-encoded text is refused");
	ok(!valid_channel("private-user/1"), "channel: slash is refused");
	ok(!valid_channel("test_channel:"), "channel: trailing colon is refused (pusher-http-php AuthorizeChannelTest)");
	ok(!valid_channel(":test_channel"), "channel: leading colon is refused (pusher-http-php AuthorizeChannelTest)");
	ok(!valid_channel("test_channel\n:"), "channel: newline is refused (pusher-http-php AuthorizeChannelTest)");
	is_str(reason(pusher_valid_channel, "ab\0c", 4), "The name has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ;).", "channel: embedded zero byte is refused");
	ok(!valid_channel("caf\xc3\xa9"), "channel: non-ASCII is refused");
	ok(!valid_channel("a#b"), "channel: '#' inside is refused");
	ok(!valid_channel("a*b") && !valid_channel("a{b}"), "channel: pattern syntax is refused in names");
}

static void
test_event_validation(void)
{
	char		name[260];

	is_str(reason(pusher_valid_event, "appointment.updated", 19), "(valid)", "event: appointment.updated");
	is_str(reason(pusher_valid_event, "App\\Events\\MessageSent", 22), "(valid)", "event: Laravel class name with backslashes");
	is_str(reason(pusher_valid_event, "client-typing", 13), "(valid)", "event: client-typing");
	memset(name, 'e', 200);
	is_str(reason(pusher_valid_event, name, 200), "(valid)", "event: 200 characters is the maximum");
	memset(name, 'e', 201);
	is_str(reason(pusher_valid_event, name, 201), "The name is longer than 200 characters.", "event: 201 characters is refused");
	is_str(reason(pusher_valid_event, "", 0), "The name is empty.", "event: empty is refused");
	is_str(reason(pusher_valid_event, "pusher:subscribe", 16), "The name starts with \"pusher:\", which is reserved for the protocol.", "event: pusher: prefix is reserved");
	is_str(reason(pusher_valid_event, "pusher_internal:member_added", 28), "The name starts with \"pusher_internal:\", which is reserved for the protocol.", "event: pusher_internal: prefix is reserved");
	is_str(reason(pusher_valid_event, "pusher", 6), "(valid)", "event: 'pusher' alone is fine");
	is_str(reason(pusher_valid_event, "a\0b", 3), "The name contains a zero byte.", "event: embedded zero byte is refused");
}

static void
test_socket_id_validation(void)
{
	static const char *const good[] = {"1234.1234", "1.1", "123.456", "45055.28877557", "0.0"};
	/* the first four are pusher-http-node's and pusher-http-php's rejection cases */
	static const char *const bad[] = {"1.1:", ":1.1", ":\n1.1", "1.1\n:", "1.", ".1", "1",
	"1.2.3", "a.b", "-1.1", " 1.1", "1.1 ", "1,1", "1.1\n", "\xd9\xa1.1", "+1.1"};

	for (int i = 0; i < lengthof(good); i++)
		is_str(reason(pusher_valid_socket_id, good[i], strlen(good[i])), "(valid)", psprintf("socket_id: %s is valid", good[i]));
	for (int i = 0; i < lengthof(bad); i++)
		is_str(reason(pusher_valid_socket_id, bad[i], strlen(bad[i])), "The socket id is not digits, a dot and digits (like 1234.5678).",
			   psprintf("socket_id: bad case %d is refused", i + 1));
	is_str(reason(pusher_valid_socket_id, "", 0), "The socket id is empty.", "socket_id: empty is refused");
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

int
main(void)
{
	test_channel_validation();
	test_event_validation();
	test_socket_id_validation();
	test_channel_kinds();
	return tap_done();
}
