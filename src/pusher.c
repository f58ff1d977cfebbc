/*-------------------------------------------------------------------------
 * pusher.c
 *	  The Pusher Channels protocol in pure C: validation of channel, event
 *	  and socket names, HTTP API request signing, request bodies, response
 *	  classification (including Retry-After), subscription and user auth
 *	  signatures, webhook verification, the channel name patterns of the
 *	  authorization rules and the syntax of capture's channel templates.
 *
 * Nothing here touches SQL, curl or ereport; failures come back as static
 * English reasons.  The file builds in the backend (postgres.h) and, with
 * -DFRONTEND, in the standalone unit tests and fuzzers (postgres_fe.h).
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/jsonapi.h"
#include "compat.h"
#include "mb/pg_wchar.h"
#include "pusher.h"

/* ----------------------------------------------------------------
 * validation
 * ----------------------------------------------------------------
 */

static inline bool
channel_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-' || c == '=' ||
		c == '@' || c == ',' || c == '.' || c == ';';
}

/*
 * Why a channel name is invalid: one list of reasons, spelled once, used both
 * bare (pusher_valid_channel) and inside the template reason (the channel a
 * template makes), so the two cannot drift apart.
 */
typedef enum ChannelFault
{
	CHANNEL_OK,
	CHANNEL_EMPTY,
	CHANNEL_TOO_LONG,
	CHANNEL_HASH,
	CHANNEL_BAD_CHAR
} ChannelFault;

#define CHANNEL_REASONS(before, after) { \
	NULL, \
	before "is empty" after, \
	before "is longer than 164 characters" after, \
	before "starts with '#', which is reserved" after, \
	before "contains a character outside A-Z a-z 0-9 _ - = @ , . ;" after \
}

static const char *const channel_reasons[] = CHANNEL_REASONS("", "");
static const char *const template_channel_reasons[] =
CHANNEL_REASONS("The channel it makes ", ".");

static ChannelFault
channel_fault(const char *name, size_t len)
{
	if (name == NULL || len == 0)
		return CHANNEL_EMPTY;
	if (len > PUSHER_MAX_CHANNEL_LEN)
		return CHANNEL_TOO_LONG;
	if (name[0] == '#')
		return CHANNEL_HASH;
	for (size_t i = 0; i < len; i++)
	{
		if (!channel_char((unsigned char) name[i]))
			return CHANNEL_BAD_CHAR;
	}
	return CHANNEL_OK;
}

bool
pusher_valid_channel(const char *name, size_t len, const char **why)
{
	ChannelFault f = channel_fault(name, len);

	if (f == CHANNEL_OK)
		return true;
	*why = channel_reasons[f];
	return false;
}

bool
pusher_valid_event(const char *name, size_t len, const char **why)
{
	if (name == NULL || len == 0)
	{
		*why = "is empty";
		return false;
	}
	if (len > PUSHER_MAX_EVENT_LEN)
	{
		*why = "is longer than 200 characters";
		return false;
	}
	if (memchr(name, '\0', len) != NULL)
	{
		*why = "contains a zero byte";
		return false;
	}
	if (len >= 7 && memcmp(name, "pusher:", 7) == 0)
	{
		*why = "starts with \"pusher:\", which is reserved for the protocol";
		return false;
	}
	if (len >= 16 && memcmp(name, "pusher_internal:", 16) == 0)
	{
		*why = "starts with \"pusher_internal:\", which is reserved for the protocol";
		return false;
	}
	return true;
}

bool
pusher_valid_socket_id(const char *sid, size_t len, const char **why)
{
	size_t		i = 0;
	size_t		int_digits,
				frac_digits;

	if (sid == NULL || len == 0)
	{
		*why = "is empty";
		return false;
	}
	while (i < len && sid[i] >= '0' && sid[i] <= '9')
		i++;
	int_digits = i;
	if (i < len && sid[i] == '.')
		i++;
	else
		i = len + 1;			/* no dot: fail below */
	frac_digits = 0;
	while (i < len && sid[i] >= '0' && sid[i] <= '9')
	{
		i++;
		frac_digits++;
	}
	if (int_digits == 0 || frac_digits == 0 || i != len)
	{
		*why = "must be digits, a dot and digits (like 1234.5678)";
		return false;
	}
	return true;
}

