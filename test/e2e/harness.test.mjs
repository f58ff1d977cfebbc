// harness.test.mjs: the end-to-end harness checks itself with real parts
// only (no rtpush needed): soketi + pusher-js + the official `pusher`
// library, laravel-echo, the fault-injecting endpoint, the TCP gate, and a
// throwaway PostgreSQL cluster.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startSoketi } from './lib/soketi.mjs';
import { pusherClient, echoClient } from './lib/clients.mjs';
import { startFaultServer, startGate } from './lib/faults.mjs';
import { startPostgres } from './lib/pg.mjs';
import { PusherServer } from './lib/deps.mjs';

describe('soketi, pusher-js and the official pusher library', () => {
	let soketi, client, server;
	before(async () => {
		soketi = await startSoketi();
		client = await pusherClient({ soketi });
		server = await soketi.server();
	});
	after(async () => {
		await client?.disconnect();
		await soketi?.destroy();
	});

	test('trigger and triggerBatch arrive in order on a private channel', async () => {
		await client.subscribe('private-harness.1');
		const col = client.collect('private-harness.1', 'seq');
		for (let i = 0; i < 5; i++)
			assert.equal((await server.trigger('private-harness.1', 'seq', { i })).status, 200);
		const batch = [];
		for (let i = 5; i < 15; i++)
			batch.push({ channel: 'private-harness.1', name: 'seq', data: JSON.stringify({ i }) });
		assert.equal((await server.triggerBatch(batch)).status, 200);
		await col.waitFor(15, 30000);
		await col.settle(300);
		assert.deepEqual(col.data, Array.from({ length: 15 }, (_, i) => ({ i })));
	});

	test('a public channel gets plain string data; the other channel gets nothing', async () => {
		await client.subscribe('harness-public');
		await client.subscribe('private-harness.other');
		const pub = client.collect('harness-public', 'msg');
		const other = client.collect('private-harness.other', 'msg');
		await server.trigger('harness-public', 'msg', 'just text');
		await pub.waitFor(1, 30000);
		await pub.settle(300);
		assert.deepEqual(pub.data, ['just text']);
		assert.equal(other.length, 0);
	});

	test('a wrong secret is refused by soketi', async () => {
		const bad = await soketi.server({ secret: 'not-the-secret' });
		let status;
		let body;
		try {
			const r = await bad.trigger('harness-public', 'msg', 'x');
			status = r.status;
			body = await r.text();
		} catch (e) {
			status = e.status;
			body = e.body;
		}
		// soketi answers 401, or 200 with {"error": ..., "code": 401}
		assert.ok(status === 401 || /401/.test(body), `status ${status}, body ${body}`);
	});

	test('a subscription the authorizer refuses fails with subscription_error', async () => {
		const refusing = await pusherClient({
			soketi, pusherOptions: {
				channelAuthorization: {
					customHandler: (_p, cb) => cb(Object.assign(new Error('no'), { status: 403 }), null),
				},
			},
		});
		try {
			await assert.rejects(refusing.subscribe('private-harness.denied', 10000), /failed/);
		} finally {
			await refusing.disconnect();
		}
	});

	test('laravel-echo receives private and public events', async () => {
		const echo = await echoClient({ soketi });
		try {
			const priv = echo.listen('private', 'conversation.5', '.message-sent');
			const pub = echo.listen('channel', 'doctor.3.availability', '.doctor-availability-changed');
			await echo.client.subscribe('private-conversation.5');
			await echo.client.subscribe('doctor.3.availability');
			await server.trigger('private-conversation.5', 'message-sent', { id: 1 });
			await server.trigger('doctor.3.availability', 'doctor-availability-changed', { available: true });
			await priv.waitFor(1, 30000);
			await pub.waitFor(1, 30000);
			assert.deepEqual(priv.data, [{ id: 1 }]);
			assert.deepEqual(pub.data, [{ available: true }]);
		} finally {
			await echo.disconnect();
		}
	});

	test('soketi restarts on the same port and a new client receives again', async () => {
		const oldPid = soketi.pid;
		await soketi.restart();
		assert.notEqual(soketi.pid, oldPid);
		const c2 = await pusherClient({ soketi });
		try {
			await c2.subscribe('private-harness.after');
			const col = c2.collect('private-harness.after', 'e');
			await (await soketi.server()).trigger('private-harness.after', 'e', { ok: 1 });
			await col.waitFor(1, 30000);
			assert.deepEqual(col.data, [{ ok: 1 }]);
		} finally {
			await c2.disconnect();
		}
	});
});

