// delivery.test.mjs: rtpush's delivery worker end to end (issue 3, "Tests
// with real parts").
//
// Part 1: a real PostgreSQL with rtpush preloaded delivers to a real
// soketi; a real pusher-js client subscribed to private channels
// (authorised with the official `pusher` library) must receive exactly the
// committed events' data, in order; rollbacks deliver nothing; a wrong
// secret (401) pauses delivery, nothing dead-lettered, until a reload;
// a soketi outage (RTPUSH_E2E_OUTAGE_S, default 60 s, as issue 8 asks) loses nothing; order
// per channel holds with concurrent writers.  The worker reaches soketi
// through a TCP gate (lib/faults.mjs) so the outage test can keep the
// worker out until a new subscriber is listening again: pusher-js misses
// what is published while it is reconnecting, by Pusher's design.
//
// Part 2: failures soketi cannot produce, from the fault-injecting endpoint:
// 500s and connection resets retried until success, Retry-After honoured,
// 400/413/422 (and soketi's 200 + {"error", "code"}) dead-lettered with a
// rejected batch split so its neighbours still arrive, 401/403/404/405/407
// pausing delivery without a dead letter, a hanging request timed out
// and retried without stalling other channels, and per-channel order under
// concurrent writers with random 500s.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startPostgres } from './lib/pg.mjs';
import { startSoketi } from './lib/soketi.mjs';
import { pusherClient } from './lib/clients.mjs';
import { startFaultServer, startGate } from './lib/faults.mjs';
import { sleep, until } from './lib/cleanup.mjs';

const OUTAGE_S = Number(process.env.RTPUSH_E2E_OUTAGE_S ?? 60);
const WAIT = 90000; // generous: the machine is shared and noisy

// Fast retries so the tests do not wait on the production backoff.
const TUNING = {
	'rtpush.poll_interval': 500,
	'rtpush.retry_base': 50,
	'rtpush.retry_max': 1000,
	'rtpush.max_attempts': 1000,
	'rtpush.connect_timeout': 2000,
	'rtpush.request_timeout': 3000,
};

const tagOf = () => crypto.randomBytes(4).toString('hex');

async function send(q, channels, event, data) {
	const r = await q.query('SELECT rtpush.send($1::text[], $2::text, $3::jsonb) AS id',
		[channels, event, JSON.stringify(data)]);
	return r.rows[0].id;
}

async function sendOne(q, channel, event, data) {
	const r = await q.query('SELECT rtpush.send($1::text, $2::text, $3::jsonb) AS id',
		[channel, event, JSON.stringify(data)]);
	return r.rows[0].id;
}

async function inTransaction(db, fn) {
	const c = await db.connect();
	try {
		await c.query('BEGIN');
		await fn(c);
		await c.query('COMMIT');
	} finally {
		await c.end();
	}
}

// The outbox is empty: every committed event was delivered or dead-lettered.
function drained(db, timeoutMs = WAIT) {
	return until('the outbox to drain', async () =>
		(await db.one('SELECT count(*)::int AS n FROM rtpush.outbox')).n === 0, { timeoutMs, intervalMs: 200 });
}

async function deadLetters(db, tag) {
	return db.rows(`SELECT id, channels, event, data, attempts, http_status, response, reason
	                FROM rtpush.dead_letter WHERE data::jsonb->>'t' = $1 ORDER BY id`, [tag]);
}

async function statusRow(db) {
	return db.one('SELECT * FROM rtpush.status');
}

/*
 * `writers` sessions each send perWriter events {t: tag, w, i} at once,
 * some of them several to a transaction (every `every`-th turn `group`
 * events), spread over chans by stride; returns per (channel, writer) the
 * sequence numbers in the order sent.
 */
async function concurrentWriters(db, { tag, chans, writers, perWriter, stride, every, group }) {
	const expect = new Map();
	await Promise.all(Array.from({ length: writers }, async (_, w) => {
		const c = await db.connect();
		try {
			let i = 0;
			while (i < perWriter) {
				const n = (i + w) % every === 0 ? group : 1;
				if (n > 1)
					await c.query('BEGIN');
				for (let j = 0; j < n && i < perWriter; j++, i++) {
					const ch = chans[(i * stride + w) % chans.length];
					const k = `${ch} w${w}`;
					if (!expect.has(k))
						expect.set(k, []);
					expect.get(k).push(i);
					await send(c, [ch], 'evt', { t: tag, w, i });
				}
				if (n > 1)
					await c.query('COMMIT');
			}
		} finally {
			await c.end();
		}
	}));
	return expect;
}

// Per (channel, writer) the sequence numbers received, in arrival order.
function sequences(items) {
	const m = new Map();
	for (const { channel, data } of items) {
		const k = `${channel} w${data.w}`;
		if (!m.has(k))
			m.set(k, []);
		m.get(k).push(data.i);
	}
	return m;
}

