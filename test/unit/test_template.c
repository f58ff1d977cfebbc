/*-------------------------------------------------------------------------
 * test_template.c
 *	  Unit tests of pusher_parse_template() (src/channel_template.c), the
 *	  syntax of capture's channel templates: the callback sequence for accepted
 *	  templates, the exact reason for every kind of refusal (the same
 *	  sentences capture.c puts in its error details, see
 *	  expected/capture_ddl.out), which parts are reported before a refusal,
 *	  and the length limit counted with placeholders as "0".
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "pusher.h"
#include "tap.h"

#define R_CLOSE		"A \"}\" has no matching \"{\"."
#define R_OPEN		"A \"{\" is not closed by \"}\"."
#define R_NESTED	"Placeholders cannot be nested."
#define R_EMPTY		"A placeholder \"{}\" names no column."
#define R_CHAR		"The channel it makes has a character outside the allowed set (A-Z a-z 0-9 _ - = @ , . ;)."
#define R_HASH		"The channel it makes starts with '#', which is reserved."
#define R_LONG		"The channel it makes is longer than 164 characters."
#define R_NONE		"The channel it makes is empty."

/*
 * Records the callbacks as "L<literal>|" and "P<name>|", and checks that every
 * part points into the template, in order and without gaps.
 */
typedef struct Parts
{
	const char *tmpl;
	const char *next;			/* where the next part must start */
	bool		contiguous;
	StringInfoData seq;
} Parts;

static void
record(void *arg, bool placeholder, const char *s, size_t len)
{
	Parts	   *p = arg;
	const char *expect = placeholder ? p->next + 1 : p->next;

	if (s != expect || len == 0)
		p->contiguous = false;
	p->next = s + len + (placeholder ? 1 : 0);
	appendStringInfoChar(&p->seq, placeholder ? 'P' : 'L');
	appendBinaryStringInfo(&p->seq, s, (int) len);
	appendStringInfoChar(&p->seq, '|');
}

/* "<sequence>" on success, "<sequence>! <why>" on failure */
static char *
parse(const char *tmpl)
{
	Parts		p;
	const char *why = NULL;
	bool		okay;

	p.tmpl = p.next = tmpl;
	p.contiguous = true;
	initStringInfo(&p.seq);
	okay = pusher_parse_template(tmpl, record, &p, &why);
	if (!p.contiguous)
		appendStringInfoString(&p.seq, "(parts out of place)");
	if (okay && *p.next != '\0')
		appendStringInfoString(&p.seq, "(template not covered)");
	if (!okay)
		appendStringInfo(&p.seq, "! %s", why ? why : "(no reason)");
	return p.seq.data;
}

/* the reason alone, parsing without a callback */
static const char *
reason(const char *tmpl)
{
	const char *why = NULL;

	if (pusher_parse_template(tmpl, NULL, NULL, &why))
		return "(valid)";
	return why ? why : "(no reason)";
}

static char *
repeat(char c, int n, const char *tail)
{
	char	   *s = palloc(n + strlen(tail) + 1);

	memset(s, c, n);
	strcpy(s + n, tail);
	return s;
}

static void
test_accepted(void)
{
	is_str(parse("private-user.{patient_id}.appointments"),
		   "Lprivate-user.|Ppatient_id|L.appointments|", "accept: the guide's appointments channel");
	is_str(parse("private-conversation.{conversation_id}"),
		   "Lprivate-conversation.|Pconversation_id|", "accept: placeholder at the end");
	is_str(parse("{id}.x"), "Pid|L.x|", "accept: placeholder at the start");
	is_str(parse("{id}"), "Pid|", "accept: a placeholder alone");
	is_str(parse("presence-online"), "Lpresence-online|", "accept: no placeholder");
	is_str(parse("private-chat.{a}{b}"), "Lprivate-chat.|Pa|Pb|", "accept: adjacent placeholders");
	is_str(parse("private-chat.{a}-{b}.{c}"), "Lprivate-chat.|Pa|L-|Pb|L.|Pc|", "accept: three placeholders");
	is_str(parse("private-user.{patient id}"), "Lprivate-user.|Ppatient id|",
		   "accept: a name is any brace-free text (the caller looks it up)");
	is_str(parse("private-user.{#}"), "Lprivate-user.|P#|", "accept: '#' in a name is the caller's business");
	is_str(parse("private-encrypted-user.{patient_id}.prescriptions"),
		   "Lprivate-encrypted-user.|Ppatient_id|L.prescriptions|", "accept: encrypted channel");
	is_str(parse("_-=@,.;AZaz09{x}"), "L_-=@,.;AZaz09|Px|", "accept: every channel character class");
	is_str(reason("private-user.{patient_id}.appointments"), "(valid)", "accept: without a callback");
}

