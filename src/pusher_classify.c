/*-------------------------------------------------------------------------
 * pusher_classify.c
 *	  Pusher HTTP API response classification: an HTTP status and body
 *	  (soketi's 2xx {"error","code"} answers included) to delivered, retry,
 *	  misconfigured or rejected, and the Retry-After header.
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

#include "json_walk.h"
#include "pusher_classify.h"

#define CLASSIFY_MAX_BODY	65536	/* longer bodies are not inspected */
#define CLASSIFY_MAX_DEPTH	64		/* deeper nesting is not inspected */

typedef struct ClassifyState
{
	bool		has_error;		/* a top-level "error" that is not null */
	bool		has_code;		/* a top-level "code" that is a status */
	long		code;
} ClassifyState;

/* parses an HTTP status code 100..599 from text; -1 if it is not one */
static long
parse_status(const char *s)
{
	long		v = 0;
	int			n = 0;

	for (; *s; s++, n++)
	{
		if (*s < '0' || *s > '9' || n >= 3)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (n == 3 && v >= 100 && v <= 599) ? v : -1;
}

/* one top-level member: "error" (any value but null) or "code" */
static void
classify_member(void *arg, const char *name, JsonTokenType type,
				const char *value)
{
	ClassifyState *st = (ClassifyState *) arg;

	if (strcmp(name, "error") == 0 && type != JSON_TOKEN_NULL)
		st->has_error = true;
	else if (strcmp(name, "code") == 0 &&
			 (type == JSON_TOKEN_NUMBER || type == JSON_TOKEN_STRING))
	{
		long		v = parse_status(value);

		if (v > 0)
		{
			st->has_code = true;
			st->code = v;
		}
	}
}

/*
 * A copy of the body for the parser: every \u escape of a code point that is
 * not printable ASCII becomes \u003f ('?').  The classifier only needs the
 * ASCII member names "error" and "code"; this way de-escaping can never fail
 * (code point zero, lone surrogates) or need a conversion to the server
 * encoding, which in the backend could throw.  Returns NULL when the body is
 * nested deeper than CLASSIFY_MAX_DEPTH (the parser recurses; in frontend
 * builds without a stack depth check), contains a zero byte, or is not an
 * object.
 */
static char *
classify_prepare(const char *body, size_t len)
{
	char	   *copy;
	int			depth = 0;
	bool		in_string = false;
	size_t		i = 0;

	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
					   body[i] == '\n' || body[i] == '\r'))
		i++;
	if (i >= len || body[i] != '{')
		return NULL;

	/*
	 * JSON text never contains a zero byte; PostgreSQL's lexer accepts a
	 * backslash before one only when it is not de-escaping, so the two
	 * passes below could disagree.
	 */
	if (memchr(body, '\0', len) != NULL)
		return NULL;

	copy = palloc(len + 1);
	memcpy(copy, body, len);
	copy[len] = '\0';
	for (; i < len; i++)
	{
		char		c = copy[i];

		if (in_string)
		{
			if (c == '"')
				in_string = false;
			else if (c == '\\' && i + 1 < len)
			{
				if (copy[i + 1] == 'u' && i + 5 < len)
				{
					unsigned int cp = 0;
					bool		ok = true;

					for (int k = 2; k < 6; k++)
					{
						char		h = copy[i + k];

						cp <<= 4;
						if (h >= '0' && h <= '9')
							cp |= h - '0';
						else if (h >= 'a' && h <= 'f')
							cp |= h - 'a' + 10;
						else if (h >= 'A' && h <= 'F')
							cp |= h - 'A' + 10;
						else
							ok = false;
					}
					if (ok && (cp < 0x20 || cp >= 0x7f))
						memcpy(copy + i + 2, "003f", 4);
					i += ok ? 5 : 1;
				}
				else
					i++;
			}
		}
		else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
		{
			if (++depth > CLASSIFY_MAX_DEPTH)
			{
				pfree(copy);
				return NULL;
			}
		}
		else if (c == '}' || c == ']')
			depth--;
	}
	return copy;
}

