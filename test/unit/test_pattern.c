/*-------------------------------------------------------------------------
 * test_pattern.c
 *	  Unit tests of src/channel_pattern.c: pattern syntax and adversarial
 *	  channel name pattern matching with captures.
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "channel_pattern.h"
#include "lib/stringinfo.h"
#include "tap.h"

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
	is_str(pattern_reason(""), "The pattern is empty.", "pattern: empty");
	is_str(pattern_reason("private-{"), "The pattern has a placeholder that is not {name} with a name of letters, digits and _.", "pattern: unclosed brace");
	is_str(pattern_reason("private-{}"), "The pattern has a placeholder that is not {name} with a name of letters, digits and _.", "pattern: empty placeholder");
	is_str(pattern_reason("private-{1a}"), "The pattern has a placeholder that is not {name} with a name of letters, digits and _.", "pattern: name starting with a digit");
	is_str(pattern_reason("private-{a-b}"), "The pattern has a placeholder that is not {name} with a name of letters, digits and _.", "pattern: name with '-'");
	is_str(pattern_reason("private-{a}b"), "The pattern has a placeholder not followed by '.' or the end.", "pattern: placeholder inside a segment");
	is_str(pattern_reason("private-{a}{b}"), "The pattern has a placeholder not followed by '.' or the end.", "pattern: adjacent placeholders");
	is_str(pattern_reason("private-*"), "The pattern has a '*' that is not a final \".*\".", "pattern: bare star");
	is_str(pattern_reason("private-user.*.x"), "The pattern has a '*' that is not a final \".*\".", "pattern: star in the middle");
	is_str(pattern_reason("private-user.**"), "The pattern has a '*' that is not a final \".*\".", "pattern: double star");
	is_str(pattern_reason("private-user.{a}.{a}"), "The pattern uses the same placeholder name twice.", "pattern: repeated placeholder");
	is_str(pattern_reason("private-}"), "The pattern has a '}' without '{'.", "pattern: stray brace");
	is_str(pattern_reason("private user"), "The pattern has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ; and placeholders).", "pattern: space");
	is_str(pattern_reason("private-%7Buser%7D"), "The pattern has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ; and placeholders).", "pattern: percent-encoding");
	is_str(pattern_reason("#server"), "The pattern starts with '#', which is reserved.", "pattern: leading '#'");
	initStringInfo(&many);
	appendStringInfoString(&many, "p");
	for (int i = 0; i < 17; i++)
		appendStringInfo(&many, ".{p%d}", i);
	is_str(pattern_reason(many.data), "The pattern has more than 16 placeholders.", "pattern: 17 placeholders");

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
	test_patterns();
	return tap_done();
}
