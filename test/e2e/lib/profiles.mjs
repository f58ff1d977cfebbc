// profiles.mjs: the HTTP API of servers the e2e tests cannot run, as read
// from their source (issue 20).  Laravel Reverb and Sockudo cannot be
// installed here, so startProfileServer(name) is the fault server
// (faults.mjs) answering POST /apps/:id/events and /batch_events the way
// that server does: its limits, its status codes and bodies, its
// connection handling, and (Sockudo) its idempotency keys.  It records what
// the server would have applied (broadcast), which is what the tests count.
//
// Sources (git objects read at these commits):
//   reverb   github.com/laravel/reverb  dca414f38e0f7acc237890ca18edfb5f3d535f86 (v1.10.2-14, 1.x)
//   sockudo  github.com/sockudo/sockudo 7040dc04c1ab9fec39e7616767d04de027e07b1c (v5.0.1-5)
//   soketi   github.com/soketi/soketi   5d188786beaf683aca2115a6247dcdc15c29ac77 (1.6.1; run for real
//            by soketi.mjs, listed for the README table: src/server.ts eventLimits maxBatchSize 10,
//            maxPayloadInKb 100; src/http-handler.ts answers errors with {"error", "code"} and, since
//            corsMiddleware writes headers before writeStatus, with HTTP 200)
//   pusher   not open source: pusher.com/docs/channels/library_auth_reference/rest-api (event data
//            over 10KB: 413; 400 with details in the body; 401; 403 app disabled or over quota),
//            pusher.com/docs/channels/server_api/http-api (1 to 100 channels per event),
//            pusher.com/blog/publish-batches-of-events-at-scale-with-the-batch-events-api ("up to 10
//            events per request").  The auth_timestamp window (600 s here, as faults.mjs) and the
//            wording of the error bodies are not in those pages; the profile's are its own.

import { startFaultServer, checkSignature } from './faults.mjs';
import { splitHistory } from './history.mjs';

// --- Reverb ------------------------------------------------------------
// config/reverb.php: 'max_request_size' => env('REVERB_MAX_REQUEST_SIZE', 10_000).
// src/Servers/Reverb/Http/Request.php from(): the connection's buffer (request
// line, headers and body as received) over max_request_size throws
// OverflowException; src/Servers/Reverb/Http/Server.php createRequest() answers
// it with close($connection, 413, 'Payload too large.'), ClosesConnections::close()
// writes a Guzzle response (no Content-Type) and ends the connection.
export const REVERB_MAX_REQUEST_SIZE = 10000;

/*
 * Laravel validation as EventsController::validator() and
 * EventsBatchController::validator() declare it (name, data: required|string;
 * channels: required_without:channel|array; channel: string; batch: required|
 * array; batch.*.channel: required_without:channels, where "channels" is the
 * top-level key, so every batch item needs "channel").  Returns Laravel's
 * MessageBag ({field: [message]}) or null.  `invalid(event)` lets a test make
 * one event fail (a field name), as Reverb's validator would for a bad value.
 */
function reverbErrors(rec, invalid) {
	const errors = {};
	const missing = (v) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
	const need = (field, v, type) => {
		if (missing(v))
			errors[field] = [`The ${field} field is required.`];
		else if (type === 'string' && typeof v !== 'string')
			errors[field] = [`The ${field} field must be a string.`];
		else if (type === 'array' && !Array.isArray(v))
			errors[field] = [`The ${field} field must be an array.`];
	};
	const j = rec.json;
	if (rec.path.endsWith('/batch_events')) {
		need('batch', j.batch, 'array');
		(Array.isArray(j.batch) ? j.batch : []).forEach((item, i) => {
			need(`batch.${i}.name`, item?.name, 'string');
			need(`batch.${i}.data`, item?.data, 'string');
			if (j.channels === undefined)
				need(`batch.${i}.channel`, item?.channel, 'string');
			const bad = invalid?.(rec.events[i]);
			if (bad)
				errors[`batch.${i}.${bad}`] = [`The batch.${i}.${bad} field is invalid.`];
		});
	} else {
		need('name', j.name, 'string');
		need('data', j.data, 'string');
		if (j.channel === undefined)
			need('channels', j.channels, 'array');
		const bad = invalid?.(rec.events[0]);
		if (bad)
			errors[bad] = [`The ${bad} field is invalid.`];
	}
	return Object.keys(errors).length ? errors : null;
}

