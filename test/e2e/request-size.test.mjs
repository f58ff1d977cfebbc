// request-size.test.mjs: requests packed by bytes (issue 20).  Every request
// the worker sends, request line and headers included, is at most
// rtpush.max_request_bytes on the wire (Laravel Reverb refuses bigger ones
// with 413 and closes the connection); ten ~1 kB events are split into
// requests that fit 10,000 bytes while small events still go 10 per request;
// every request carries an X-Idempotency-Key that a retry repeats
// (rtpush.idempotency_key); an event that no longer fits alone after the
// setting was lowered goes to the dead letter with the reason.  Sizes are
// measured from the bytes the fault server received (lib/faults.mjs rawSize).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startPostgres } from './lib/pg.mjs';
import { startFaultServer } from './lib/faults.mjs';
import { sleep, until } from './lib/cleanup.mjs';

const WAIT = 60000;
const TUNING = {
	'rtpush.poll_interval': 500,
	'rtpush.retry_base': 50,
	'rtpush.retry_max': 500,
	'rtpush.max_attempts': 1000,
	'rtpush.request_timeout': 5000,
};
const tagOf = () => crypto.randomBytes(4).toString('hex');

describe('requests packed by bytes', () => {
	let f, db;

	before(async () => {
		f = await startFaultServer();
		db = await startPostgres({ conf: { ...f.rtpushSettings(), ...TUNING } });
	});

	after(async () => {
		await db?.destroy();
		await f?.stop();
	});

	const requestsWith = (tag) => f.requests.filter((r) => r.body?.includes(tag));
	const mine = (tag) => f.delivered().filter((e) => e.data && e.data.t === tag);

	async function sendTen(tag, channel, pad) {
		const c = await db.connect();
		try {
			await c.query('BEGIN');
			for (let i = 0; i < 10; i++)
				await c.query("SELECT rtpush.send($1::text, 'evt', $2::jsonb)",
					[channel, JSON.stringify({ t: tag, i, pad })]);
			await c.query('COMMIT');
		} finally {
			await c.end();
		}
	}

	function assertFits(tag, limit) {
		for (const r of requestsWith(tag)) {
			assert.ok(r.rawSize <= limit, `request ${r.n}: ${r.rawSize} bytes on the wire, over ${limit}`);
			assert.equal(r.headers.expect, undefined, `request ${r.n}: Expect header`);
			assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
		}
	}

	test('small events still go ten per request, each with an idempotency key', async () => {
		const tag = tagOf();
		await sendTen(tag, `e2e-size-small-${tag}`, 'x');
		await f.waitUntil('10 events', () => mine(tag).length >= 10, WAIT);
		const reqs = requestsWith(tag);
		assert.equal(reqs.length, 1, `${reqs.length} requests for ten small events`);
		assert.equal(reqs[0].events.length, 10);
		assert.match(reqs[0].headers['x-idempotency-key'] ?? '', /^[0-9a-f]{64}$/);
		assertFits(tag, 10000);
	});

	test('ten ~1 kB events are split into requests that fit 10,000 bytes, in order', async () => {
		const tag = tagOf();
		await sendTen(tag, `e2e-size-big-${tag}`, 'p'.repeat(1000));
		await f.waitUntil('10 events', () => mine(tag).length >= 10, WAIT);
		const reqs = requestsWith(tag);
		assert.ok(reqs.length >= 2, `${reqs.length} request(s) for ten ~1 kB events`);
		assert.ok(reqs.some((r) => r.events.length > 1), 'the events were not batched at all');
		assertFits(tag, 10000);
		assert.deepEqual(mine(tag).map((e) => e.data.i), [...Array(10).keys()]);
		// packed: each request but the last would have been over with the next event
		for (const r of reqs.slice(0, -1))
			assert.ok(r.rawSize + 1000 > 10000, `request ${r.n} (${r.rawSize} bytes) had room for another event`);
	});

	test('a retry carries the same idempotency key; the setting turns the header off', async () => {
		const tag = tagOf();
		f.plan([{ when: (r) => r.body.includes(tag), times: 1, status: 500, body: 'boom' }]);
		await db.query("SELECT rtpush.send($1::text, 'evt', $2::jsonb)", [`e2e-size-retry-${tag}`, JSON.stringify({ t: tag })]);
		await f.waitUntil('the event', () => mine(tag).length >= 1, WAIT);
		const keys = requestsWith(tag).map((r) => r.headers['x-idempotency-key']);
		assert.equal(keys.length, 2);
		assert.match(keys[0], /^[0-9a-f]{64}$/);
		assert.equal(keys[1], keys[0], 'the retry carried another key');
		f.plan([]);

		await db.set({ 'rtpush.idempotency_key': 'off' });
		const tag2 = tagOf();
		await db.query("SELECT rtpush.send($1::text, 'evt', $2::jsonb)", [`e2e-size-off-${tag2}`, JSON.stringify({ t: tag2 })]);
		await f.waitUntil('the event', () => mine(tag2).length >= 1, WAIT);
		assert.equal(requestsWith(tag2)[0].headers['x-idempotency-key'], undefined);
		await db.set({ 'rtpush.idempotency_key': null });
	});

	test('an event that no longer fits alone after the limit was lowered is dead-lettered', async () => {
		const tag = tagOf();
		// the first attempt fails slowly, so the limit is lowered before the retry
		f.plan([{ when: (r) => r.body.includes(tag), times: 1, delayMs: 2500, status: 500, body: 'boom' }]);
		await db.query("SELECT rtpush.send($1::text, 'evt', $2::jsonb)",
			[`e2e-size-lowered-${tag}`, JSON.stringify({ t: tag, pad: 'y'.repeat(6000) })]);
		await f.waitUntil('the first attempt', () => requestsWith(tag).length >= 1, WAIT);
		await db.set({ 'rtpush.max_request_bytes': 4096 });
		const dl = await until('the dead letter', async () => {
			const r = await db.rows("SELECT reason FROM rtpush.dead_letter WHERE data::jsonb->>'t' = $1", [tag]);
			return r.length ? r : null;
		}, { timeoutMs: WAIT, intervalMs: 200 });
		assert.match(dl[0].reason, /over rtpush\.max_request_bytes \(4096\)/);
		await sleep(1000);
		assert.equal(requestsWith(tag).length, 1, 'the event was sent again over the limit');
		await db.set({ 'rtpush.max_request_bytes': null });
	});
});
