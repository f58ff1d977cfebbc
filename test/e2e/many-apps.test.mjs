// many-apps.test.mjs: per-database Pusher apps (issue 19, rtpush 0.8:
// rtpush.set_app / reset_app / the rtpush.app view) with real parts only.
//
// One cluster (lib/pg.mjs, rtpush.database_name = '': a delivery worker per
// database), one soketi serving two apps from its config (soketi's array app
// manager, lib/soketi.mjs's apps), real pusher-js clients:
//   db1  rtpush.set_app(app A, host/port/scheme given, encryption key KA)
//   db2  rtpush.set_app(app B, host/port NULL: the cluster's, key KB)
//   db3  the cluster-wide settings: app A, rtpush.encryption_master_key KC
// Every database has the same public channels (ticks.0 .. ticks.2) and its
// own private-encrypted- channel.  Concurrent writers in all three; then:
// - app A's clients receive exactly db1's and db3's events, app B's exactly
//   db2's: every committed row once, in order per channel and database,
//   none from a database of the other app (same channel names on both apps,
//   so a leak would show);
// - each encrypted channel's subscriber, authorized by rtpush.authorize_channel
//   in its own database (examples/auth-server on that database, connected as
//   a role that cannot read rtpush.app_config), gets its
//   rows decrypted; the shared secret pusher-js holds and the envelopes soketi
//   forwarded are checked against SHA256(channel || that database's master
//   key) computed here;
// - a subscription signed by the other app's database (rtpush's auth in db1
//   for a channel of app B, and db2's for one of app A) is refused by soketi
//   (401), while the same channel signed by its own database is accepted;
// - rtpush.app shows each database's app and source, no secret, and is
//   refused to a non-superuser.
// Then, while db1 and db2 are busy writing: CREATE EXTENSION in a fourth
// database given app B by set_app (its rows reach app B only), and DROP
// DATABASE db3 (completes at once); db1 and db2 lose nothing, duplicate
// nothing, keep their order.  rtpush.reset_app() puts db4 back on the
// cluster-wide app, for its auth at once and its worker.
// Last, set_app() right after CREATE EXTENSION in a fifth database and rows
// at once: every row committed after set_app() returned reaches app B, none
// the cluster-wide app A.  On 514fa6b the first rows went to app A (a
// just-started worker read the app at the start of its first transaction,
// which lasts ~0.3 s, then fetched rows committed since with a newer
// snapshot); passes since 7c06e6f (the worker looks at the row's version
// after each fetch).  And on a warm, busy worker switched back and forth
// ten times by set_app() and reset_app():
// every row reaches the app in force when its INSERT began (rows still
// queued at the next switch may go with the next app, and are not judged).
// RTPUSH_E2E_DEBUG=1 prints, at the end, the server log's rtpush lines, the
// workers, dead letters and what each collector got per database.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres } from './lib/pg.mjs';
import { startSoketi } from './lib/soketi.mjs';
import { pusherClient, rawMessages } from './lib/clients.mjs';
import { until, sleep } from './lib/cleanup.mjs';
import { splitHistory } from './lib/history.mjs';
import { newKey, sharedSecret, open } from './lib/envelope.mjs';
import { createAuthServer } from '../../examples/auth-server/server.mjs';


const WAIT = 20000;
const TUNING = {
	'rtpush.poll_interval': 500,
	'rtpush.retry_base': 50,
	'rtpush.retry_max': 1000,
	'rtpush.connect_timeout': 2000,
	'rtpush.request_timeout': 3000,
};
const APP_A = { appId: 'many-app-a', key: 'many-key-a', secret: 'many-secret-a' };
const APP_B = { appId: 'many-app-b', key: 'many-key-b', secret: 'many-secret-b' };
const WRITERS = 3; // per database, writer w on channel ticks.<w>
const PER_WRITER = 60;
const SECRETS = 15; // encrypted rows per database
const USER = '7';

const KA = newKey();
const KB = newKey();
const KC = newKey();