bool
pusher_channel_is_private(const char *name)
{
	return name != NULL && strncmp(name, "private-", 8) == 0;
}

bool
pusher_channel_is_presence(const char *name)
{
	return name != NULL && strncmp(name, "presence-", 9) == 0;
}

bool
pusher_channel_is_encrypted(const char *name)
{
	return name != NULL && strncmp(name, "private-encrypted-", 18) == 0;
}

/* ----------------------------------------------------------------
 * primitives
 * ----------------------------------------------------------------
 */

static void
hex_encode_lower(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void
pusher_md5_hex(const char *data, size_t len, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16)
	{
		/* cannot happen with a working libcrypto; never a valid digest */
		memset(out, '0', 32);
		out[32] = '\0';
		return;
	}
	hex_encode_lower(md, 16, out);
}

void
pusher_hmac_sha256_hex(const char *key, size_t keylen,
					   const char *msg, size_t msglen, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const unsigned char empty = 0;

	if (HMAC(EVP_sha256(), keylen ? key : (const char *) &empty, (int) keylen,
			 msglen ? (const unsigned char *) msg : &empty, msglen,
			 md, &mdlen) == NULL || mdlen != 32)
	{
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	hex_encode_lower(md, 32, out);
}

/*
 * Constant time in the contents; the time depends only on alen, so callers
 * pass the expected value (whose length is public) as 'a' and the
 * untrusted value as 'b'.
 */
bool
pusher_secure_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	int			same_len = (alen == blen);
	const char *other = same_len ? b : a;
	int			diff;

	if (a == NULL || b == NULL)
		return false;
	if (alen == 0)
		return blen == 0;
	diff = CRYPTO_memcmp(a, other, alen);
	return (same_len & (diff == 0)) != 0;
}

/* ----------------------------------------------------------------
 * signing
 * ----------------------------------------------------------------
 */

void
pusher_sign_request(StringInfo query, const char *method,
					const char *path, const char *key,
					const char *secret, long timestamp,
					const char *body, size_t bodylen)
{
	StringInfoData params;
	StringInfoData to_sign;
	char		md5[33];
	char		sig[65];

	/* sorted: auth_key, auth_timestamp, auth_version, body_md5 */
	initStringInfo(&params);
	appendStringInfo(&params, "auth_key=%s&auth_timestamp=%ld&auth_version=1.0",
					 key, timestamp);
	if (body != NULL)
	{
		pusher_md5_hex(body, bodylen, md5);
		appendStringInfo(&params, "&body_md5=%s", md5);
	}

	initStringInfo(&to_sign);
	appendStringInfo(&to_sign, "%s\n%s\n%s", method, path, params.data);
	pusher_hmac_sha256_hex(secret, strlen(secret), to_sign.data, to_sign.len, sig);

	/* auth_signature sorts between auth_key and auth_timestamp */
	appendStringInfo(query, "auth_key=%s&auth_signature=%s&auth_timestamp=%ld&auth_version=1.0",
					 key, sig, timestamp);
	if (body != NULL)
		appendStringInfo(query, "&body_md5=%s", md5);

	pfree(params.data);
	pfree(to_sign.data);
}

/* ----------------------------------------------------------------
 * bodies
 * ----------------------------------------------------------------
 */