/*
 * Reverb's order (Server::handleRequest, Router::dispatch, Controller::verify):
 * size → 413; app → 404 'No matching application for ID [x].'; signature →
 * 401 'Authentication signature invalid.' (verifySignature() only compares
 * the HMAC: auth_timestamp and auth_key are not checked); body not JSON →
 * JsonException → 500 'Internal server error.'; validation → 422 MessageBag;
 * else 200 {} (events) or {"batch":{}} (batch_events).  Every answer ends the
 * connection: Router::dispatch() does $connection->send($response)->close(),
 * and Server::handleRequest() ignores data on a connection already used.
 * Request::from() waits for Content-Length bytes of body, and answers without
 * one as soon as the headers end (the body may be cut short); no 100 Continue.
 */
function reverbAnswer(p, rec) {
	const close = (status, body, json = false) => ({
		status, body,
		headers: { 'content-type': json ? 'application/json' : 'text/plain', connection: 'close' },
	});
	if (rec.headers.expect)
		p.violations.push(`request ${rec.n}: Expect: ${rec.headers.expect} (Reverb never answers 100 Continue)`);
	if (rec.headers['content-length'] === undefined)
		p.violations.push(`request ${rec.n}: no Content-Length (Reverb reads the body only up to it)`);
	if (rec.rawSize > p.limits.maxRequestSize)
		return close(413, 'Payload too large.');
	const appId = rec.path.split('/')[2];
	if (appId !== p.appId)
		return close(404, `No matching application for ID [${appId}].`);
	if (checkSignature({ ...signed(p, rec), maxSkewS: Infinity, key: rec.query.auth_key }))
		return close(401, 'Authentication signature invalid.');
	if (!rec.json || typeof rec.json !== 'object')
		return close(500, 'Internal server error.');
	const errors = reverbErrors(rec, p.limits.invalid);
	if (errors)
		return close(422, JSON.stringify(errors), true);
	p.apply(rec, rec.events);
	return close(200, rec.path.endsWith('/batch_events') ? '{"batch":{}}' : '{}', true);
}

// --- Sockudo -----------------------------------------------------------
// Defaults, crates/sockudo-core/src/options/: channels.rs EventLimits
// max_payload_in_kb 100, max_batch_size 10; runtime.rs HttpApiConfig
// request_limit_in_mb 10, RateLimiterConfig enabled, api_rate_limit 100
// requests per 60 s (per client IP); v2_features.rs IdempotencyConfig
// enabled, ttl_seconds 120, max_key_length 128.  The batch cap and the event
// name length are per app (App::event_batch_size_limit(),
// event_name_limit()): the env-configured default app
// (options/env/apps.rs) has SOCKUDO_DEFAULT_APP_MAX_EVENT_BATCH_SIZE (100 in
// code, 10 in .env.example and in the SQL app managers' defaults) and
// SOCKUDO_DEFAULT_APP_MAX_EVENT_NAME_LENGTH 100.
export const SOCKUDO_DEFAULTS = {
	batchCap: 10,
	maxEventNameLength: 100,
	maxPayloadKb: 100,
	requestLimitMb: 10,
	rateLimit: { maxRequests: 100, windowS: 60 },
	idempotencyTtlS: 120,
	maxKeyLength: 128,
};

// crates/sockudo-server/src/http_handler/errors.rs IntoResponse: every
// error is {"error": msg, "code": code, "status": n}; TooManyRequests and
// Backpressure add Retry-After.
function sockudoError(status, code, error, retryAfterS) {
	const headers = { 'content-type': 'application/json' };
	if (retryAfterS !== undefined)
		headers['retry-after'] = String(retryAfterS);
	return { status, headers, body: JSON.stringify({ error, code, status }) };
}

