// faults.mjs: failures a real Pusher-compatible server cannot be made to
// produce on demand, for the e2e tests.
//
// startFaultServer() is a small HTTP endpoint speaking the Pusher HTTP API
// routes POST /apps/:id/events and /apps/:id/batch_events.  It records every
// request (path, query, headers, body, the events in it, whether its
// auth_signature is valid) and answers according to a per-test plan: 200
// '{}' by default (a recording sink), or 500s for a fraction of requests,
// 429 with Retry-After, 413/400, slow answers, no answer at all, or a reset
// connection.  It also notes when two requests carrying the same channel
// were in flight at once (which rtpush's per-channel order forbids).
//
// startGate() is a TCP pass-through in front of another server whose
// listening socket can be closed (connections refused, open ones cut) and
// reopened on the same port.

import { splitHistory } from './history.mjs';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { onExit, freePort, sleep } from './cleanup.mjs';

/**
 * Verify a Pusher HTTP API request signature.  Returns null when valid,
 * else a sentence saying what is wrong.
 */
export function checkSignature({ method, path, query, body, key, secret, maxSkewS = 600 }) {
	const q = { ...query };
	const sig = q.auth_signature;
	delete q.auth_signature;
	if (!sig)
		return 'no auth_signature';
	if (q.auth_key !== key)
		return `auth_key is ${q.auth_key}, expected ${key}`;
	if (q.auth_version !== '1.0')
		return `auth_version is ${q.auth_version}`;
	const ts = Number(q.auth_timestamp);
	if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > maxSkewS)
		return `auth_timestamp ${q.auth_timestamp} is not within ${maxSkewS} s of now`;
	if (body.length > 0 || q.body_md5 !== undefined) {
		const md5 = crypto.createHash('md5').update(body).digest('hex');
		if (q.body_md5 !== md5)
			return `body_md5 is ${q.body_md5}, the body's is ${md5}`;
	}
	const params = Object.keys(q).sort().map((k) => `${k.toLowerCase()}=${q[k]}`).join('&');
	const expected = crypto.createHmac('sha256', secret).update(`${method}\n${path}\n${params}`).digest('hex');
	const a = Buffer.from(expected);
	const b = Buffer.from(String(sig));
	if (a.length !== b.length || !crypto.timingSafeEqual(a, b))
		return 'auth_signature does not match';
	return null;
}