void
pusher_json_string(StringInfo buf, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		run = 0;		/* start of the pending unescaped run */

	appendStringInfoCharMacro(buf, '"');
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		const char *esc = NULL;
		char		ubuf[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			default:
				ubuf[0] = '\\';
				ubuf[1] = 'u';
				ubuf[2] = '0';
				ubuf[3] = '0';
				ubuf[4] = hex[c >> 4];
				ubuf[5] = hex[c & 0x0f];
				ubuf[6] = '\0';
				esc = ubuf;
				break;
		}
		appendBinaryStringInfo(buf, s + run, (int) (i - run));
		appendStringInfoString(buf, esc);
		run = i + 1;
	}
	appendBinaryStringInfo(buf, s + run, (int) (len - run));
	appendStringInfoCharMacro(buf, '"');
}

static void
append_data_and_socket(StringInfo buf, const PusherEvent *ev)
{
	appendStringInfoString(buf, ",\"data\":");
	pusher_json_string(buf, ev->data ? ev->data : "", ev->data ? ev->datalen : 0);
	if (ev->socket_id != NULL)
	{
		appendStringInfoString(buf, ",\"socket_id\":");
		pusher_json_string(buf, ev->socket_id, strlen(ev->socket_id));
	}
}

void
pusher_events_body(StringInfo buf, const PusherEvent *ev)
{
	appendStringInfoString(buf, "{\"name\":");
	pusher_json_string(buf, ev->name, strlen(ev->name));
	appendStringInfoString(buf, ",\"channels\":[");
	for (int i = 0; i < ev->nchannels; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(buf, ',');
		pusher_json_string(buf, ev->channels[i], strlen(ev->channels[i]));
	}
	appendStringInfoCharMacro(buf, ']');
	append_data_and_socket(buf, ev);
	appendStringInfoCharMacro(buf, '}');
}

void
pusher_batch_body(StringInfo buf, const PusherEvent *evs, int n)
{
	Assert(n >= 0 && n <= PUSHER_MAX_BATCH);
	appendStringInfoString(buf, "{\"batch\":[");
	for (int i = 0; i < n; i++)
	{
		const PusherEvent *ev = &evs[i];

		Assert(ev->nchannels == 1);
		if (i > 0)
			appendStringInfoCharMacro(buf, ',');
		appendStringInfoString(buf, "{\"name\":");
		pusher_json_string(buf, ev->name, strlen(ev->name));
		appendStringInfoString(buf, ",\"channel\":");
		pusher_json_string(buf, ev->channels[0], strlen(ev->channels[0]));
		append_data_and_socket(buf, ev);
		appendStringInfoCharMacro(buf, '}');
	}
	appendStringInfoString(buf, "]}");
}

/* ----------------------------------------------------------------
 * responses
 * ----------------------------------------------------------------
 */

#define CLASSIFY_MAX_BODY	65536	/* longer bodies are not inspected */
#define CLASSIFY_MAX_DEPTH	64		/* deeper nesting is not inspected */

typedef struct ClassifyState
{
	int			depth;			/* object/array nesting, 1 = top object */
	int			field;			/* 0 none, 1 "error", 2 "code" at top */
	bool		has_error;
	bool		has_code;
	long		code;
} ClassifyState;

static JsonCbResult
classify_nest_in(void *state)
{
	((ClassifyState *) state)->depth++;
	return JSON_CB_OK;
}

static JsonCbResult
classify_nest_out(void *state)
{
	((ClassifyState *) state)->depth--;
	return JSON_CB_OK;
}

static JsonCbResult
classify_field_start(void *state, char *fname, bool isnull)
{
	ClassifyState *st = (ClassifyState *) state;

	st->field = 0;
	if (st->depth == 1 && fname != NULL)
	{
		if (strcmp(fname, "error") == 0)
		{
			st->field = 1;
			if (!isnull)
				st->has_error = true;
		}
		else if (strcmp(fname, "code") == 0)
			st->field = 2;
	}
	if (fname)
		pfree(fname);
	return JSON_CB_OK;
}

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

