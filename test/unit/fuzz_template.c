/*-------------------------------------------------------------------------
 * fuzz_template.c
 *	  libFuzzer target: capture's channel templates (pusher_parse_template).
 *	  Input is the template.  Every part must point into the template right
 *	  after the previous one, literals are maximal brace-free runs and names
 *	  are non-empty and brace-free.  On success the parts give back the
 *	  template exactly ("{name}" for placeholders) and, with "0" for each
 *	  placeholder, a valid channel; on failure there is a reason.  Parsing
 *	  without a callback gives the same answer, and so does the loop that
 *	  capture.c's parse_template() ran before the parser moved here (kept
 *	  below as the reference), callback for callback and reason for reason.
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

typedef struct Parts
{
	const char *tmpl;
	const char *next;			/* where the next part must start */
	bool		last_literal;
	StringInfoData seq;			/* "L<literal>|" and "P<name>|" */
	StringInfoData text;		/* the parts with "{name}" */
	StringInfoData sample;		/* the parts with "0" */
} Parts;

static void
cb(void *arg, bool placeholder, const char *s, size_t len)
{
	Parts	   *p = arg;

	FUZZ_CHECK(len > 0);
	FUZZ_CHECK(memchr(s, '{', len) == NULL && memchr(s, '}', len) == NULL);
	FUZZ_CHECK(memchr(s, '\0', len) == NULL);
	if (placeholder)
	{
		FUZZ_CHECK(p->next[0] == '{' && s == p->next + 1 && s[len] == '}');
		p->next = s + len + 1;
		appendStringInfo(&p->text, "{%.*s}", (int) len, s);
		appendStringInfoChar(&p->sample, '0');
	}
	else
	{
		FUZZ_CHECK(s == p->next && !p->last_literal);
		/* maximal: a literal is followed by a '{' or the end */
		FUZZ_CHECK(s[len] == '{' || s[len] == '\0');
		p->next = s + len;
		appendBinaryStringInfo(&p->text, s, (int) len);
		appendBinaryStringInfo(&p->sample, s, (int) len);
	}
	p->last_literal = !placeholder;
	appendStringInfoChar(&p->seq, placeholder ? 'P' : 'L');
	appendBinaryStringInfo(&p->seq, s, (int) len);
	appendStringInfoChar(&p->seq, '|');
}

/*
 * The reference: parse_template()'s loop from src/capture.c before this
 * parser existed, with ereport replaced by returning the reason and the
 * column lookup by the callback.
 */
static const char *
reference_fault(const char *tmpl, StringInfo seq, StringInfo sample)
{
	const char *p = tmpl;

	while (*p)
	{
		const char *open = strchr(p, '{');
		const char *close = strchr(p, '}');

		if (close && (!open || close < open))
			return "A \"}\" has no matching \"{\".";
		if (open != p)
		{
			int			len = open ? open - p : strlen(p);

			appendStringInfo(seq, "L%.*s|", len, p);
			appendBinaryStringInfo(sample, p, len);
			p += len;
			continue;
		}
		if (!close)
			return "A \"{\" is not closed by \"}\".";
		if (memchr(open + 1, '{', close - open - 1))
			return "Placeholders cannot be nested.";
		if (close == open + 1)
			return "A placeholder \"{}\" names no column.";
		appendStringInfo(seq, "P%.*s|", (int) (close - open - 1), open + 1);
		appendStringInfoChar(sample, '0');
		p = close + 1;
	}
	return NULL;
}

/* true if valid; otherwise the reason is appended to 'why' */
static bool
reference_parse(const char *tmpl, StringInfo seq, StringInfo why)
{
	StringInfoData sample;
	const char *fault;
	const char *cwhy;
	bool		valid = true;

	initStringInfo(&sample);
	fault = reference_fault(tmpl, seq, &sample);
	if (fault)
	{
		appendStringInfoString(why, fault);
		valid = false;
	}
	else if (!pusher_valid_channel(sample.data, sample.len, &cwhy))
	{
		/* the bare reason is "The name <...>.": the same words about the made channel */
		appendStringInfo(why, "The channel it makes %s", cwhy + strlen("The name "));
		valid = false;
	}
	pfree(sample.data);
	return valid;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *tmpl = fuzz_cstring(data, size);
	Parts		p = {0};
	const char *why = NULL;
	const char *why2 = NULL;
	StringInfoData rseq;
	StringInfoData rwhy;
	bool		valid;

	p.tmpl = p.next = tmpl;
	initStringInfo(&p.seq);
	initStringInfo(&p.text);
	initStringInfo(&p.sample);
	valid = pusher_parse_template(tmpl, cb, &p, &why);

	if (valid)
	{
		const char *cwhy = NULL;

		FUZZ_CHECK(*p.next == '\0');
		FUZZ_CHECK(strcmp(p.text.data, tmpl) == 0);
		FUZZ_CHECK(pusher_valid_channel(p.sample.data, p.sample.len, &cwhy));
	}
	else
	{
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		/* the parts reported before the refusal are a prefix of it */
		FUZZ_CHECK(strncmp(p.text.data, tmpl, p.text.len) == 0);
	}

	FUZZ_CHECK(pusher_parse_template(tmpl, NULL, NULL, &why2) == valid);
	FUZZ_CHECK(valid || strcmp(why, why2) == 0);

	initStringInfo(&rseq);
	initStringInfo(&rwhy);
	FUZZ_CHECK(reference_parse(tmpl, &rseq, &rwhy) == valid);
	FUZZ_CHECK(strcmp(rseq.data, p.seq.data) == 0);
	FUZZ_CHECK(valid || strcmp(rwhy.data, why) == 0);

	pfree(rseq.data);
	pfree(rwhy.data);
	pfree(p.seq.data);
	pfree(p.text.data);
	pfree(p.sample.data);
	pfree(tmpl);
	return 0;
}