const SCHEMA = `
CREATE TABLE app_sessions (token text PRIMARY KEY, user_id text NOT NULL, user_info jsonb);
INSERT INTO app_sessions VALUES ('tok-7', '${USER}', NULL);
CREATE TABLE ticks (seq int PRIMARY KEY, w int NOT NULL, db text NOT NULL DEFAULT current_database());
SELECT rtpush.attach('ticks', 'tick', ARRAY['ticks.{w}'], operations => '{INSERT}');
CREATE TABLE secrets (seq int PRIMARY KEY, owner int NOT NULL, db text NOT NULL DEFAULT current_database(),
                      note text NOT NULL);
SELECT rtpush.attach('secrets', 'secret', ARRAY['private-encrypted-room.{db}.{owner}'], operations => '{INSERT}');
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-encrypted-room.{room}.{user_id}', 'owner');
`;

const encChannel = (db) => `private-encrypted-room.${db}.${USER}`;

/**
 * A collector's rows of one database (data.db), checking that their history
 * positions increase: positions are per database, so two databases on one
 * app's channel interleave theirs (the collector's own check, in .data, is
 * for one database).
 */
function rowsOf(col, db) {
	const evs = col.events.filter((e) => e.data.db === db);
	let last = null;
	for (const e of evs) {
		if (e.position == null)
			continue;
		assert.ok(last === null || BigInt(e.position) > BigInt(last),
			`${col.label} ${db}: position ${e.position} after ${last}`);
		last = e.position;
	}
	return evs.map((e) => e.data);
}

