/*-------------------------------------------------------------------------
 * tap.h
 *	  Minimal TAP output for rtpush's standalone unit tests: "ok N - ..." and
 *	  "not ok N - ..." lines plus "# got/expected" diagnostics.  run-checks.sh
 *	  renumbers the lines of all programs into one stream.
 *-------------------------------------------------------------------------
 */
#ifndef RTPUSH_TAP_H
#define RTPUSH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int	tap_count;
static int	tap_failures;

static pg_attribute_unused() bool pg_attribute_printf(2, 3)
ok(bool cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failures++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static pg_attribute_unused() bool
is_str(const char *got, const char *expected, const char *desc)
{
	bool		same = got != NULL && expected != NULL && strcmp(got, expected) == 0;

	ok(same, "%s", desc);
	if (!same)
	{
		printf("#      got: %s\n", got ? got : "(null)");
		printf("# expected: %s\n", expected ? expected : "(null)");
	}
	return same;
}

static pg_attribute_unused() bool
is_long(long got, long expected, const char *desc)
{
	ok(got == expected, "%s", desc);
	if (got != expected)
		printf("#      got: %ld\n# expected: %ld\n", got, expected);
	return got == expected;
}

static pg_attribute_unused() int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures == 0 ? 0 : 1;
}

#endif