// crates/sockudo-core/src/auth.rs authenticate_pusher_api_request(): app by
// auth_key (unknown: Error::InvalidAppKey → 404 app_not_found), route app id,
// |now - auth_timestamp| > 600 s, body_md5, then the HMAC; failures → 401
// auth_failed (errors.rs ApiAuthFailed).
function sockudoAuth(p, rec) {
	const q = rec.query;
	if (q.auth_key !== p.key)
		return sockudoError(404, 'app_not_found', 'Application key not found or invalid: Invalid app key');
	if (rec.path.split('/')[2] !== p.appId)
		return sockudoError(401, 'auth_failed', 'Authenticated app does not match route app_id');
	if (Math.abs(Date.now() / 1000 - Number(q.auth_timestamp)) > 600 || !Number.isFinite(Number(q.auth_timestamp)))
		return sockudoError(401, 'auth_failed', 'Timestamp expired or too far in the future');
	const why = checkSignature({ ...signed(p, rec), maxSkewS: 600 });
	if (why?.startsWith('body_md5'))
		return sockudoError(401, 'auth_failed', 'body_md5 mismatch');
	if (why)
		return sockudoError(401, 'auth_failed', 'Invalid API signature');
	return null;
}

// crates/sockudo-rate-limiter/src/middleware.rs rate_limit_error_response():
// 429 {"error":"Too Many Requests","message":...} with X-RateLimit-* and
// Retry-After = seconds until the window resets.
function sockudoRateLimit(p) {
	const rl = p.limits.rateLimit;
	if (!rl)
		return null;
	const now = Date.now();
	if (!p.window || now >= p.window.resetAt)
		p.window = { resetAt: now + rl.windowS * 1000, count: 0 };
	p.window.count++;
	if (p.window.count <= rl.maxRequests)
		return null;
	const reset = Math.max(1, Math.ceil((p.window.resetAt - now) / 1000));
	return {
		status: 429,
		headers: {
			'content-type': 'application/json', 'retry-after': String(reset),
			'x-ratelimit-limit': String(rl.maxRequests), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset),
		},
		body: JSON.stringify({ error: 'Too Many Requests', message: 'Rate limit exceeded. Please try again later.' }),
	};
}

/*
 * crates/sockudo-server/src/http_handler/events/mod.rs.  batch_events: batch
 * over the app's cap → 400 limit_exceeded "Batch size (n) exceeds limit (c)",
 * checked before the idempotency key; the X-Idempotency-Key header is the
 * batch's key, cached as app:{app}:batch-idempotency:{key} (per app);
 * /events takes the body's idempotency_key, else the header, cached as
 * app:{app}:idempotency:{key}.  Key empty or over max_key_length → 400
 * invalid_input.  A key already answered within its TTL gets that answer
 * again (200, nothing broadcast); a key still "__processing__" is polled
 * 6 × 50 ms, then 503 backpressure with Retry-After: 1.  A claim is never
 * released on error: until the TTL runs out a retry of a failed request
 * gets that 503.  Events are then processed one by one
 * (processor.rs process_single_event_parallel(): name over the app's
 * limit → 400 limit_exceeded, data over max_payload_in_kb → 413
 * payload_too_large), so the events of a batch before a failing one have
 * been broadcast already.  Success: {"ok":true} (events) or {} (batch).
 */