describe('per-database Pusher apps: three databases, two soketi apps', () => {
	let pg, soketi, A, B;
	const dbs = {};
	const auth = {};
	const clients = [];
	const debugCollectors = [];

	// a pusher-js client of `app` whose private channels are authorized by
	// rtpush.authorize_channel in database `db` (its auth server, ajax, as a
	// frontend does)
	const client = async (app, db) => {
		const c = await pusherClient({
			soketi: app,
			pusherOptions: db ? {
				channelAuthorization: {
					endpoint: `${auth[db].url}/api/v1/broadcasting/auth`,
					transport: 'ajax',
					headers: { authorization: 'Bearer tok-7' },
				},
			} : {},
		});
		clients.push(c);
		return c;
	};

	// each running worker as datname:app_source:app_id (rtpush.databases)
	const workerApps = async () => (await pg.rows(`SELECT datname || ':' || app_source || ':' || app_id AS w
		FROM rtpush.databases WHERE pid IS NOT NULL ORDER BY datname`)).map((r) => r.w).join(',');

	const setup = async (name) => {
		const d = pg.database(name);
		await d.query('CREATE EXTENSION IF NOT EXISTS rtpush');
		await d.query(SCHEMA);
		dbs[name] = d;
		return d;
	};

	before(async () => {
		const t0 = Date.now();
		soketi = await startSoketi({ ...APP_A, apps: [APP_B] });
		[A, B] = soketi.apps;
		pg = await startPostgres({
			dbname: 'db1',
			conf: { ...A.rtpushSettings(), ...TUNING, 'rtpush.database_name': '', 'rtpush.encryption_master_key': KC },
		});
		await pg.query('CREATE DATABASE db2');
		await pg.query('CREATE DATABASE db3');
		for (const name of ['db1', 'db2', 'db3'])
			await setup(name);
		await dbs.db1.query(`SELECT rtpush.set_app($1, $2, $3, host => '127.0.0.1', port => $4, scheme => 'http',
			encryption_master_key => $5)`, [A.appId, A.key, A.secret, A.port, KA]);
		await dbs.db2.query('SELECT rtpush.set_app($1, $2, $3, encryption_master_key => $4)',
			[B.appId, B.key, B.secret, KB]);
		// the auth servers connect as an app's role, not a superuser: rtpush
		// signs with the app's secret that the role cannot read
		await pg.query('CREATE ROLE many_app LOGIN');
		for (const name of ['db1', 'db2', 'db3']) {
			await dbs[name].query(`GRANT USAGE ON SCHEMA rtpush TO many_app;
				GRANT EXECUTE ON FUNCTION rtpush.authorize_channel(text, text, text, jsonb) TO many_app;
				GRANT SELECT ON app_sessions TO many_app`);
			const asApp = pg.database(name, { user: 'many_app' });
			auth[name] = await createAuthServer({ pool: { query: (...a) => asApp.query(...a) } });
			await assert.rejects(asApp.query('SELECT secret FROM rtpush.app_config'), /permission denied/);
		}
		// (the workers take up set_app() a moment after its commit when they
		// have just started: see the last test)
		await until('db1, db2 and db3\'s workers on their apps', async () => (await workerApps()) ===
			`db1:database:${A.appId},db2:database:${B.appId},db3:cluster:${A.appId}`, { timeoutMs: WAIT });
		console.log(`set up in ${Date.now() - t0} ms`);
	});

	after(async () => {
		if (process.env.RTPUSH_E2E_DEBUG) {
			console.log(pg?.log().split('\n').filter((l) => /rtpush|ERROR|WARNING/.test(l) && !/statement:/.test(l)).join('\n'));
			console.log(JSON.stringify(await pg.rows('SELECT datname, app_source, app_id, delivered, failed, last_error FROM rtpush.databases')));
			for (const [name, d] of Object.entries(dbs)) {
				if (name !== 'db3')
					console.log(name, JSON.stringify(await d.rows('SELECT count(*) AS n, min(reason) AS reason FROM rtpush.dead_letter').catch((e) => e.message)));
			}
			for (const c of debugCollectors) {
				const by = {};
				for (const e of c.events)
					(by[e.data.db] ??= []).push(e.data.seq);
				console.log(c.label, Object.entries(by).map(([db, seqs]) =>
					`${db}: ${seqs.length} (${seqs.slice(0, 12).join(',')}${seqs.length > 12 ? ',...' : ''})`).join('; '));
			}
		}
		for (const c of clients)
			await c.disconnect();
		for (const s of Object.values(auth))
			await s.close();
		await soketi?.destroy();
		await pg?.destroy();
	});

	test('rtpush.app shows each database\'s app and where it comes from, never a secret', async () => {
		const row = async (db) => (await dbs[db].one('SELECT * FROM rtpush.app'));
		const r1 = await row('db1');
		const r2 = await row('db2');
		const r3 = await row('db3');
		assert.deepEqual([r1.source, r1.app_id, r1.key, r1.encrypted], ['database', A.appId, A.key, true]);
		assert.deepEqual([r1.host, Number(r1.port), r1.scheme], ['127.0.0.1', A.port, 'http']);
		assert.deepEqual([r2.source, r2.app_id, r2.key, r2.encrypted], ['database', B.appId, B.key, true]);
		assert.deepEqual([r3.source, r3.app_id, r3.key, r3.encrypted], ['cluster', A.appId, A.key, true]);
		assert.deepEqual([r1.secret_set, r2.secret_set, r3.secret_set], [true, true, true]);
		for (const r of [r1, r2, r3]) {
			const text = JSON.stringify(r);
			for (const secret of [A.secret, B.secret, KA, KB, KC])
				assert.ok(!text.includes(secret), `rtpush.app shows a secret: ${text}`);
		}
		await dbs.db1.query('CREATE ROLE many_plain LOGIN');
		await dbs.db1.query('GRANT USAGE ON SCHEMA rtpush TO many_plain');
		const c = await dbs.db1.connect();
		try {
			await c.query('SET ROLE many_plain');
			await assert.rejects(c.query('SELECT * FROM rtpush.app'), /permission denied/);
			await assert.rejects(c.query(`SELECT rtpush.set_app('x', 'y', 'z')`), /permission denied|must be superuser/);
		} finally {
			await c.end();
		}
	});

	test('concurrent writers in three databases: each app receives only its databases\' events, once each, in order', async () => {
		const channels = [...Array(WRITERS).keys()].map((w) => `ticks.${w}`);
		const subscribers = {};
		for (const [name, app] of [['A', A], ['B', B]]) {
			const c = await client(app);
			subscribers[name] = channels.map((ch) => c.collect(ch, 'tick'));
			for (const col of subscribers[name]) {
				col.label = `app ${name} ${col.label}`;
				debugCollectors.push(col);
			}
			for (const ch of channels)
				await c.subscribe(ch);
		}
		// the encrypted channel of each database, on its app, authorized by its own database
		const enc = {};
		for (const [db, app, key] of [['db1', A, KA], ['db2', B, KB], ['db3', A, KC]]) {
			const c = await client(app, db);
			const raw = rawMessages(c);
			const ch = await c.subscribe(encChannel(db));
			assert.equal(ch.constructor.name, 'EncryptedChannel');
			assert.equal(Buffer.from(ch.key).toString('base64'), sharedSecret(encChannel(db), key),
				`${db}: the shared secret rtpush's auth returned is that of ${db}'s master key`);
			enc[db] = { c, raw, key, got: c.collect(encChannel(db), 'secret') };
		}

		const t0 = Date.now();
		const writes = [];
		for (const db of ['db1', 'db2', 'db3']) {
			for (let w = 0; w < WRITERS; w++) {
				writes.push((async () => {
					const c = await dbs[db].connect();
					for (let i = 1; i <= PER_WRITER; i++)
						await c.query('INSERT INTO ticks (seq, w) VALUES ($1, $2)', [w * 10000 + i, w]);
					await c.end();
				})());
			}
			writes.push((async () => {
				const c = await dbs[db].connect();
				for (let i = 1; i <= SECRETS; i++) {
					await c.query('INSERT INTO secrets (seq, owner, note) VALUES ($1, $2, $3)',
						[i, USER, `PHI-${db}-${i}`]);
				}
				await c.end();
			})());
		}
		await Promise.all(writes);

		// app A: db1's and db3's rows; app B: db2's
		const want = { A: ['db1', 'db3'], B: ['db2'] };
		for (const app of ['A', 'B']) {
			for (const col of subscribers[app])
				await col.waitFor(want[app].length * PER_WRITER, WAIT);
		}
		for (const e of Object.values(enc))
			await e.got.waitFor(SECRETS, WAIT);
		console.log(`${3 * (WRITERS * PER_WRITER + SECRETS)} events committed and received in ${Date.now() - t0} ms`);
		await sleep(1500); // anything more that would come
		for (const app of ['A', 'B']) {
			for (const [w, col] of subscribers[app].entries()) {
				const got = col.events.map((e) => e.data);
				const foreign = got.filter((d) => !want[app].includes(d.db));
				assert.deepEqual(foreign.slice(0, 5), [], `app ${app} ticks.${w}: no event of another app's database`);
				for (const db of want[app]) {
					const mine = rowsOf(col, db);
					assert.ok(mine.every((d) => d.w === w), `app ${app} ticks.${w}: only writer ${w}'s rows`);
					const committed = (await dbs[db].rows('SELECT seq FROM ticks WHERE w = $1 ORDER BY seq', [w]))
						.map((r) => r.seq);
					assert.equal(committed.length, PER_WRITER);
					assert.deepEqual(mine.map((d) => d.seq), committed,
						`app ${app} ticks.${w} from ${db}: every committed row once, in commit order`);
				}
				assert.equal(got.length, want[app].length * PER_WRITER, `app ${app} ticks.${w}: nothing else`);
			}
		}
		for (const [db, e] of Object.entries(enc)) {
			const rows = await dbs[db].rows('SELECT seq, owner, db, note FROM secrets ORDER BY seq');
			assert.deepEqual(e.got.data, rows, `${db}: its encrypted rows, decrypted, once each, in order`);
			const envelopes = e.raw.filter((m) => m.channel === encChannel(db) && m.event === 'secret');
			assert.equal(envelopes.length, SECRETS);
			for (const [i, m] of envelopes.entries()) {
				assert.deepEqual(Object.keys(m.data).sort(), ['ciphertext', 'nonce'], `${db}: soketi relays envelopes only`);
				assert.ok(!JSON.stringify(m.data).includes('PHI-'));
				assert.deepEqual(splitHistory(JSON.parse(open(m.data, sharedSecret(encChannel(db), e.key)))).data, rows[i],
					`${db}: encrypted with ${db}'s master key`);
			}
		}
	});

	test('a subscription signed by the other app\'s database is refused by soketi', async () => {
		// app B's channel of db2, signed by rtpush in db1 (app A)
		const wrongB = await client(B, 'db1');
		const e1 = await wrongB.subscribe(encChannel('db2'), 15000).then(() => null, (e) => e);
		assert.ok(e1, 'app B must refuse db1\'s signature');
		assert.equal(e1.status, 401, `refused by soketi (AuthError), not by rtpush's rules: ${e1.message}`);
		// app A's channel of db1, signed by rtpush in db2 (app B)
		const wrongA = await client(A, 'db2');
		const e2 = await wrongA.subscribe(encChannel('db1'), 15000).then(() => null, (e) => e);
		assert.ok(e2, 'app A must refuse db2\'s signature');
		assert.equal(e2.status, 401, `refused by soketi (AuthError): ${e2.message}`);
		// what db1 and db2 sign is otherwise valid: their auth answers, and each
		// app accepts its own database's signature for the same channels
		const r = await dbs.db1.one('SELECT rtpush.authorize_channel($1, $2, $3) AS r', ['1.2', encChannel('db2'), USER]);
		assert.ok(r.r.auth.startsWith(`${A.key}:`), `db1 signs with app A's key: ${r.r.auth.split(':')[0]}`);
		const r2 = await dbs.db2.one('SELECT rtpush.authorize_channel($1, $2, $3) AS r', ['1.2', encChannel('db1'), USER]);
		assert.ok(r2.r.auth.startsWith(`${B.key}:`), `db2 signs with app B's key: ${r2.r.auth.split(':')[0]}`);
		const rightB = await client(B, 'db2');
		await rightB.subscribe(encChannel('db2'), 15000);
		const rightA = await client(A, 'db1');
		await rightA.subscribe(encChannel('db1'), 15000);
	});

	test('CREATE EXTENSION in a fourth database and DROP DATABASE of another while two are busy: they lose nothing', async () => {
		const BUSY_W = 2;
		const BASE = 100000;
		const subs = {};
		// db4 gets app B by set_app right after CREATE EXTENSION, on channel ticks.9
		for (const [name, app] of [['A', A], ['B', B]]) {
			const c = await client(app);
			subs[name] = {};
			for (const w of [0, 1, 9]) {
				subs[name][w] = c.collect(`ticks.${w}`, 'tick');
				subs[name][w].label = `phase 2 app ${name} ${subs[name][w].label}`;
				debugCollectors.push(subs[name][w]);
				await c.subscribe(`ticks.${w}`);
			}
		}
		let stop = false;
		const counts = { db1: 0, db2: 0 };
		const busy = [];
		for (const db of ['db1', 'db2']) {
			for (let w = 0; w < BUSY_W; w++) {
				busy.push((async () => {
					const c = await dbs[db].connect();
					try {
						for (let i = 1; !stop; i++) {
							await c.query('INSERT INTO ticks (seq, w) VALUES ($1, $2)', [BASE + w * 10000 + i, w]);
							counts[db]++;
							await sleep(10);
						}
					} finally {
						await c.end();
					}
				})());
			}
		}
		let dropMs, t4;
		try {
			await until('db1 and db2 busy delivering', () => subs.A[0].length > 20 && subs.B[0].length > 20,
				{ timeoutMs: WAIT });

			// a fourth database: CREATE EXTENSION, its app by set_app; its rows once
			// its worker names app B (rtpush.databases)
			await pg.query('CREATE DATABASE db4');
			const db4 = await setup('db4');
			await db4.query('SELECT rtpush.set_app($1, $2, $3)', [B.appId, B.key, B.secret]);
			t4 = Date.now();
			await until('db4\'s worker on app B', async () => (await workerApps()).includes(`db4:database:${B.appId}`),
				{ timeoutMs: WAIT });
			for (let i = 1; i <= 20; i++)
				await db4.query('INSERT INTO ticks (seq, w) VALUES ($1, 9)', [i]);

			// DROP DATABASE db3 (its sessions closed first; its worker must leave at once)
			await auth.db3.close();
			delete auth.db3;
			await dbs.db3.disconnect();
			delete dbs.db3;
			await pg.database('db3', { user: 'many_app' }).disconnect();
			const td = Date.now();
			await pg.query('DROP DATABASE db3');
			dropMs = Date.now() - td;
			assert.ok(dropMs < 4000, `DROP DATABASE db3 took ${dropMs} ms while db1 and db2 were busy`);

			await subs.B[9].waitFor(20, WAIT);
			console.log(`db4: 20 events on app B ${Date.now() - t4} ms after set_app; DROP DATABASE db3 ${dropMs} ms`);
			await sleep(2000); // db1 and db2 busy a while longer
		} finally {
			stop = true;
			await Promise.allSettled(busy);
		}
		await Promise.all(busy);
		assert.ok(counts.db1 > 50 && counts.db2 > 50, `both busy: ${JSON.stringify(counts)}`);

		const want = { A: 'db1', B: 'db2' };
		for (const app of ['A', 'B']) {
			for (let w = 0; w < BUSY_W; w++) {
				const committed = (await dbs[want[app]].rows('SELECT seq FROM ticks WHERE w = $1 AND seq > $2 ORDER BY seq',
					[w, BASE])).map((r) => r.seq);
				await subs[app][w].waitFor(committed.length, WAIT).catch(() => {});
				const got = subs[app][w].events.map((e) => e.data);
				assert.deepEqual(got.filter((d) => d.db !== want[app]).slice(0, 5), [],
					`app ${app} ticks.${w}: only ${want[app]}'s events`);
				assert.deepEqual(rowsOf(subs[app][w], want[app]).map((d) => d.seq), committed,
					`app ${app} ticks.${w}: every row of ${want[app]} committed meanwhile, once, in order`);
			}
		}
		await sleep(500);
		assert.deepEqual(subs.B[9].data.map((d) => [d.db, d.seq]), [...Array(20).keys()].map((i) => ['db4', i + 1]),
			'db4: its 20 rows on app B, once each, in order');
		assert.deepEqual(subs.A[9].events.map((e) => `${e.data.db}:${e.data.seq}`), [], 'db4\'s rows never reach app A');

		const want4 = `db1:database:${A.appId},db2:database:${B.appId},db4:database:${B.appId}`;
		await until('rtpush.databases without db3', async () => await workerApps() === want4,
			{ timeoutMs: 5000 }).catch(() => {});
		assert.equal(await workerApps(), want4, 'rtpush.databases: db3 gone, db4 there on app B');
	});

	test('rtpush.reset_app(): db4 back on the cluster-wide app, for its worker and its auth', async () => {
		const db4 = dbs.db4;
		const subs = {};
		for (const [name, app] of [['A', A], ['B', B]]) {
			const c = await client(app);
			subs[name] = c.collect('ticks.8', 'tick');
			await c.subscribe('ticks.8');
		}
		await db4.query('SELECT rtpush.reset_app()');
		const r = await db4.one('SELECT source, app_id, key, secret_set FROM rtpush.app');
		assert.deepEqual(r, { source: 'cluster', app_id: A.appId, key: A.key, secret_set: true });
		const auth4 = await db4.one('SELECT rtpush.authorize_channel($1, $2, $3) AS r', ['1.2', encChannel('db4'), USER]);
		assert.ok(auth4.r.auth.startsWith(`${A.key}:`), 'db4\'s auth signs with the cluster-wide app at once');
		await until('db4\'s worker on the cluster-wide app', async () =>
			(await workerApps()).includes(`db4:cluster:${A.appId}`), { timeoutMs: WAIT });
		for (let i = 101; i <= 110; i++)
			await db4.query('INSERT INTO ticks (seq, w) VALUES ($1, 8)', [i]);
		await subs.A.waitFor(10, WAIT);
		await sleep(500);
		assert.deepEqual(subs.A.events.map((e) => e.data.seq), [...Array(10).keys()].map((i) => 101 + i));
		assert.equal(subs.B.length, 0, 'nothing more on app B');
	});

	// set_app() "takes effect after the commit": a row committed after it
	// returned must go to the new app, also when the worker has just started.
	test('rows committed right after set_app() on a just-started worker reach the new app only', async () => {
		const subs = {};
		for (const [name, app] of [['A', A], ['B', B]]) {
			const c = await client(app);
			subs[name] = c.collect('ticks.7', 'tick');
			subs[name].label = `fresh worker app ${name} ${subs[name].label}`;
			debugCollectors.push(subs[name]);
			await c.subscribe('ticks.7');
		}
		await pg.query('CREATE DATABASE db5');
		const db5 = await setup('db5');
		await db5.query('SELECT rtpush.set_app($1, $2, $3)', [B.appId, B.key, B.secret]);
		for (let i = 1; i <= 30; i++)
			await db5.query('INSERT INTO ticks (seq, w) VALUES ($1, 7)', [i]);
		await until('db5\'s 30 rows on either app', () => subs.A.length + subs.B.length >= 30, { timeoutMs: WAIT })
			.catch(() => {});
		await sleep(500);
		assert.deepEqual(subs.A.events.map((e) => `${e.data.db}:${e.data.seq}`), [],
			'no row committed after set_app() reaches the previous (cluster-wide) app');
		assert.deepEqual(subs.B.data.map((d) => d.seq), [...Array(30).keys()].map((i) => i + 1),
			'all 30 on app B, in order');
	});

	// the same on a warm, busy worker: rows whose INSERT began after set_app()
	// or reset_app() returned go to the app then in force
	test('rows written while set_app() and reset_app() switch db4 back and forth each reach the app in force when written', async () => {
		const db4 = dbs.db4;
		const subs = {};
		for (const [name, app] of [['A', A], ['B', B]]) {
			const c = await client(app);
			subs[name] = c.collect('ticks.6', 'tick');
			await c.subscribe('ticks.6');
		}
		const w = await db4.connect();
		const began = new Map();
		const acked = new Map();
		let stop = false;
		let seq = 1000;
		const writer = (async () => {
			while (!stop) {
				const n = ++seq;
				began.set(n, Date.now());
				await w.query('INSERT INTO ticks (seq, w) VALUES ($1, 6)', [n]);
				acked.set(n, Date.now());
				await sleep(2);
			}
		})();
		const switches = []; // {app, from, at}: when each set_app()/reset_app() was called and returned
		try {
			for (let k = 0; k < 10; k++) {
				await sleep(300);
				const toB = k % 2 === 0;
				const from = Date.now();
				await db4.query(toB ? 'SELECT rtpush.set_app($1, $2, $3)' : 'SELECT rtpush.reset_app()',
					toB ? [B.appId, B.key, B.secret] : []);
				switches.push({ app: toB ? 'B' : 'A', from, at: Date.now() });
			}
			await sleep(300);
		} finally {
			stop = true;
			await writer;
			await w.end();
		}
		const got = { A: new Set(subs.A.events.map((e) => e.data.seq)), B: new Set(subs.B.events.map((e) => e.data.seq)) };
		await until('every row on one app', () => got.A.size + got.B.size >= seq - 1000, { timeoutMs: WAIT }).catch(() => {});
		await sleep(500);
		// A row's app is known when its INSERT began after switch k returned and
		// was acknowledged 100 ms before switch k + 1 was called (still queued
		// at a switch, a row goes with the next app: allowed).
		const wrong = [];
		let judged = 0;
		for (let n = 1001; n <= seq; n++) {
			const k = switches.findLastIndex((x) => x.at < began.get(n));
			if (k < 0 || (switches[k + 1] && acked.get(n) > switches[k + 1].from - 100))
				continue;
			judged++;
			const app = switches[k].app;
			if (!got[app].has(n)) {
				wrong.push(`${n} (${began.get(n) - switches[k].at} ms after switch ${k} to app ${app} returned; ` +
					`got by ${got.A.has(n) ? 'A' : ''}${got.B.has(n) ? 'B' : ''})`);
			}
		}
		console.log(`${seq - 1000} rows across 10 switches, ${judged} judged`);
		assert.ok(judged >= 100, `${judged} rows judged`);
		assert.deepEqual(wrong, [], 'every row reaches the app in force when its INSERT began');
	});
});