/* finds a top-level "error" member and "code" in a JSON object body */
static void
classify_body(const char *body, size_t len, ClassifyState *st)
{
	char	   *copy;

	memset(st, 0, sizeof(*st));
	if (body == NULL || len == 0 || len > CLASSIFY_MAX_BODY)
		return;
	copy = classify_prepare(body, len);
	if (copy == NULL)
		return;
	if (!json_walk_members(copy, len, classify_member, st))
		memset(st, 0, sizeof(*st));
	pfree(copy);
}

static PusherOutcome
classify_status(long status)
{
	if (status >= 200 && status <= 299)
		return PUSHER_DELIVERED;
	if (status == 408 || status == 429)
		return PUSHER_RETRY;
	/* about the credentials, the app id or the endpoint, not one event */
	if (status == 401 || status == 403 || status == 404 || status == 405 || status == 407)
		return PUSHER_MISCONFIGURED;
	if (status >= 400 && status <= 499)
		return PUSHER_REJECTED;
	/* 0 (no answer), 5xx, and anything unexpected (1xx, 3xx): try again */
	return PUSHER_RETRY;
}

PusherOutcome
pusher_classify(long http_status, const char *body, size_t bodylen,
				long *status_out)
{
	long		status = http_status;

	if (status >= 200 && status <= 299)
	{
		ClassifyState st;

		classify_body(body, bodylen, &st);
		if (st.has_error)
			status = st.has_code ? st.code : 500;
		/* a 2xx "code" with an "error" still is a failure */
		if (st.has_error && status >= 200 && status <= 299)
			status = 500;
	}
	if (status_out)
		*status_out = status;
	return classify_status(status);
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static long
days_from_civil(long y, int m, int d)
{
	long		era;
	long		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
parse_digits(const char *s, int n, long *out)
{
	long		v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7) */
static bool
parse_imf_fixdate(const char *s, size_t len, long *epoch)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	long		day,
				year,
				hh,
				mm,
				ss;
	int			mon = -1;
	bool		dayok = false;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
		memcmp(s + 26, "GMT", 3) != 0)
		return false;
	for (int i = 0; i < 7; i++)
		if (memcmp(s, days[i], 3) == 0)
			dayok = true;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i;
	if (!dayok || mon < 0 ||
		!parse_digits(s + 5, 2, &day) || !parse_digits(s + 12, 4, &year) ||
		!parse_digits(s + 17, 2, &hh) || !parse_digits(s + 20, 2, &mm) ||
		!parse_digits(s + 23, 2, &ss))
		return false;
	if (day < 1 || day > mdays[mon] || hh > 23 || mm > 59 || ss > 60)
		return false;
	*epoch = days_from_civil(year, mon + 1, (int) day) * 86400L +
		hh * 3600 + mm * 60 + ss;
	return true;
}

#define RETRY_AFTER_MAX	(7L * 86400)	/* a week: longer values are capped */

long
pusher_retry_after(const char *value, time_t now)
{
	size_t		len;
	const char *s = value;
	long		epoch;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
					   s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (len == 0)
		return -1;

	if (s[0] >= '0' && s[0] <= '9')
	{
		long		v = 0;

		for (size_t i = 0; i < len; i++)
		{
			if (s[i] < '0' || s[i] > '9')
				return -1;
			if (v < RETRY_AFTER_MAX)
				v = v * 10 + (s[i] - '0');
		}
		return Min(v, RETRY_AFTER_MAX);
	}
	if (!parse_imf_fixdate(s, len, &epoch))
		return -1;
	if (epoch <= (long) now)
		return 0;
	return Min(epoch - (long) now, RETRY_AFTER_MAX);
}

/*
 * 429 (Pusher, soketi, Sockudo) and 503 (Sockudo) with Retry-After say the
 * server wants no request from anyone for a while, not that these events
 * failed.
 */
bool
pusher_pauses_everyone(long status, bool has_retry_after)
{
	return has_retry_after && (status == 429 || status == 503);
}