// The data values used in the soketi test: JSON of every shape.
const SAMPLES = [
	{ a: 1 },
	{ text: 'quote " backslash \\ slash / newline \n tab \t cr \r', uni: 'héllo — 日本語 🎉 \u0001' },
	{ nested: { arr: [1, 'two', null, true, false, { x: 1.5, y: -0.25e-3 }] } },
	'a top-level string',
	42,
	[1, [2, [3]], {}],
	null,
	{ html: '<script>alert("x")</script>&amp;', sql: "'); DROP TABLE rtpush.outbox; --" },
	{ empty: '', zero: 0, neg: -7, big: 9007199254740991 },
	{},
];

describe('delivery to soketi with a pusher-js subscriber', () => {
	let soketi, gate, db, client;

	before(async () => {
		soketi = await startSoketi();
		gate = await startGate({ targetPort: soketi.port });
		db = await startPostgres({
			conf: { ...soketi.rtpushSettings(), 'rtpush.port': gate.port, ...TUNING },
		});
		client = await pusherClient({ soketi });
	});

	after(async () => {
		await client?.disconnect();
		await db?.destroy();
		await gate?.stop();
		await soketi?.destroy();
	});

	test('the worker runs and rtpush.status answers', async () => {
		const pid = await db.waitForWorker(30000);
		assert.ok(pid > 0);
		const s = await statusRow(db);
		for (const col of ['pid', 'state', 'queued', 'in_flight', 'delivered', 'dead_lettered', 'last_error'])
			assert.ok(col in s, `rtpush.status has no column ${col}: ${Object.keys(s)}`);
	});

	test('pusher-js receives exactly the committed events, in order', async (t) => {
		const tag = tagOf();
		const ch = `private-e2e.order.${tag}`;
		const ch2 = `private-e2e.order2.${tag}`;
		await client.subscribe(ch);
		await client.subscribe(ch2);
		const all = client.collectAll(ch);
		const all2 = client.collectAll(ch2);

		const expected = [];
		// single-event transactions, both forms of rtpush.send
		for (let i = 0; i < 10; i++) {
			const v = SAMPLES[i % SAMPLES.length];
			expected.push(v);
			if (i % 2)
				await sendOne(db, ch, 'evt', v);
			else
				await send(db, [ch], 'evt', v);
		}
		// multi-event transactions, one of them larger than a batch
		for (const size of [3, 25]) {
			await inTransaction(db, async (c) => {
				for (let i = 0; i < size; i++) {
					const v = { i, tag, s: SAMPLES[i % SAMPLES.length] };
					expected.push(v);
					await send(c, [ch], 'evt', v);
				}
			});
		}
		// one event on two channels, then a different event name
		await send(db, [ch, ch2], 'evt', { both: true });
		expected.push({ both: true });
		await send(db, [ch], 'other-event', { last: true });

		const want = expected.map((data) => ({ event: 'evt', data })).concat([{ event: 'other-event', data: { last: true } }]);
		await all.waitFor(want.length, WAIT);
		await all2.waitFor(1, WAIT);
		await drained(db);
		await all.settle(1500);
		assert.deepEqual(all.data, want);
		assert.deepEqual(all2.data, [{ event: 'evt', data: { both: true } }]);
		const s = await statusRow(db);
		assert.ok(Number(s.delivered) >= want.length, `status.delivered ${s.delivered}`);
		assert.ok(s.last_success_at, 'status.last_success_at is empty');
		assert.ok(s.latency_p50_ms !== null && s.latency_p99_ms !== null, 'no latency figures in rtpush.status');
		t.diagnostic(`status: delivered ${s.delivered}, http_requests ${s.http_requests}, ` +
			`latency p50 ${s.latency_p50_ms} ms, p99 ${s.latency_p99_ms} ms`);
	});

	test('an event sent with a socket_id is not echoed to that socket', async () => {
		const tag = tagOf();
		const ch = `private-e2e.socket.${tag}`;
		const other = await pusherClient({ soketi });
		try {
			await client.subscribe(ch);
			await other.subscribe(ch);
			const mineCol = client.collect(ch, 'evt');
			const otherCol = other.collect(ch, 'evt');
			await db.query('SELECT rtpush.send($1::text[], $2, $3::jsonb, $4)',
				[[ch], 'evt', JSON.stringify({ n: 1 }), client.socketId]);
			await send(db, [ch], 'evt', { n: 2 });
			await otherCol.waitFor(2, WAIT);
			await mineCol.waitFor(1, WAIT);
			await drained(db);
			await mineCol.settle(1000);
			assert.deepEqual(otherCol.data, [{ n: 1 }, { n: 2 }]);
			assert.deepEqual(mineCol.data, [{ n: 2 }], 'the writer\'s own socket got its event back');
		} finally {
			await other.disconnect();
		}
	});

	test('a rolled-back transaction or savepoint delivers nothing', async () => {
		const tag = tagOf();
		const ch = `private-e2e.rollback.${tag}`;
		await client.subscribe(ch);
		const all = client.collectAll(ch);

		const c = await db.connect();
		try {
			await c.query('BEGIN');
			await send(c, [ch], 'evt', { n: 'rolled back' });
			await c.query('ROLLBACK');

			await c.query('BEGIN');
			await send(c, [ch], 'evt', { n: 'A' });
			await c.query('SAVEPOINT s');
			await send(c, [ch], 'evt', { n: 'rolled back to savepoint' });
			await c.query('ROLLBACK TO SAVEPOINT s');
			await send(c, [ch], 'evt', { n: 'B' });
			await c.query('COMMIT');

			// an error aborts the transaction: its event must not go out either
			await c.query('BEGIN');
			await send(c, [ch], 'evt', { n: 'aborted' });
			await assert.rejects(c.query('SELECT 1/0'));
			await c.query('COMMIT'); // ends as ROLLBACK
		} finally {
			await c.end();
		}
		await send(db, [ch], 'evt', { n: 'marker' });

		await all.waitFor(3, WAIT);
		await drained(db);
		await all.settle(1500);
		assert.deepEqual(all.data.map((e) => e.data.n), ['A', 'B', 'marker']);
	});

	test('a wrong secret (401) pauses delivery, nothing dead-lettered; restoring it (reload) delivers the event', async (t) => {
		const tag = tagOf();
		const ch = `private-e2e.secret.${tag}`;
		await client.subscribe(ch);
		const col = client.collect(ch, 'evt');
		const wrong = `wrong-e2e-secret-${tag}`;
		let paused;
		try {
			await db.set({ 'rtpush.secret': wrong });
			await send(db, [ch], 'evt', { t: tag, n: 1 });
			paused = await until('the worker paused as misconfigured', async () => {
				const s = await statusRow(db);
				return /^misconfigured \(HTTP 401: check rtpush\.key, rtpush\.secret\)$/.test(s.state) ? s : null;
			}, { timeoutMs: WAIT, intervalMs: 200 });
			await sleep(1500);
			assert.deepEqual(await deadLetters(db, tag), [], 'a configuration error dead-lettered the event');
			const q = await db.one("SELECT count(*)::int AS n, max(attempts) AS a FROM rtpush.outbox WHERE data->>'t' = $1", [tag]);
			assert.deepEqual([q.n, q.a], [1, 0], 'the event waits in the outbox, no attempt spent');
		} finally {
			await db.set({ 'rtpush.secret': soketi.secret });
		}
		t.diagnostic(`state while paused: ${paused.state}; last_error ${paused.last_error}`);
		// the secret never shows in what rtpush records
		assert.ok(!String(paused.last_error ?? '').includes(wrong), `secret leaked: ${paused.last_error}`);
		await col.waitFor(1, WAIT);
		await drained(db);
		assert.deepEqual(col.data, [{ t: tag, n: 1 }]);
		assert.deepEqual(await deadLetters(db, tag), []);
	});

	test(`soketi stopped for ${OUTAGE_S} s and restarted: every event arrives`, { timeout: (OUTAGE_S + 240) * 1000 }, async () => {
		const tag = tagOf();
		const ch = `private-e2e.outage.${tag}`;
		await client.subscribe(ch);
		const before = client.collect(ch, 'evt');
		for (let i = 0; i < 5; i++)
			await send(db, [ch], 'evt', { t: tag, i });
		await before.waitFor(5, WAIT);
		await drained(db);

		const outageStart = new Date();
		await gate.close();
		await soketi.stop();
		const expected = [];
		const steps = 10;
		for (let k = 0; k < steps; k++) {
			await inTransaction(db, async (c) => {
				for (let j = 0; j < 3; j++) {
					const v = { t: tag, i: 5 + expected.length };
					expected.push(v);
					await send(c, [ch], 'evt', v);
				}
			});
			await sleep((OUTAGE_S * 1000) / steps);
		}
		const queued = (await db.one('SELECT count(*)::int AS n FROM rtpush.outbox')).n;
		assert.equal(queued, expected.length, 'events left the outbox while soketi was down');
		const during = await statusRow(db);

		await soketi.start();
		// a fresh subscriber, listening before the worker can get through
		const c2 = await pusherClient({ soketi });
		try {
			await c2.subscribe(ch);
			const after = c2.collect(ch, 'evt');
			await gate.open();
			await after.waitFor(expected.length, WAIT + OUTAGE_S * 1000);
			await drained(db);
			await after.settle(1500);
			assert.deepEqual(after.data, expected);
			assert.deepEqual(await deadLetters(db, tag), []);
			assert.ok(during.last_error && new Date(during.last_error_at) >= outageStart,
				`rtpush.status during the outage: last_error ${during.last_error} at ${during.last_error_at}`);
		} finally {
			await c2.disconnect();
		}
	});

	test('per-channel order holds with concurrent writers', async () => {
		const tag = tagOf();
		const chans = [0, 1, 2].map((k) => `private-e2e.conc${k}.${tag}`);
		const sub = await pusherClient({ soketi });
		try {
			const cols = [];
			for (const ch of chans) {
				await sub.subscribe(ch);
				cols.push(sub.collect(ch, 'evt'));
			}
			const writers = 4;
			const perWriter = 60;
			const expect = await concurrentWriters(db, { tag, chans, writers, perWriter, stride: 7, every: 4, group: 3 });
			const total = writers * perWriter;
			await until(`${total} events at the subscriber`,
				() => cols.reduce((s, c) => s + c.length, 0) >= total, { timeoutMs: WAIT, intervalMs: 100 });
			await drained(db);
			await sleep(1500);
			const got = sequences(cols.flatMap((col, k) => col.data.map((data) => ({ channel: chans[k], data }))));
			assert.deepEqual(new Map([...got].sort()), new Map([...expect].sort()));
		} finally {
			await sub.disconnect();
		}
	});
});

