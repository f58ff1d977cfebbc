/*-------------------------------------------------------------------------
 * channel_template.c
 *	  rtpush's channel templates, the language of rtpush.broadcast's channel
 *	  argument ("private-user.{patient_id}"): the left-to-right scan into
 *	  literals and placeholders and the check of the channel it makes.
 *	  Not Pusher protocol; it builds on the channel name rules.
 *
 * Pure C, no SQL, curl or ereport.  Builds in the backend and, with
 * -DFRONTEND, in test/unit.
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "channel_template.h"
#include "pusher_names.h"

/*
 * The channel a template makes when every placeholder is "0", kept only as
 * far as validation needs: a name longer than PUSHER_MAX_CHANNEL_LEN is
 * refused for its length alone, so the bytes after the first
 * PUSHER_MAX_CHANNEL_LEN + 1 are counted but not stored.
 */
typedef struct TemplateSample
{
	char		buf[PUSHER_MAX_CHANNEL_LEN + 1];
	size_t		len;
} TemplateSample;

static void
sample_append(TemplateSample *sample, const char *s, size_t len)
{
	size_t		stored = Min(sample->len, sizeof(sample->buf));

	memcpy(sample->buf + stored, s, Min(len, sizeof(sample->buf) - stored));
	sample->len += len;
}

bool
pusher_parse_template(const char *tmpl, pusher_template_cb cb, void *arg,
					  const char **why)
{
	TemplateSample sample;
	const char *p = tmpl;

	sample.len = 0;
	while (*p)
	{
		const char *q = p;
		bool		nested = false;

		/* a literal run: up to the next brace */
		while (*q && *q != '{' && *q != '}')
			q++;
		if (*q == '}')
		{
			*why = "A \"}\" has no matching \"{\".";
			return false;
		}
		if (q != p)
		{
			if (cb)
				cb(arg, false, p, q - p);
			sample_append(&sample, p, q - p);
			p = q;
			continue;
		}
		/* a placeholder: p is at '{', find the first '}' after it */
		for (q = p + 1; *q && *q != '}'; q++)
			nested |= (*q == '{');
		if (*q == '\0')
		{
			*why = "A \"{\" is not closed by \"}\".";
			return false;
		}
		if (nested)
		{
			*why = "Placeholders cannot be nested.";
			return false;
		}
		if (q == p + 1)
		{
			*why = "A placeholder \"{}\" names no column.";
			return false;
		}
		if (cb)
			cb(arg, true, p + 1, q - p - 1);
		sample_append(&sample, "0", 1);
		p = q + 1;
	}
	/* the literal parts must make a valid channel with any plain value */
	return pusher_valid_made_channel(sample.buf,
									 Min(sample.len, sizeof(sample.buf)), why);
}