function sockudoAnswer(p, rec) {
	const L = p.limits;
	const limited = sockudoRateLimit(p);
	if (limited)
		return limited;
	const auth = sockudoAuth(p, rec);
	if (auth)
		return auth;
	// router.rs DefaultBodyLimit(request_limit_in_mb); axum's Json rejections are plain text
	if (Buffer.byteLength(rec.body) > L.requestLimitMb * 1024 * 1024)
		return { status: 413, headers: { 'content-type': 'text/plain' }, body: 'Failed to buffer the request body: length limit exceeded' };
	if (!rec.json || typeof rec.json !== 'object')
		return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'Failed to parse the request body as JSON' };
	const batch = rec.path.endsWith('/batch_events');
	if (batch && rec.events.length > L.batchCap)
		return sockudoError(400, 'limit_exceeded', `Batch size (${rec.events.length}) exceeds limit (${L.batchCap})`);
	const key = batch ? rec.headers['x-idempotency-key'] : (rec.json.idempotency_key ?? rec.headers['x-idempotency-key']);
	if (key !== undefined && key.length === 0)
		return sockudoError(400, 'invalid_input', 'Idempotency key must not be empty');
	if (key !== undefined && key.length > L.maxKeyLength)
		return sockudoError(400, 'invalid_input', `Idempotency key exceeds maximum length of ${L.maxKeyLength} characters`);
	const slot = key === undefined ? null : `app:${p.appId}:${batch ? 'batch-idempotency' : 'idempotency'}:${key}`;
	const now = Date.now();
	const held = slot && p.keys.get(slot);
	if (held && held.expiresAt > now) {
		if (held.response !== undefined) {
			rec.replayed = true;
			return { status: 200, headers: { 'content-type': 'application/json' }, body: held.response };
		}
		return { ...sockudoError(503, 'backpressure', `Idempotent ${batch ? 'batch ' : ''}publish is still in progress`, 1), delayMs: 300 };
	}
	const claim = { expiresAt: now + L.idempotencyTtlS * 1000 };
	if (slot)
		p.keys.set(slot, claim);
	const ok = batch ? '{}' : '{"ok":true}';
	const slow = p.slowFor(rec);
	for (const e of rec.events) {
		if (e.name === undefined || e.name === null)
			return sockudoError(400, 'invalid_input', 'Event name is required');
		if (String(e.name).length > L.maxEventNameLength)
			return sockudoError(400, 'limit_exceeded', `Event name '${e.name}' exceeds maximum length of ${L.maxEventNameLength}`);
		const size = typeof e.data === 'string' ? Buffer.byteLength(e.data) : Buffer.byteLength(JSON.stringify(e.data ?? null));
		if (size > L.maxPayloadKb * 1024)
			return sockudoError(413, 'payload_too_large', `Event payload size (${size} bytes) for event '${e.name}' exceeds limit (${L.maxPayloadKb}KB)`);
		if (!slow?.processing)
			p.apply(rec, [e]);
		else
			slow.pending.push(e);
	}
	const finish = () => {
		if (slow?.processing) {
			p.apply(rec, slow.pending);
			p.busy--;
		}
		claim.response = ok;
	};
	if (slow?.processing) {
		p.busy++;
		setTimeout(finish, slow.delayMs);
	} else
		finish();
	return { status: 200, headers: { 'content-type': 'application/json' }, body: ok, delayMs: slow?.delayMs };
}

// --- Pusher (documented limits only) -------------------------------------
export const PUSHER_LIMITS = { batchCap: 10, maxDataBytes: 10 * 1024, maxChannels: 100 };

function pusherAnswer(p, rec) {
	const L = p.limits;
	const text = (status, body) => ({ status, body, headers: { 'content-type': 'text/plain' } });
	if (rec.path.split('/')[2] !== p.appId)
		return text(404, 'Unknown app');
	const why = checkSignature({ ...signed(p, rec), maxSkewS: 600 });
	if (why)
		return text(401, `Invalid signature: ${why}`);
	if (!rec.json || typeof rec.json !== 'object')
		return text(400, 'Invalid JSON');
	if (rec.path.endsWith('/batch_events') && rec.events.length > L.batchCap)
		return text(400, `Batch too large: at most ${L.batchCap} events`);
	for (const e of rec.events) {
		if (e.channels.length < 1 || e.channels.length > L.maxChannels)
			return text(400, `An event goes to 1 to ${L.maxChannels} channels`);
		if (typeof e.data === 'string' && Buffer.byteLength(e.data) >= L.maxDataBytes)
			return text(413, `Event data must be smaller than ${L.maxDataBytes} bytes`);
	}
	p.apply(rec, rec.events);
	return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
}

