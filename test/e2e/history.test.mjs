// history.test.mjs: nothing missed on the screen (issue 17).  Real pusher-js
// clients using rtpush-client (client/index.mjs) subscribe through
// examples/auth-server to private channels (one of them end-to-end
// encrypted) and a public one on a real soketi, and catch up through the
// same server's GET /api/v1/broadcasting/history (rtpush.history()).
//
// Concurrent writers commit events on every channel while the clients'
// connections are cut at random moments: their TCP path to soketi cut
// (a gate closing every socket), soketi restarted (the worker's requests
// fail and are retried meanwhile), a client going offline and coming back,
// and, during a burst, the worker's path to soketi cut too, so that events
// wait in the outbox and in retries while the clients reconnect.  After
// the writers stop, every client's handlers must have received every
// committed event of its channels exactly once, in the writers' order, the
// live and the caught-up ones alike, with the same data (decrypted on the
// encrypted channel).  A second run races catch-up against live delivery:
// clients reconnect over and over while a writer never pauses.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startPostgres } from './lib/pg.mjs';
import { startSoketi } from './lib/soketi.mjs';
import { pusherClient } from './lib/clients.mjs';
import { startGate } from './lib/faults.mjs';
import { sleep, until } from './lib/cleanup.mjs';
import { createAuthServer } from '../../examples/auth-server/server.mjs';
import { catchUp } from '../../client/index.mjs';

const WAIT = 120000;
const USERS = ['1', '2', '3'];
const TUNING = {
	'rtpush.poll_interval': 200,
	'rtpush.retry_base': 50,
	'rtpush.retry_max': 500,
	'rtpush.max_attempts': 10000,
	'rtpush.connect_timeout': 1000,
	'rtpush.request_timeout': 2000,
	'rtpush.event_id_field': 'rtpush_id',
};
const SCHEMA = `
CREATE TABLE app_sessions (token text PRIMARY KEY, user_id text NOT NULL, user_info jsonb);
INSERT INTO app_sessions SELECT 'tok-' || u, u, NULL FROM unnest(ARRAY['1', '2', '3']) u;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
  ('private-user.{user_id}.feed', 'owner'),
  ('private-encrypted-user.{user_id}.rx', 'owner');
`;

const channelsOf = (u) => [`private-user.${u}.feed`, `private-encrypted-user.${u}.rx`, 'public-news'];
const ALL_CHANNELS = [...new Set(USERS.flatMap(channelsOf))];