static JsonCbResult
classify_scalar(void *state, char *token, JsonTokenType tokentype)
{
	ClassifyState *st = (ClassifyState *) state;

	if (st->depth == 1 && st->field == 2 &&
		(tokentype == JSON_TOKEN_NUMBER || tokentype == JSON_TOKEN_STRING))
	{
		long		v = parse_status(token);

		if (v > 0)
		{
			st->has_code = true;
			st->code = v;
		}
	}
	if (token)
		pfree(token);
	return JSON_CB_OK;
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
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonParseErrorType rc;

	memset(st, 0, sizeof(*st));
	if (body == NULL || len == 0 || len > CLASSIFY_MAX_BODY)
		return;
	copy = classify_prepare(body, len);
	if (copy == NULL)
		return;

	/*
	 * First a pure syntax check without callbacks or de-escaping: the parser
	 * leaks the names it hands to callbacks when it stops at an error, so
	 * the second, semantic pass only runs over text known to be valid.
	 */
	lex = compat_json_lexer(copy, (int) len, false);
	rc = pg_parse_json(lex, &nullSemAction);
	compat_json_lexer_free(lex);
	if (rc == JSON_SUCCESS)
	{
		memset(&sem, 0, sizeof(sem));
		sem.semstate = st;
		sem.object_start = classify_nest_in;
		sem.object_end = classify_nest_out;
		sem.array_start = classify_nest_in;
		sem.array_end = classify_nest_out;
		sem.object_field_start = classify_field_start;
		sem.scalar = classify_scalar;
		lex = compat_json_lexer(copy, (int) len, true);
		rc = pg_parse_json(lex, &sem);
		compat_json_lexer_free(lex);
		if (rc != JSON_SUCCESS)
			memset(st, 0, sizeof(*st));
	}
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

/* ----------------------------------------------------------------
 * subscription auth and webhooks
 * ----------------------------------------------------------------
 */

static void
append_signed(StringInfo out, const char *key, const char *secret,
			  const char *to_sign, size_t len)
{
	char		sig[65];

	pusher_hmac_sha256_hex(secret, strlen(secret), to_sign, len, sig);
	appendStringInfo(out, "%s:%s", key, sig);
}

void
pusher_channel_auth(StringInfo out, const char *key, const char *secret,
					const char *socket_id, const char *channel,
					const char *channel_data)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%s:%s", socket_id, channel);
	if (channel_data != NULL)
	{
		appendStringInfoChar(&s, ':');
		appendStringInfoString(&s, channel_data);
	}
	append_signed(out, key, secret, s.data, s.len);
	pfree(s.data);
}

void
pusher_user_auth(StringInfo out, const char *key, const char *secret,
				 const char *socket_id, const char *user_data)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%s::user::", socket_id);
	appendStringInfoString(&s, user_data);
	append_signed(out, key, secret, s.data, s.len);
	pfree(s.data);
}

bool
pusher_webhook_valid(const char *secret, const char *signature,
					 const char *body, size_t bodylen)
{
	char		expected[65];

	if (secret == NULL || secret[0] == '\0' || signature == NULL || body == NULL)
		return false;
	pusher_hmac_sha256_hex(secret, strlen(secret), body, bodylen, expected);
	return pusher_secure_equal(expected, 64, signature, strlen(signature));
}

/* ----------------------------------------------------------------
 * channel name patterns
 * ----------------------------------------------------------------
 */

#define PATTERN_MAX_PLACEHOLDERS	16
#define PATTERN_MAX_NAME			63
#define PATTERN_MAX_LEN				1024

static inline bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		(!first && c >= '0' && c <= '9');
}