describe('fault server', () => {
	let f, lib;
	before(async () => {
		f = await startFaultServer();
		lib = new PusherServer({ appId: f.appId, key: f.key, secret: f.secret, host: f.host, port: String(f.port) });
	});
	after(async () => f?.stop());

	const post = (path, body, query = '') => fetch(`${f.url}${path}${query}`, {
		method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
	});

	test('records signed requests from the official library and verifies their signatures', async () => {
		f.reset();
		await lib.trigger(['a', 'b'], 'evt', { x: 1 });
		await lib.triggerBatch([{ channel: 'c', name: 'e1', data: '"s"' }, { channel: 'd', name: 'e2', data: '{}' }]);
		assert.equal(f.requests.length, 2);
		assert.equal(f.requests[0].path, `/apps/${f.appId}/events`);
		assert.equal(f.requests[0].signatureError, null);
		assert.equal(f.requests[1].path, `/apps/${f.appId}/batch_events`);
		assert.equal(f.requests[1].signatureError, null);
		assert.deepEqual(f.delivered().map((e) => [e.name, e.channels, e.data]),
			[['evt', ['a', 'b'], { x: 1 }], ['e1', ['c'], 's'], ['e2', ['d'], {}]]);
	});

	test('a bad signature gets 401 and is not counted as delivered', async () => {
		f.reset();
		const bad = new PusherServer({ appId: f.appId, key: f.key, secret: 'wrong', host: f.host, port: String(f.port) });
		await assert.rejects(bad.trigger('a', 'evt', {}), (e) => e.status === 401);
		assert.match(f.requests[0].signatureError, /does not match/);
		assert.equal(f.delivered().length, 0);
		const r = await post(`/apps/${f.appId}/events`, { name: 'x', channels: ['a'], data: '{}' });
		assert.equal(r.status, 401);
		assert.match(f.requests[1].signatureError, /no auth_signature/);
	});

	test('status rules: times, fraction, when, Retry-After, 413', async () => {
		f.reset();
		f.plan([
			{ when: (r) => r.body.includes('poison'), status: 413, body: '{"error":"too big"}' },
			{ times: 2, status: 429, headers: { 'retry-after': '2' } },
			{ times: 1, status: 500, body: 'boom' },
		]);
		const send = (data) => lib.trigger('ch', 'e', data).then((r) => r.status, (e) => e.status);
		assert.equal(await send({ p: 'poison' }), 413);
		const r = await fetch(`${f.url}/apps/${f.appId}/events`, { method: 'POST', body: '{}' });
		assert.equal(r.status, 429);
		assert.equal(r.headers.get('retry-after'), '2');
		assert.equal(await send({}), 429);
		assert.equal(await send({}), 500);
		assert.equal(await send({}), 200);
		assert.equal(await send({ p: 'poison' }), 413);
		assert.equal(f.delivered().length, 1);

		f.plan([{ fraction: 0.5, status: 500 }]);
		const statuses = [];
		for (let i = 0; i < 60; i++)
			statuses.push(await send({ i }));
		const fails = statuses.filter((s) => s === 500).length;
		assert.ok(fails > 5 && fails < 55, `${fails} of 60 failed with fraction 0.5`);
		assert.equal(statuses.filter((s) => s === 200).length, 60 - fails);
	});

	test('slow, hang and reset', async () => {
		f.reset();
		f.plan([{ times: 1, delayMs: 400 }, { times: 1, hang: true }, { times: 1, reset: true }]);
		const t0 = performance.now();
		assert.equal((await post(`/apps/${f.appId}/events`, {})).status, 401); // slow, then unsigned
		assert.ok(performance.now() - t0 >= 390);
		await assert.rejects(fetch(`${f.url}/apps/${f.appId}/events`,
			{ method: 'POST', body: '{}', signal: AbortSignal.timeout(500) }), /abort|timeout/i);
		await assert.rejects(post(`/apps/${f.appId}/events`, {}), /fetch failed/);
		assert.deepEqual(f.requests.map((r) => r.action), ['rule 0', 'hang', 'reset']);
		assert.equal((await post('/nope', {})).status, 404);
	});

	test('notes overlapping requests for the same channel', async () => {
		f.reset();
		f.plan([{ times: 2, delayMs: 300 }]);
		await Promise.all([lib.trigger('same', 'e', 1), lib.trigger('same', 'e', 2), lib.trigger('other', 'e', 3)]);
		assert.equal(f.overlaps.length, 1);
		assert.equal(f.overlaps[0].channel, 'same');
	});
});

describe('TCP gate', () => {
	test('passes traffic when open, refuses it when closed', async () => {
		const f = await startFaultServer();
		const g = await startGate({ targetPort: f.port });
		try {
			const url = `http://127.0.0.1:${g.port}/apps/${f.appId}/events`;
			assert.equal((await fetch(url, { method: 'POST', body: '{}' })).status, 401);
			await g.close();
			await assert.rejects(fetch(url, { method: 'POST', body: '{}' }), /fetch failed/);
			await g.open();
			assert.equal((await fetch(url, { method: 'POST', body: '{}' })).status, 401);
			assert.equal(f.requests.length, 2);
		} finally {
			await g.stop();
			await f.stop();
		}
	});
});

describe('throwaway PostgreSQL', () => {
	test('starts, answers, reloads, restarts and is removed', async () => {
		const pg = await startPostgres({ preload: false, dbname: 'harness_db', conf: { work_mem: '8MB' } });
		let dir;
		try {
			dir = pg.dir;
			assert.equal((await pg.one('SELECT current_database() AS d')).d, 'harness_db');
			assert.equal((await pg.one('SHOW work_mem')).work_mem, '8MB');
			assert.equal((await pg.psql('SELECT 40 + 2')).trim(), '42');
			await pg.set({ work_mem: '16MB' }, { reload: true });
			const c = await pg.connect();
			assert.equal((await c.query('SHOW work_mem')).rows[0].work_mem, '16MB');
			await c.end();
			const pid = pg.postmasterPid();
			await pg.restart('immediate');
			assert.notEqual(pg.postmasterPid(), pid);
			assert.equal((await pg.one('SELECT 1 AS one')).one, 1);
		} finally {
			await pg.destroy();
		}
		assert.equal(fs.existsSync(dir), false);
	});
});