// Bytes of a request as it came on the wire: request line, headers as sent
// (rawHeaders keeps names' case and order), blank line and body.
function rawRequestSize(req, bodyBytes) {
	let n = Buffer.byteLength(`${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`);
	for (let i = 0; i < req.rawHeaders.length; i += 2)
		n += Buffer.byteLength(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
	return n + 2 + bodyBytes;
}

// The events of a request body, normalised to {name, channels, data, socket_id}.
function eventsOf(path, json) {
	if (!json || typeof json !== 'object')
		return [];
	if (path.endsWith('/batch_events'))
		return (Array.isArray(json.batch) ? json.batch : []).map((e) => ({
			name: e.name, channels: e.channels ?? (e.channel !== undefined ? [e.channel] : []),
			data: e.data, socket_id: e.socket_id,
		}));
	return [{
		name: json.name, channels: json.channels ?? (json.channel !== undefined ? [json.channel] : []),
		data: json.data, socket_id: json.socket_id,
	}];
}

/**
 * options: {appId, key, secret, verify (default true: a bad signature gets
 * 401 like Pusher's), port}
 *
 * Handle:
 *   url, host, port
 *   requests        every request, in arrival order: {n, method, path, query,
 *                   headers, connection (client port), body, rawSize (bytes
 *                   on the wire, request line and headers included), json, events,
 *                   signatureError, startedAt, answeredAt (performance.now()),
 *                   status, responseBody, responseHeaders, action}
 *   plan(rules)     replace the rules (see below); plan([]) = always 200 '{}'
 *   delivered()     events of requests answered 2xx, in arrival order,
 *                   each with .data parsed when it is JSON (.raw keeps the string)
 *   overlaps        [{channel, a, b}]: requests a and b carried the same
 *                   channel while both were in flight
 *   waitForRequests(n, timeoutMs), waitForDelivered(pred, timeoutMs)
 *   rtpushSettings() the rtpush.* settings that point the worker here
 *   stop()
 *
 * A rule is {when?(req) → bool, times?: n, fraction?: p, status?, body?,
 * headers?, delayMs?, hang?: true, reset?: true, answer?(req)}.  For each
 * request the first rule whose `when` matches, that has times left and wins
 * its fraction draw decides the answer; no rule → 200 '{}'.  `when` sees the
 * request record (events, body, path, ...).  answer(req) computes the answer
 * ({status, body, headers, delayMs, hang, reset}) for this request, or
 * returns null to leave it to the next rule (lib/profiles.mjs's servers).
 */
export async function startFaultServer(options = {}) {
	const f = {
		host: '127.0.0.1',
		appId: options.appId ?? 'rtpush-e2e',
		key: options.key ?? 'e2e-key',
		secret: options.secret ?? 'e2e-secret',
		verify: options.verify ?? true,
		requests: [],
		overlaps: [],
	};
	let rules = [];
	const inFlight = new Map(); // record -> channels
	const sockets = new Set();
	const listeners = [];

	f.plan = (r) => {
		rules = r.map((x) => ({ ...x, used: 0 }));
	};

	function decide(rec) {
		for (const r of rules) {
			if (r.when && !r.when(rec))
				continue;
			if (r.times !== undefined && r.used >= r.times)
				continue;
			if (r.fraction !== undefined && Math.random() >= r.fraction)
				continue;
			const a = r.answer ? r.answer(rec) : r;
			if (!a)
				continue;
			r.used++;
			return a === r ? r : { ...r, ...a, index: rules.indexOf(r) };
		}
		return null;
	}

	function notify() {
		for (const l of [...listeners])
			l();
	}

	const server = http.createServer((req, res) => {
		const url = new URL(req.url, `http://${f.host}`);
		const rec = {
			n: f.requests.length + 1,
			method: req.method,
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			headers: req.headers,
			connection: req.socket.remotePort, // the client's port: one per TCP connection
			startedAt: performance.now(),
			startedWall: Date.now(),
		};
		f.requests.push(rec);
		const chunks = [];
		req.on('data', (d) => chunks.push(d));
		req.on('end', async () => {
			const raw = Buffer.concat(chunks);
			rec.body = raw.toString('utf8');
			rec.rawSize = rawRequestSize(req, raw.length);
			try {
				rec.json = JSON.parse(rec.body);
			} catch {
				rec.json = null;
			}
			rec.events = eventsOf(rec.path, rec.json);

			const chans = new Set(rec.events.flatMap((e) => e.channels));
			for (const [other, ochans] of inFlight) {
				for (const ch of chans)
					if (ochans.has(ch))
						f.overlaps.push({ channel: ch, a: other.n, b: rec.n });
			}
			inFlight.set(rec, chans);
			const done = () => inFlight.delete(rec);
			res.on('close', done);

			const route = /^\/apps\/([^/]+)\/(events|batch_events)$/.exec(rec.path);
			if (req.method !== 'POST' || !route) {
				rec.status = 404;
				rec.responseBody = '{"error":"not found"}';
				rec.action = 'not found';
				res.writeHead(404, { 'content-type': 'application/json' });
				res.end('{"error":"not found"}');
				rec.answeredAt = performance.now();
				notify();
				return;
			}
			rec.signatureError = checkSignature({
				method: req.method, path: rec.path, query: rec.query, body: rec.body, key: f.key, secret: f.secret,
			});
			if (route[1] !== f.appId)
				rec.signatureError = `app id ${route[1]}, expected ${f.appId}`;

			const rule = decide(rec);
			if (rule?.delayMs)
				await sleep(rule.delayMs);
			if (rule?.hang) {
				rec.action = 'hang';
				notify();
				return; // never answer; the socket is closed by the client or stop()
			}
			if (rule?.reset) {
				rec.action = 'reset';
				if (typeof req.socket.resetAndDestroy === 'function')
					req.socket.resetAndDestroy();
				else
					req.socket.destroy();
				rec.answeredAt = performance.now();
				notify();
				return;
			}
			// a rule without a status (only a delay) answers like the default
			const answers = rule?.status !== undefined;
			let status = answers ? rule.status : 200;
			let body = rule?.body ?? '{}';
			const headers = { 'content-type': 'application/json', ...(rule?.headers ?? {}) };
			if (!answers && f.verify && rec.signatureError) {
				status = 401;
				body = JSON.stringify({ error: `Invalid signature: ${rec.signatureError}` });
			}
			rec.status = status;
			rec.responseBody = body;
			rec.responseHeaders = headers;
			rec.action = rule ? `rule ${rule.index ?? rules.indexOf(rule)}` : 'default';
			res.writeHead(status, headers);
			res.end(body);
			rec.answeredAt = performance.now();
			notify();
		});
	});
	server.keepAliveTimeout = 30000;
	server.on('connection', (sock) => {
		sockets.add(sock);
		sock.on('close', () => sockets.delete(sock));
	});

	f.port = options.port ?? await freePort();
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(f.port, f.host, resolve);
	});
	f.url = `http://${f.host}:${f.port}`;

	const unregister = onExit(() => {
		for (const s of sockets)
			s.destroy();
		server.close();
	});

	f.delivered = () => f.requests
		.filter((r) => r.status >= 200 && r.status < 300 && !/"error"/.test(r.responseBody))
		.flatMap((r) => r.events.map((e) => {
			let data = e.data;
			try {
				data = JSON.parse(e.data);
			} catch {
				// not JSON: keep the string
			}
			const h = splitHistory(data);
			return { ...e, raw: e.data, data: h.data, id: h.id, position: h.position, request: r.n };
		}));

	/** Resolves when pred() is truthy, re-checked after every request; rejects after timeoutMs. */
	f.waitUntil = (what, pred, timeoutMs = 60000) => new Promise((resolve, reject) => {
		const check = () => {
			const v = pred();
			if (v) {
				clearTimeout(timer);
				listeners.splice(listeners.indexOf(check), 1);
				resolve(v);
			}
		};
		const timer = setTimeout(() => {
			listeners.splice(listeners.indexOf(check), 1);
			reject(new Error(`fault server: timed out after ${timeoutMs} ms waiting for ${what}; ` +
				`${f.requests.length} requests, ${f.delivered().length} events delivered`));
		}, timeoutMs);
		listeners.push(check);
		check();
	});

	f.waitForRequests = (n, timeoutMs) => f.waitUntil(`${n} requests`,
		() => f.requests.filter((r) => r.action).length >= n, timeoutMs);
	f.waitForDelivered = (n, timeoutMs) => f.waitUntil(`${n} delivered events`,
		() => f.delivered().length >= n, timeoutMs);

	f.rtpushSettings = () => ({
		'rtpush.app_id': f.appId,
		'rtpush.key': f.key,
		'rtpush.secret': f.secret,
		'rtpush.scheme': 'http',
		'rtpush.host': f.host,
		'rtpush.port': f.port,
	});

	f.reset = () => {
		f.requests.length = 0;
		f.overlaps.length = 0;
		rules = [];
	};

	f.stop = async () => {
		unregister();
		for (const s of sockets)
			s.destroy();
		await new Promise((resolve) => server.close(resolve));
	};
	return f;
}