// --- the server ----------------------------------------------------------
const PROFILES = {
	reverb: { answer: reverbAnswer, limits: { maxRequestSize: REVERB_MAX_REQUEST_SIZE, invalid: null } },
	sockudo: { answer: sockudoAnswer, limits: SOCKUDO_DEFAULTS },
	pusher: { answer: pusherAnswer, limits: PUSHER_LIMITS },
};

function signed(p, rec) {
	return { method: rec.method, path: rec.path, query: rec.query, body: rec.body, key: p.key, secret: p.secret };
}

function parsedEvent(e, rec) {
	let data = e.data;
	try {
		data = JSON.parse(e.data);
	} catch {
		// not JSON: keep the string
	}
	const h = splitHistory(data);
	return { ...e, raw: e.data, data: h.data, id: h.id, position: h.position, request: rec.n,
		key: rec.headers['x-idempotency-key'] };
}

/**
 * startProfileServer(name, opts): name is 'reverb', 'sockudo' or 'pusher';
 * opts are startFaultServer's plus `limits` overriding the profile's
 * (reverb: maxRequestSize, invalid(event) → field name or null; sockudo:
 * SOCKUDO_DEFAULTS' names, rateLimit null turns it off; pusher:
 * PUSHER_LIMITS' names).
 *
 * The handle is the fault server's, with:
 *   profile         the name
 *   limits          the limits in force (set them at any time)
 *   applied         every event the server broadcast, in order: {name,
 *                   channels, data (parsed, history members split off), raw,
 *                   id, position, request (its request's n), key (the
 *                   request's X-Idempotency-Key)}
 *   keys            Sockudo: idempotency slot → {expiresAt, response?}
 *   busy            Sockudo: requests still "processing" (slow, below)
 *   violations      what the real server would have mishandled and the
 *                   profile cannot reproduce (Reverb: Expect, no Content-Length)
 *   plan(rules)     the test's rules first (faults.mjs), then the profile
 *   slow({when, delayMs, times, processing})  delay the answers to matching
 *                   requests after they were applied (processing: Sockudo
 *                   applies them and completes the key only when the delay ends)
 *   reset()         forget requests, applied events, keys, rules
 * Requests records get `replayed` (Sockudo answered a repeated key from its cache).
 */
export async function startProfileServer(name, opts = {}) {
	const profile = PROFILES[name];
	if (!profile)
		throw new Error(`no server profile "${name}": one of ${Object.keys(PROFILES).join(', ')}`);
	const f = await startFaultServer({ ...opts, verify: false });
	const p = f;
	const basePlan = f.plan;
	const baseReset = f.reset;
	let slows = [];
	p.profile = name;
	p.limits = { ...profile.limits, ...(opts.limits ?? {}) };
	p.applied = [];
	p.keys = new Map();
	p.violations = [];
	p.window = null;
	p.busy = 0;
	p.apply = (rec, events) => {
		for (const e of events)
			p.applied.push(parsedEvent(e, rec));
	};
	p.slow = (s) => slows.push({ used: 0, ...s });
	p.slowFor = (rec) => {
		const s = slows.find((x) => (!x.when || x.when(rec)) && (x.times === undefined || x.used < x.times));
		if (!s)
			return null;
		s.used++;
		return { delayMs: s.delayMs, processing: !!s.processing, pending: [] };
	};
	const rule = {
		answer: (rec) => {
			const a = profile.answer(p, rec);
			if (name !== 'sockudo' && a.status === 200) {
				const s = p.slowFor(rec);
				if (s)
					a.delayMs = s.delayMs;
			}
			return a;
		},
	};
	p.plan = (rules) => basePlan([...rules, rule]);
	p.reset = () => {
		baseReset();
		p.applied.length = 0;
		p.keys.clear();
		p.violations.length = 0;
		p.window = null;
		slows = [];
		p.plan([]);
	};
	p.plan([]);
	return p;
}