describe('delivery under faults soketi cannot produce', () => {
	let f, db;

	before(async () => {
		f = await startFaultServer();
		db = await startPostgres({ conf: { ...f.rtpushSettings(), ...TUNING, 'rtpush.retry_max': 500 } });
	});

	after(async () => {
		await db?.destroy();
		await f?.stop();
	});

	const mine = (tag) => f.delivered().filter((e) => e.data && e.data.t === tag);
	const requestsWith = (tag) => f.requests.filter((r) => r.body?.includes(tag));

	// every request of the worker is correctly signed and well-formed
	function assertWellFormed(tag) {
		for (const r of requestsWith(tag)) {
			assert.equal(r.signatureError, null, `request ${r.n}: ${r.signatureError}`);
			assert.equal(r.method, 'POST');
			assert.match(r.path, new RegExp(`^/apps/${f.appId}/(events|batch_events)$`));
			assert.ok(r.events.length >= 1 && r.events.length <= 10, `request ${r.n}: ${r.events.length} events`);
			for (const e of r.events)
				assert.equal(typeof e.data, 'string', `request ${r.n}: data is not a JSON string`);
		}
	}

	test('500s are retried until success; each event delivered once, in order', async () => {
		f.reset();
		const tag = tagOf();
		f.plan([
			{ when: (r) => r.body.includes(tag), times: 3, status: 500, body: 'internal error' },
			{ when: (r) => r.body.includes(tag), fraction: 0.3, status: 503, body: '{"error":"unavailable"}' },
		]);
		const chans = [0, 1, 2, 3].map((k) => `private-e2e.f500.${k}.${tag}`);
		for (let i = 0; i < 20; i++)
			await send(db, [chans[i % 4]], 'evt', { t: tag, w: 0, i });
		await inTransaction(db, async (c) => {
			for (let i = 20; i < 40; i++)
				await send(c, [chans[i % 4]], 'evt', { t: tag, w: 0, i });
		});
		await f.waitUntil('40 events delivered', () => mine(tag).length >= 40, WAIT);
		await drained(db);
		await sleep(500);

		const got = mine(tag);
		assert.equal(got.length, 40, 'an event was delivered twice');
		const seq = sequences(got.map((e) => ({ channel: e.channels[0], data: e.data })));
		for (let k = 0; k < 4; k++)
			assert.deepEqual(seq.get(`${chans[k]} w0`), Array.from({ length: 10 }, (_, j) => k + 4 * j));
		assert.ok(requestsWith(tag).filter((r) => r.status >= 500).length >= 3);
		assert.deepEqual(f.overlaps, []);
		assert.deepEqual(await deadLetters(db, tag), []);
		assertWellFormed(tag);
		const s = await statusRow(db);
		assert.ok(Number(s.retried) >= 3, `status.retried ${s.retried}`);
	});

	test('429 with Retry-After: the retry waits that long', async () => {
		f.reset();
		const tag = tagOf();
		f.plan([{ when: (r) => r.body.includes(tag), times: 1, status: 429, headers: { 'retry-after': '3' },
			body: '{"error":"rate limited"}' }]);
		const ch = `private-e2e.f429.${tag}`;
		await send(db, [ch], 'evt', { t: tag, i: 0 });
		await f.waitUntil('the event delivered', () => mine(tag).length >= 1, WAIT);
		await drained(db);

		const reqs = requestsWith(tag);
		assert.equal(reqs[0].status, 429);
		const gapMs = reqs[1].startedAt - reqs[0].answeredAt;
		// rtpush.retry_max is 500 ms here, so only Retry-After explains a wait of ~3 s
		assert.ok(gapMs >= 2900, `retried ${Math.round(gapMs)} ms after a 429 with Retry-After: 3`);
		assert.notEqual(reqs[1].query.auth_timestamp, reqs[0].query.auth_timestamp, 'the retry was not re-signed');
		assert.equal(mine(tag).length, 1);
		assertWellFormed(tag);
	});

	test('413 and 400 are dead-lettered; the rejected batch is split and its neighbours arrive in order', async (t) => {
		f.reset();
		const tag = tagOf();
		f.plan([
			{ when: (r) => r.body.includes(`poison-413-${tag}`), status: 413, body: '{"error":"e2e payload too large"}' },
			{ when: (r) => r.body.includes(`poison-400-${tag}`), status: 400, body: '{"error":"e2e bad request"}' },
		]);
		const chans = [`private-e2e.split.a.${tag}`, `private-e2e.split.b.${tag}`];
		const good = [];
		await inTransaction(db, async (c) => {
			for (let i = 0; i < 10; i++) {
				const ch = chans[i % 2];
				const data = { t: tag, w: 0, i };
				if (i === 3)
					data.p = `poison-413-${tag}`;
				else if (i === 6)
					data.p = `poison-400-${tag}`;
				else
					good.push({ ch, i });
				await send(c, [ch], 'evt', data);
			}
		});
		await until('two dead letters', async () => (await deadLetters(db, tag)).length === 2, { timeoutMs: WAIT });
		await f.waitUntil('the 8 good events', () => mine(tag).length >= 8, WAIT);
		await drained(db);
		await sleep(500);

		const got = mine(tag);
		assert.equal(got.length, 8);
		assert.ok(got.every((e) => !e.data.p), 'a rejected event was counted as delivered');
		const seq = sequences(got.map((e) => ({ channel: e.channels[0], data: e.data })));
		for (const ch of chans)
			assert.deepEqual(seq.get(`${ch} w0`), good.filter((g) => g.ch === ch).map((g) => g.i));

		const dead = await deadLetters(db, tag);
		const by = Object.fromEntries(dead.map((d) => [d.data.p, d]));
		const d413 = by[`poison-413-${tag}`];
		const d400 = by[`poison-400-${tag}`];
		assert.equal(d413.http_status, 413);
		assert.match(d413.response, /e2e payload too large/);
		assert.ok(d413.reason.length > 0);
		assert.deepEqual(d413.channels, [chans[1]]);
		assert.equal(d413.event, 'evt');
		assert.equal(d400.http_status, 400);
		assert.match(d400.response, /e2e bad request/);
		// not retried: only the batch and its splits carried the poison
		t.diagnostic(`413 dead letter reason: ${d413.reason}; attempts ${d413.attempts}; requests: ` +
			requestsWith(tag).map((r) => `${r.path.split('/').pop()}[${r.events.length}]→${r.status}`).join(' '));
		const carrying = requestsWith(`poison-413-${tag}`).length;
		assert.ok(carrying <= 6, `${carrying} requests carried the 413 event`);
		assertWellFormed(tag);
	});

	test('400, 422 and soketi\'s 200 {"error", "code": 400} are dead letters, not retried', async () => {
		f.reset();
		const tag = tagOf();
		const cases = [
			[400, '{"error":"e2e invalid"}', 400],
			[422, '{"error":"e2e unprocessable"}', 422],
			[200, '{"error":"The received data is incorrect.","code":400}', 400],
		];
		f.plan(cases.map(([status, body], k) => ({ when: (r) => r.body.includes(`case-${k}-${tag}`), status, body })));
		// one at a time, so each goes in a request of its own
		for (let k = 0; k < cases.length; k++) {
			await send(db, [`private-e2e.deny.${k}.${tag}`], 'evt', { t: tag, k, p: `case-${k}-${tag}` });
			await until(`dead letter ${k}`, async () => (await deadLetters(db, tag)).length === k + 1,
				{ timeoutMs: WAIT });
		}
		await drained(db);
		for (const d of await deadLetters(db, tag)) {
			const [, body, code] = cases[d.data.k];
			assert.ok(d.http_status === code || new RegExp(String(code)).test(d.reason),
				`case ${d.data.k}: http_status ${d.http_status}, reason ${d.reason}`);
			assert.equal(d.attempts, 1, `case ${d.data.k}: ${d.attempts} attempts`);
			assert.ok(d.response.includes(JSON.parse(body).error), `case ${d.data.k}: response ${d.response}`);
			assert.equal(requestsWith(`case-${d.data.k}-${tag}`).length, 1);
		}
		assert.equal(mine(tag).filter((e) => e.data.k === 2).length, 0);
	});

	test('401, 403, 404, 405, 407 and soketi\'s 200 {"error", "code": 401} pause delivery: nothing dead-lettered, no attempt spent, delivered once the answer changes', async () => {
		f.reset();
		const tag = tagOf();
		const cases = [
			[401, '{"error":"e2e unauthorized"}'],
			[403, '{"error":"e2e forbidden"}'],
			[404, '{"error":"e2e not found"}'],
			[405, '{"error":"e2e method"}'],
			[407, '{"error":"e2e proxy"}'],
			[200, '{"error":"The secret authentication failed","code":401}'],
		];
		// each answer three times, then the server is "fixed": probes find out
		f.plan(cases.map(([status, body], k) => ({ when: (r) => r.body.includes(`case-${k}-${tag}`), times: 3, status, body })));
		for (let k = 0; k < cases.length; k++) {
			await send(db, [`private-e2e.pause.${k}.${tag}`], 'evt', { t: tag, k, p: `case-${k}-${tag}` });
			await f.waitUntil(`case ${k} delivered after its pause`, () => mine(tag).some((e) => e.data.k === k), WAIT);
		}
		await drained(db);
		assert.deepEqual(await deadLetters(db, tag), [], 'a configuration error dead-lettered an event');
		for (let k = 0; k < cases.length; k++)
			assert.equal(requestsWith(`case-${k}-${tag}`).length, 4, `case ${k}: three refusals and one delivery`);
	});

	test('a hanging request times out and is retried, without stalling other channels', async () => {
		f.reset();
		const tag = tagOf();
		await db.set({ 'rtpush.request_timeout': 5000 });
		try {
			f.plan([{ when: (r) => r.body.includes(`hang-${tag}`), times: 1, hang: true }]);
			const chA = `private-e2e.hang.a.${tag}`;
			const chB = `private-e2e.hang.b.${tag}`;
			await send(db, [chA], 'evt', { t: tag, i: 0, p: `hang-${tag}` });
			await send(db, [chA], 'evt', { t: tag, i: 1 });
			await f.waitUntil('the hanging request', () => requestsWith(tag).some((r) => r.action === 'hang'), WAIT);
			await send(db, [chB], 'evt', { t: tag, i: 2 });
			await f.waitUntil('all three events', () => mine(tag).length >= 3, WAIT);
			await drained(db);

			const order = mine(tag).map((e) => e.data.i);
			assert.deepEqual(order, [2, 0, 1], 'channel B waited for channel A\'s hanging request');
			const hung = requestsWith(`hang-${tag}`);
			assert.equal(hung[0].action, 'hang');
			assert.ok(hung.length >= 2, 'the hanging event was not retried');
			assertWellFormed(tag);
		} finally {
			await db.set({ 'rtpush.request_timeout': TUNING['rtpush.request_timeout'] });
		}
	});

	test('reset connections are retried', async () => {
		f.reset();
		const tag = tagOf();
		f.plan([{ when: (r) => r.body.includes(tag), times: 3, reset: true }]);
		const ch = `private-e2e.reset.${tag}`;
		for (let i = 0; i < 5; i++)
			await send(db, [ch], 'evt', { t: tag, w: 0, i });
		await f.waitUntil('5 events', () => mine(tag).length >= 5, WAIT);
		await drained(db);
		await sleep(300);
		assert.deepEqual(mine(tag).map((e) => e.data.i), [0, 1, 2, 3, 4]);
		assert.equal(requestsWith(tag).filter((r) => r.action === 'reset').length, 3);
		assert.deepEqual(await deadLetters(db, tag), []);
	});

	test('a channel waiting for a retry holds its later events while other channels go on', async () => {
		f.reset();
		const tag = tagOf();
		const chA = `private-e2e.hold.a.${tag}`;
		const chB = `private-e2e.hold.b.${tag}`;
		let failing = true;
		f.plan([{ when: (r) => failing && r.events.some((e) => e.channels.includes(chA)), status: 503,
			body: '{"error":"e2e unavailable"}' }]);
		for (let i = 0; i < 3; i++)
			await send(db, [chA], 'evt', { t: tag, i });
		await f.waitUntil('a refused request for channel A', () => requestsWith(tag).some((r) => r.status === 503), WAIT);
		for (let i = 3; i < 6; i++)
			await send(db, [chB], 'evt', { t: tag, i });
		await f.waitUntil('channel B delivered', () => mine(tag).filter((e) => e.data.i >= 3).length >= 3, WAIT);
		assert.equal(mine(tag).filter((e) => e.data.i < 3).length, 0);
		failing = false;
		await f.waitUntil('channel A delivered', () => mine(tag).length >= 6, WAIT);
		await drained(db);
		assert.deepEqual(mine(tag).map((e) => e.data.i), [3, 4, 5, 0, 1, 2]);
		assert.deepEqual(f.overlaps, []);
	});

	// More events of the refused channel than a dispatch pass considers
	// (4,096) and than the worker holds (10,000): the channel keeps 100 held
	// and the rest wait in the outbox ("parked") until it moves again, so the
	// events queued after them are read and delivered meanwhile.
	test('a channel with more events waiting for a retry than the worker holds does not hold up the channels after it', async () => {
		f.reset();
		const tag = tagOf();
		const chA = `private-e2e.hol.a.${tag}`;
		const chB = `private-e2e.hol.b.${tag}`;
		const NA = 12000;
		let failing = true;
		f.plan([{ when: (r) => failing && r.events.some((e) => e.channels.includes(chA)), status: 503,
			body: '{"error":"e2e unavailable"}' }]);
		await db.query(`SELECT rtpush.send($1::text, 'evt', jsonb_build_object('t', $2::text, 'i', i))
		                FROM generate_series(0, $3::int - 1) i`, [chA, tag, NA]);
		await f.waitUntil('a refused request for channel A', () => requestsWith(tag).some((r) => r.status === 503), WAIT);
		for (let i = NA; i < NA + 3; i++)
			await send(db, [chB], 'evt', { t: tag, i });
		await f.waitUntil('channel B delivered', () => mine(tag).filter((e) => e.data.i >= NA).length >= 3, WAIT);
		assert.equal(mine(tag).filter((e) => e.data.i < NA).length, 0, 'nothing of channel A arrived while it was refused');
		const st = await statusRow(db);
		assert.ok(st.held <= 200, `the worker holds ${st.held} events while channel A is refused`);
		assert.equal(st.parked_channels, 1, 'rtpush.status shows channel A parked');
		assert.deepEqual((await db.query('SELECT channel FROM rtpush.parked_channels()')).rows.map((r) => r.channel), [chA],
			'rtpush.parked_channels() names it');
		failing = false;
		await f.waitUntil('channel A delivered', () => mine(tag).length >= NA + 3, WAIT);
		await drained(db);
		const a = mine(tag).filter((e) => e.data.i < NA).map((e) => e.data.i);
		assert.equal(a.length, NA, 'channel A: each event once');
		assert.deepEqual(a, [...Array(NA).keys()], 'channel A in order');
		assert.deepEqual(f.overlaps, []);
		assert.equal((await statusRow(db)).parked_channels, 0, 'nothing parked once A is delivered');
		assert.equal((await db.query('SELECT * FROM rtpush.parked_channels()')).rows.length, 0);
	});

	// An event on a refused channel A and on channel C, queued behind more
	// events of A than A keeps held, is parked with C's later events: C keeps
	// its order (nothing of C after it arrives first); C's earlier events and
	// channel D's go on.
	test('parked with a refused channel: an event on two channels keeps its place on both', async () => {
		f.reset();
		const tag = tagOf();
		const [chA, chC, chD] = ['a', 'c', 'd'].map((x) => `private-e2e.park.${x}.${tag}`);
		let failing = true;
		f.plan([{ when: (r) => failing && r.events.some((e) => e.channels.includes(chA)), status: 503,
			body: '{"error":"e2e unavailable"}' }]);
		await db.query(`SELECT rtpush.send($1::text, 'evt', jsonb_build_object('t', $2::text, 'i', i))
		                FROM generate_series(0, 299) i`, [chA, tag]);
		await send(db, [chC], 'evt', { t: tag, i: 300 });
		await f.waitUntil('a refused request for channel A', () => requestsWith(tag).some((r) => r.status === 503), WAIT);
		await send(db, [chA, chC], 'evt', { t: tag, i: 301 });
		for (let i = 302; i < 305; i++)
			await send(db, [chC], 'evt', { t: tag, i });
		await send(db, [chD], 'evt', { t: tag, i: 305 });
		await f.waitUntil('channels C (before) and D delivered', () =>
			mine(tag).some((e) => e.data.i === 300) && mine(tag).some((e) => e.data.i === 305), WAIT);
		// while A stays refused, C stays parked behind it without the worker
		// reading the outbox again and again (a re-read walks every queued row)
		await db.set({ log_min_messages: 'debug1' });
		const rereads = () => (db.log().match(/reading the outbox again/g) ?? []).length;
		const before = rereads();
		await sleep(4000);
		const during = rereads() - before;
		await db.set({ log_min_messages: null });
		assert.ok(during <= 1, `the worker read the outbox again ${during} times in 4 s while channel A was refused`);
		assert.deepEqual(mine(tag).map((e) => e.data.i).sort(), [300, 305],
			'nothing queued behind the two-channel event arrived while A was refused');
		failing = false;
		await f.waitUntil('everything delivered', () => new Set(mine(tag).map((e) => e.data.i)).size >= 306, WAIT);
		await drained(db);
		const on = (ch) => f.delivered().filter((e) => e.data?.t === tag && e.channels.includes(ch)).map((e) => e.data.i);
		assert.deepEqual(on(chA), [...Array(300).keys(), 301], 'channel A in order, each once');
		assert.deepEqual(on(chC), [300, 301, 302, 303, 304], 'channel C in order, each once');
		assert.deepEqual(f.overlaps, []);
	});

	test('after rtpush.max_attempts failures the event goes to the dead letter', async () => {
		f.reset();
		const tag = tagOf();
		await db.set({ 'rtpush.max_attempts': 3 });
		try {
			f.plan([{ when: (r) => r.body.includes(tag), status: 500, body: '{"error":"e2e always 500"}' }]);
			await send(db, [`private-e2e.attempts.${tag}`], 'evt', { t: tag, i: 0 });
			const dead = await until('the dead letter', async () => (await deadLetters(db, tag))[0], { timeoutMs: WAIT });
			await drained(db);
			assert.equal(dead.attempts, 3);
			assert.equal(requestsWith(tag).length, 3);
			assert.equal(dead.http_status, 500);
			assert.match(dead.response, /e2e always 500/);
		} finally {
			await db.set({ 'rtpush.max_attempts': TUNING['rtpush.max_attempts'] });
		}
		// and redeliver() with no argument requeues every dead letter
		f.plan([]);
		const n = Number((await db.one('SELECT rtpush.redeliver() AS n')).n);
		assert.ok(n >= 1);
		await f.waitUntil('the redelivered event', () => mine(tag).length >= 1, WAIT);
		await drained(db);
		assert.equal((await db.one('SELECT count(*)::int AS n FROM rtpush.dead_letter')).n, 0);
	});

	test('events past rtpush.max_age go to the dead letter', async () => {
		f.reset();
		const tag = tagOf();
		await db.set({ 'rtpush.max_age': 2 });
		try {
			f.plan([{ when: (r) => r.body.includes(tag), status: 500, body: '{"error":"e2e always 500"}' }]);
			await send(db, [`private-e2e.age.${tag}`], 'evt', { t: tag, i: 0 });
			const dead = await until('the dead letter', async () => (await deadLetters(db, tag))[0], { timeoutMs: WAIT });
			await drained(db);
			// rtpush.max_attempts is 1000 here: only the age can have ended it
			assert.ok(dead.attempts >= 1 && dead.attempts < 1000, `attempts ${dead.attempts}`);
			assert.equal(dead.http_status, 500);
		} finally {
			await db.set({ 'rtpush.max_age': null });
		}
	});

	test('multi-channel events keep their place on each of their channels under retries', async () => {
		f.reset();
		const tag = tagOf();
		const [chA, chB] = [`private-e2e.multi.a.${tag}`, `private-e2e.multi.b.${tag}`];
		f.plan([{ when: (r) => r.body.includes(tag), fraction: 0.4, status: 500 }]);
		const sent = [];
		for (let i = 0; i < 30; i++) {
			const chans = i % 5 === 2 ? [chA, chB] : [i % 2 ? chA : chB];
			sent.push({ i, chans });
			await send(db, chans, 'evt', { t: tag, i });
		}
		await f.waitUntil('30 events', () => mine(tag).length >= 30, WAIT);
		await drained(db);
		const got = mine(tag);
		assert.equal(got.length, 30);
		for (const ch of [chA, chB])
			assert.deepEqual(got.filter((e) => e.channels.includes(ch)).map((e) => e.data.i),
				sent.filter((x) => x.chans.includes(ch)).map((x) => x.i), `order on ${ch}`);
		const multi = got.filter((e) => e.channels.length === 2);
		assert.equal(multi.length, 6);
		assert.deepEqual(f.overlaps, []);
	});

	test('keep-alive: consecutive requests reuse a connection', async () => {
		f.reset();
		const tag = tagOf();
		for (let i = 0; i < 10; i++) {
			await send(db, [`private-e2e.keepalive.${tag}`], 'evt', { t: tag, i });
			await f.waitUntil(`event ${i}`, () => mine(tag).length >= i + 1, WAIT);
		}
		const conns = new Set(requestsWith(tag).map((r) => r.connection));
		assert.ok(conns.size <= 2, `10 sequential requests used ${conns.size} connections`);
	});

	test('per-channel order under concurrent writers and random 500s', async () => {
		f.reset();
		const tag = tagOf();
		f.plan([{ when: (r) => r.body.includes(tag), fraction: 0.3, status: 500, body: '{"error":"e2e random 500"}' }]);
		const chans = [0, 1, 2, 3].map((k) => `private-e2e.cf.${k}.${tag}`);
		const writers = 4;
		const perWriter = 50;
		const expect = await concurrentWriters(db, { tag, chans, writers, perWriter, stride: 3, every: 3, group: 4 });
		const total = writers * perWriter;
		await f.waitUntil(`${total} events`, () => mine(tag).length >= total, WAIT);
		await drained(db);
		await sleep(500);
		const got = mine(tag);
		assert.equal(got.length, total, 'duplicates among accepted events');
		const seq = sequences(got.map((e) => ({ channel: e.channels[0], data: e.data })));
		assert.deepEqual(new Map([...seq].sort()), new Map([...expect].sort()));
		assert.deepEqual(f.overlaps, [], 'two requests carried the same channel at once');
		assert.deepEqual(await deadLetters(db, tag), []);
		assertWellFormed(tag);
	});
});