bool
pusher_valid_pattern(const char *pattern, const char **why)
{
	size_t		len;
	const char *names[PATTERN_MAX_PLACEHOLDERS];
	size_t		namelens[PATTERN_MAX_PLACEHOLDERS];
	int			nnames = 0;

	if (pattern == NULL || pattern[0] == '\0')
	{
		*why = "is empty";
		return false;
	}
	len = strlen(pattern);
	if (len > PATTERN_MAX_LEN)
	{
		*why = "is longer than 1024 characters";
		return false;
	}
	if (pattern[0] == '#')
	{
		*why = "starts with '#', which is reserved";
		return false;
	}
	for (size_t i = 0; i < len; i++)
	{
		char		c = pattern[i];

		if (c == '{')
		{
			size_t		start = ++i;

			while (i < len && name_char(pattern[i], i == start))
				i++;
			if (i >= len || pattern[i] != '}' || i == start)
			{
				*why = "has a placeholder that is not {name} with a name of letters, digits and _";
				return false;
			}
			if (i - start > PATTERN_MAX_NAME)
			{
				*why = "has a placeholder name longer than 63 characters";
				return false;
			}
			if (i + 1 < len && pattern[i + 1] != '.')
			{
				*why = "has a placeholder not followed by '.' or the end";
				return false;
			}
			if (nnames >= PATTERN_MAX_PLACEHOLDERS)
			{
				*why = "has more than 16 placeholders";
				return false;
			}
			for (int k = 0; k < nnames; k++)
			{
				if (namelens[k] == i - start &&
					memcmp(names[k], pattern + start, i - start) == 0)
				{
					*why = "uses the same placeholder name twice";
					return false;
				}
			}
			names[nnames] = pattern + start;
			namelens[nnames++] = i - start;
		}
		else if (c == '*')
		{
			if (i + 1 != len || i < 2 || pattern[i - 1] != '.')
			{
				*why = "has a '*' that is not a final \".*\"";
				return false;
			}
		}
		else if (c == '}')
		{
			*why = "has a '}' without '{'";
			return false;
		}
		else if (!channel_char((unsigned char) c))
		{
			*why = "contains a character outside A-Z a-z 0-9 _ - = @ , . ; and placeholders";
			return false;
		}
	}
	return true;
}

/* one or more non-empty dot-separated segments */
static bool
valid_tail(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++)
	{
		if (*s == '.' && (s[1] == '.' || s[1] == '\0'))
			return false;
	}
	return true;
}

bool
pusher_match_pattern(const char *pattern, const char *channel,
					 pusher_capture_cb capture, void *arg)
{
	const char *why;
	const char *p = pattern;
	const char *c = channel;
	const char *cap_name[PATTERN_MAX_PLACEHOLDERS];
	size_t		cap_namelen[PATTERN_MAX_PLACEHOLDERS];
	const char *cap_val[PATTERN_MAX_PLACEHOLDERS];
	size_t		cap_vallen[PATTERN_MAX_PLACEHOLDERS];
	int			ncap = 0;

	if (channel == NULL || !pusher_valid_pattern(pattern, &why) ||
		!pusher_valid_channel(channel, strlen(channel), &why))
		return false;

	while (*p)
	{
		if (*p == '{')
		{
			const char *name = p + 1;
			const char *end = strchr(name, '}');
			const char *start = c;

			while (*c && *c != '.')
				c++;
			if (c == start)
				return false;
			cap_name[ncap] = name;
			cap_namelen[ncap] = end - name;
			cap_val[ncap] = start;
			cap_vallen[ncap++] = c - start;
			p = end + 1;
		}
		else if (p[0] == '.' && p[1] == '*' && p[2] == '\0')
		{
			if (*c != '.' || !valid_tail(c + 1))
				return false;
			c += strlen(c);
			p += 2;
		}
		else
		{
			if (*c != *p)
				return false;
			c++;
			p++;
		}
	}
	if (*c != '\0')
		return false;
	if (capture)
	{
		for (int i = 0; i < ncap; i++)
			capture(arg, cap_name[i], cap_namelen[i], cap_val[i], cap_vallen[i]);
	}
	return true;
}

/* ----------------------------------------------------------------
 * channel templates
 * ----------------------------------------------------------------
 */

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
	ChannelFault f;

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
	f = channel_fault(sample.buf, Min(sample.len, sizeof(sample.buf)));
	if (f == CHANNEL_OK)
		return true;
	*why = template_channel_reasons[f];
	return false;
}