/**
 * A TCP pass-through on a free port of 127.0.0.1 to targetPort.
 * close() stops listening (new connections are refused) and cuts open
 * ones; open() listens again on the same port.  Returns {port, open(),
 * close(), isOpen(), stop()}.
 */
export async function startGate({ targetPort, targetHost = '127.0.0.1' }) {
	const g = { host: '127.0.0.1', port: await freePort() };
	const conns = new Set();
	let server = null;

	function handle(down) {
		const up = net.connect(targetPort, targetHost);
		conns.add(down);
		conns.add(up);
		const end = () => {
			down.destroy();
			up.destroy();
			conns.delete(down);
			conns.delete(up);
		};
		down.on('error', end);
		up.on('error', end);
		down.on('close', end);
		up.on('close', end);
		down.pipe(up);
		up.pipe(down);
	}

	g.open = () => new Promise((resolve, reject) => {
		if (server)
			return resolve();
		server = net.createServer(handle);
		server.once('error', reject);
		server.listen(g.port, g.host, resolve);
	});
	g.close = async () => {
		if (!server)
			return;
		const s = server;
		server = null;
		for (const c of conns)
			c.destroy();
		conns.clear();
		await new Promise((resolve) => s.close(resolve));
	};
	g.isOpen = () => server !== null;
	const unregister = onExit(() => {
		for (const c of conns)
			c.destroy();
		server?.close();
	});
	g.stop = async () => {
		unregister();
		await g.close();
	};
	await g.open();
	return g;
}