describe('history and catch-up: clients cut off at random moments miss nothing', () => {
	let pg, soketi, authServer, clientGate, workerGate;
	const clients = [];

	const fetchHistory = (token) => async ({ channel, after }) => {
		const q = new URLSearchParams({ channel, max_events: '50' });
		if (after)
			q.set('after', after);
		const r = await fetch(`${authServer.url}/api/v1/broadcasting/history?${q}`,
			{ headers: { authorization: `Bearer ${token}` } });
		if (r.status !== 200)
			throw new Error(`history: HTTP ${r.status} ${await r.text()}`);
		return (await r.json()).data;
	};

	// a user's pusher-js client through the client gate, every channel wrapped by catchUp()
	async function user(u) {
		const token = `tok-${u}`;
		const c = await pusherClient({
			soketi,
			pusherOptions: {
				wsHost: clientGate.host,
				wsPort: clientGate.port,
				channelAuthorization: {
					endpoint: `${authServer.url}/api/v1/broadcasting/auth`,
					transport: 'ajax',
					headers: { authorization: `Bearer ${token}` },
				},
			},
		});
		clients.push(c);
		const got = new Map(); // channel -> [{n, w, data, meta}]
		const feeds = [];
		for (const ch of channelsOf(u)) {
			got.set(ch, []);
			const feed = catchUp(c.pusher.subscribe(ch), { fetchHistory: fetchHistory(token), fromStart: true });
			feed.bind('e', (data, meta) => got.get(ch).push({ data, meta }));
			feed.bind('rtpush:expired', () => got.get(ch).push({ expired: true }));
			feed.bind('rtpush:gap', () => got.get(ch).push({ gap: true }));
			feed.bind('rtpush:error', (err) => got.get(ch).push({ error: String(err) }));
			feeds.push(feed);
		}
		await until(`user ${u} subscribed`, () => channelsOf(u).every((ch) => c.pusher.channel(ch)?.subscribed),
			{ timeoutMs: 30000 });
		return { u, c, got, feeds };
	}

	// writer w commits events {w, n, ch} on random channels, n increasing per writer
	function writer(w, stop, rate) {
		let n = 0;
		return (async () => {
			const db = await pg.connect();
			try {
				while (!stop.done) {
					const ch = ALL_CHANNELS[crypto.randomInt(ALL_CHANNELS.length)];
					await db.query("SELECT rtpush.send($1::text, 'e', $2::jsonb)", [ch, JSON.stringify({ w, n: n++, ch })]);
					await sleep(crypto.randomInt(2 * 1000 / rate));
				}
			} finally {
				await db.end();
			}
			return n;
		})();
	}

	async function burst(rows) {
		await pg.query(`SELECT rtpush.send(c, 'e', jsonb_build_object('w', 99, 'n', g, 'ch', c))
		                  FROM generate_series(1, $1) g, LATERAL (SELECT ($2::text[])[1 + g % $3] AS c) x`,
		[rows, ALL_CHANNELS, ALL_CHANNELS.length]);
	}

	// every committed event of each client's channels, exactly once, in order, same data
	async function check(users, label, ws) {
		await until('the outbox to drain', async () =>
			(await pg.one('SELECT count(*)::int AS n FROM rtpush.outbox')).n === 0, { timeoutMs: WAIT, intervalMs: 200 });
		const committed = new Map(ALL_CHANNELS.map((ch) => [ch, []]));
		for (const r of await pg.rows(`SELECT DISTINCT ON (id) id, channel, data FROM rtpush.history_events
		                                ORDER BY id, position`))
			if (ws.includes(JSON.parse(r.data).w))
				committed.get(r.channel).push({ id: String(r.id), data: JSON.parse(r.data) });
		for (const ch of ALL_CHANNELS)
			committed.get(ch).sort((a, b) => (a.data.w - b.data.w) || (a.data.n - b.data.n));
		const key = (d) => `${d.w}:${d.n}`;
		let caught = 0;
		for (const { u, got } of users) {
			for (const ch of channelsOf(u)) {
				const want = committed.get(ch);
				await until(`${label}: user ${u} has the ${want.length} events of ${ch}`,
					() => got.get(ch).filter((e) => e.data && ws.includes(e.data.w)).length >= want.length, { timeoutMs: WAIT, intervalMs: 200 });
				await sleep(500);
				const events = got.get(ch).filter((e) => !e.data || ws.includes(e.data.w));
				assert.deepEqual(events.filter((e) => !e.data), [], `${label}: ${ch}: no expired, gap or error`);
				const keys = events.map((e) => key(e.data));
				assert.equal(new Set(keys).size, keys.length, `${label}: user ${u}, ${ch}: each event handed over once`);
				assert.deepEqual([...keys].sort(), want.map((e) => key(e.data)).sort(),
					`${label}: user ${u}, ${ch}: every committed event`);
				for (const w of new Set(events.map((e) => e.data.w))) {
					const ns = events.filter((e) => e.data.w === w).map((e) => e.data.n);
					assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `${label}: user ${u}, ${ch}: writer ${w}'s order`);
				}
				const byKey = new Map(want.map((e) => [key(e.data), e]));
				for (const e of events) {
					const { rtpush_id: id, rtpush_position: pos, ...rest } = e.data;
					const w = byKey.get(key(e.data));
					if (pos === undefined) {
						// still queued when history was read: no members yet, the id beside
						assert.deepEqual([e.meta.source, e.meta.position, e.meta.id], ['history', null, w.id],
							`${label}: ${ch}: an event without its position came from history, queued`);
					} else {
						assert.equal(String(id), w.id, `${label}: ${ch}: rtpush_id is the outbox id`);
						assert.equal(typeof pos, 'string', `${label}: ${ch}: data carries its position`);
					}
					const { rtpush_id: _i, rtpush_position: _p, ...wrest } = w.data;
					assert.deepEqual(rest, wrest, `${label}: ${ch}: the data written (decrypted when encrypted)`);
				}
				const fromHistory = events.filter((e) => e.meta.source === 'history');
				console.log(`# ${label}: user ${u}, ${ch}: ${events.length} events, ${fromHistory.length} from history `
					+ `(${fromHistory.filter((e) => e.meta.position === null).length} of them still queued)`);
				caught += fromHistory.length;
			}
		}
		return caught;
	}

	before(async () => {
		const master = crypto.randomBytes(32).toString('base64');
		soketi = await startSoketi();
		workerGate = await startGate({ targetPort: soketi.port });
		await workerGate.open();
		clientGate = await startGate({ targetPort: soketi.port });
		await clientGate.open();
		pg = await startPostgres({
			conf: { ...soketi.rtpushSettings(), 'rtpush.port': workerGate.port, ...TUNING,
				'rtpush.encryption_master_key': master },
		});
		await pg.query(SCHEMA);
		authServer = await createAuthServer({ pool: { query: (...a) => pg.query(...a) } });
	});

	after(async () => {
		for (const c of clients)
			await c.disconnect();
		await authServer?.close();
		await clientGate?.stop();
		await workerGate?.stop();
		await soketi?.destroy();
		await pg?.destroy();
	});

	test('writers on many channels, connections cut, soketi restarted, a client offline, a burst while delivery is cut', async () => {
		const users = [];
		for (const u of USERS)
			users.push(await user(u));
		const stop = { done: false };
		const writers = [0, 1, 2, 3].map((w) => writer(w, stop, 25));
		const at = (ms) => sleep(ms + crypto.randomInt(1000));

		await at(2000);
		await clientGate.close(); // every client's socket cut
		await sleep(1500);
		await clientGate.open();
		await at(3000);
		await soketi.restart(); // clients and the worker cut off; requests retried
		await at(3000);
		users[1].c.pusher.disconnect(); // a client offline
		await sleep(2500);
		users[1].c.pusher.connect();
		await at(2000);
		await workerGate.close(); // delivery cut: events queue and retry
		await clientGate.close();
		await burst(300);
		await sleep(1500);
		await clientGate.open();
		await sleep(1000);
		await workerGate.open();
		await at(2000);
		stop.done = true;
		const written = await Promise.all(writers);
		console.log(`# writers committed ${written.join(', ')} events, and a burst of 300`);
		const caught = await check(users, 'cuts', [0, 1, 2, 3, 99]);
		assert.ok(caught > 0, 'the cuts made clients miss events live, which catch-up handed over');
	});

	test('catch-up races live delivery: clients reconnect over and over while a writer never pauses', async () => {
		const users = [];
		for (const u of USERS)
			users.push(await user(u));
		const stop = { done: false };
		const writers = [0, 1].map((w) => writer(10 + w, stop, 100));
		for (let i = 0; i < 8; i++) {
			const c = users[i % users.length].c.pusher;
			c.disconnect();
			await sleep(crypto.randomInt(300));
			c.connect();
			await sleep(300 + crypto.randomInt(500));
		}
		stop.done = true;
		await Promise.all(writers);
		const caught = await check(users, 'racy', [10, 11]);
		assert.ok(caught > 0, 'the reconnections made clients catch up');
	});
});