static void
test_refused(void)
{
	/* the four syntax faults, each in several places */
	is_str(reason("private-user.patient_id}"), R_CLOSE, "refuse: '}' without '{'");
	is_str(reason("}"), R_CLOSE, "refuse: '}' alone");
	is_str(reason("private-user.{a}}"), R_CLOSE, "refuse: '}' after a placeholder");
	is_str(reason("a}{b}"), R_CLOSE, "refuse: '}' before a placeholder");
	is_str(reason("private-user.{patient_id"), R_OPEN, "refuse: unclosed '{'");
	is_str(reason("{"), R_OPEN, "refuse: '{' alone");
	is_str(reason("private-user.{a}{"), R_OPEN, "refuse: '{' at the end after a placeholder");
	is_str(reason("private-{a{b"), R_OPEN, "refuse: two unclosed '{' are unclosed, not nested");
	is_str(reason("private-user.{{patient_id}}"), R_NESTED, "refuse: doubled braces");
	is_str(reason("private-{a{b}"), R_NESTED, "refuse: '{' inside a placeholder");
	is_str(reason("{{}"), R_NESTED, "refuse: '{' inside an empty-looking placeholder");
	is_str(reason("private-user.{}"), R_EMPTY, "refuse: empty placeholder");
	is_str(reason("{}"), R_EMPTY, "refuse: '{}' alone");
	is_str(reason("{}}"), R_EMPTY, "refuse: '{}' comes before a later stray '}'");

	/* the channel it makes, with "0" for each placeholder */
	is_str(reason("private user.{patient_id}"), R_CHAR, "refuse: space in a literal");
	is_str(reason("private-user.{id}/x"), R_CHAR, "refuse: '/' after a placeholder");
	is_str(reason("private-caf\xc3\xa9.{id}"), R_CHAR, "refuse: non-ASCII literal");
	is_str(reason("private-user.%7Bid%7D"), R_CHAR, "refuse: percent-encoded braces");
	is_str(reason("#server-to-user-{patient_id}"), R_HASH, "refuse: leading '#'");
	is_str(reason("{a}#"), R_CHAR, "refuse: '#' not at the start is a bad character");
	is_str(reason(""), R_NONE, "refuse: empty template");
	is_str(reason(repeat('x', 164, "")), "(valid)", "accept: 164-character literal");
	is_str(reason(repeat('x', 165, "")), R_LONG, "refuse: 165-character literal");
	is_str(reason(repeat('x', 163, "{patient_id}")), "(valid)",
		   "accept: 163 characters and a placeholder make 164");
	is_str(reason(repeat('x', 164, "{patient_id}")), R_LONG,
		   "refuse: 164 characters and a placeholder make 165");
	is_str(reason(repeat('x', 10000, "{a} b")), R_LONG, "refuse: length is reported before a bad character");
	is_str(reason(repeat('#', 200, "")), R_LONG, "refuse: length is reported before a leading '#'");
	is_str(reason(repeat('{', 1, repeat('a', 500, "}"))), "(valid)",
		   "accept: a long name counts as one character");
}

static void
test_reported_before_refusal(void)
{
	is_str(parse("private-{a}.{b}}"), "Lprivate-|Pa|L.|Pb|! " R_CLOSE,
		   "partial: parts before a stray '}' are reported");
	is_str(parse("private-user.}"), "! " R_CLOSE,
		   "partial: a literal run ending in '}' is not reported");
	is_str(parse("x.{a}.{b"), "Lx.|Pa|L.|! " R_OPEN, "partial: parts before an unclosed '{'");
	is_str(parse("x.{a}.{b{c}"), "Lx.|Pa|L.|! " R_NESTED, "partial: parts before a nested '{'");
	is_str(parse("x.{a}.{}"), "Lx.|Pa|L.|! " R_EMPTY, "partial: parts before '{}'");
	is_str(parse("bad {a} channel"), "Lbad |Pa|L channel|! " R_CHAR,
		   "partial: every part is reported before the channel check");
	is_str(parse("#{a}"), "L#|Pa|! " R_HASH, "partial: a leading '#' is refused after every part");
}

/* the template reason is always pusher_valid_channel's, wrapped */
static void
test_reason_agrees_with_channel_validation(void)
{
	const char *samples[] = {"", "#x", "a b", NULL};

	for (int i = 0; samples[i]; i++)
	{
		const char *cwhy = NULL;
		char	   *expect;

		(void) pusher_valid_channel(samples[i], strlen(samples[i]), &cwhy);
		expect = psprintf("The channel it makes %s", cwhy + strlen("The name "));
		is_str(reason(samples[i]), expect, psprintf("agree: \"%s\"", samples[i]));
	}
	{
		const char *cwhy = NULL;
		char	   *longname = repeat('y', 165, "");

		(void) pusher_valid_channel(longname, strlen(longname), &cwhy);
		is_str(reason(longname), psprintf("The channel it makes %s", cwhy + strlen("The name ")), "agree: 165 characters");
	}
}

int
main(void)
{
	test_accepted();
	test_refused();
	test_reported_before_refusal();
	test_reason_agrees_with_channel_validation();
	return tap_done();
}
