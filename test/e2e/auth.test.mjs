// auth.test.mjs: subscriber authorization end to end.  Real pusher-js
// clients subscribe through examples/auth-server (which only calls
// rtpush.authorize_channel / client_config / handle_webhook) to private and
// presence channels on a real soketi, which checks every signature; soketi's
// webhooks land in rtpush.presence through the same server.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startSoketi } from './lib/soketi.mjs';
import { startPostgres } from './lib/pg.mjs';
import { pusherClient } from './lib/clients.mjs';
import { until, freePort } from './lib/cleanup.mjs';
import { PusherServer } from './lib/deps.mjs';
import { createAuthServer } from '../../examples/auth-server/server.mjs';

const SCHEMA = `
CREATE TABLE app_sessions (token text PRIMARY KEY, user_id text NOT NULL, user_info jsonb);
INSERT INTO app_sessions VALUES
  ('tok-patient', '1', '{"name": "Pat Patient", "role": "patient"}'),
  ('tok-doctor', '12', '{"name": "Dr. Ann Lee", "role": "doctor"}'),
  ('tok-other', '7', '{"name": "Other Patient", "role": "patient"}');
CREATE TABLE conversation_participants (conversation_id int, user_id text);
INSERT INTO conversation_participants VALUES (5, '1'), (5, '12'), (6, '7'), (6, '12');
CREATE FUNCTION is_participant(user_id text, captures jsonb) RETURNS boolean
  LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM conversation_participants p
    WHERE p.conversation_id::text = captures->>'conversation_id' AND p.user_id = $1) $$;
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
  ('private-user.{user_id}.*', 'owner'),
  ('private-conversation.{conversation_id}', 'is_participant'),
  ('presence-conversation.{conversation_id}', 'is_participant');
`;

describe('subscriber authorization through rtpush on soketi', () => {
	let pg, soketi, authServer, webhookPort;
	const clients = [];

	// pusher-js's own ajax authorizer, configured as the guide's frontend does
	// (authEndpoint + bearer header), so a refusal surfaces with its HTTP status
	const client = async (token) => {
		const c = await pusherClient({
			soketi,
			pusherOptions: {
				channelAuthorization: {
					endpoint: `${authServer.url}/api/v1/broadcasting/auth`,
					transport: 'ajax',
					headers: { authorization: `Bearer ${token}` },
				},
			},
		});
		clients.push(c);
		return c;
	};

	before(async () => {
		pg = await startPostgres();
		await pg.query(SCHEMA);
		webhookPort = await freePort();
		authServer = await createAuthServer({ pool: { query: (...a) => pg.query(...a) }, port: webhookPort });
		soketi = await startSoketi({ webhookUrl: `${authServer.url}/api/v1/broadcasting/webhook` });
		await pg.set(soketi.rtpushSettings());
	});

	after(async () => {
		for (const c of clients)
			await c.disconnect();
		await authServer?.close();
		await soketi?.destroy();
		await pg?.destroy();
	});

	test('the config endpoint tells the frontend how to connect, never the secret', async () => {
		const r = await fetch(`${authServer.url}/api/v1/broadcasting/config`, {
			headers: { authorization: 'Bearer tok-patient' },
		});
		assert.equal(r.status, 200);
		const text = await r.text();
		assert.ok(!text.includes(soketi.secret), 'config must not contain the secret');
		const { status, data } = JSON.parse(text);
		assert.equal(status, 'success');
		assert.equal(data.key, soketi.key);
		assert.equal(data.user_id, '1');
		assert.equal(data.wsHost, soketi.host);
		assert.equal(data.wsPort, soketi.port);
		assert.equal(data.forceTLS, false);
		assert.equal(data.auth_endpoint, '/api/v1/broadcasting/auth');
		const anon = await fetch(`${authServer.url}/api/v1/broadcasting/config`);
		assert.equal(anon.status, 401);
	});

	// A TCP forwarder stands in for the TLS proxy in front of soketi's
	// websockets; the worker posts to soketi's HTTP API directly.  A pusher-js
	// client configured from client_config() alone connects through the proxy
	// and receives what a row write sends.
	test('clients connect where rtpush.ws_host / ws_port say, apart from the API the worker posts to', async () => {
		const sockets = new Set();
		let connections = 0;
		const proxy = net.createServer((down) => {
			connections++;
			const up = net.connect(soketi.port, soketi.host);
			for (const s of [down, up]) {
				sockets.add(s);
				s.on('error', () => { down.destroy(); up.destroy(); });
			}
			down.pipe(up);
			up.pipe(down);
		});
		await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		const proxyPort = proxy.address().port;
		try {
			await pg.set({ 'rtpush.ws_host': '127.0.0.1', 'rtpush.ws_port': proxyPort, 'rtpush.ws_tls': 'off' });
			const r = await fetch(`${authServer.url}/api/v1/broadcasting/config`, {
				headers: { authorization: 'Bearer tok-patient' },
			});
			const { data } = await r.json();
			assert.deepEqual([data.wsHost, data.wsPort, data.wssPort, data.forceTLS], ['127.0.0.1', proxyPort, proxyPort, false]);
			const c = await pusherClient({ soketi, pusherOptions: {
				key: data.key, wsHost: data.wsHost, wsPort: data.wsPort, wssPort: data.wssPort, forceTLS: data.forceTLS } });
			clients.push(c);
			await c.connected();
			assert.equal(connections, 1, 'the client came through the proxy');
			const channel = `e2e-proxy.${process.pid}`;
			await c.subscribe(channel);
			const col = c.collect(channel, 'evt');
			await pg.query(`SELECT rtpush.send($1::text, 'evt', '{"via": "proxy"}')`, [channel]);
			await col.waitFor(1, 15000);
			assert.deepEqual(col.data, [{ via: 'proxy' }]);
			await c.disconnect();
		} finally {
			await pg.set({ 'rtpush.ws_host': null, 'rtpush.ws_port': null, 'rtpush.ws_tls': null });
			for (const s of sockets)
				s.destroy();
			await new Promise((resolve) => proxy.close(resolve));
		}
	});

	test('own private channel: soketi accepts rtpush\'s signature and delivers', async () => {
		const doctor = await client('tok-doctor');
		await doctor.subscribe('private-user.12.notifications');
		const col = doctor.collect('private-user.12.notifications', 'notification-created');
		const server = await soketi.server();
		await server.trigger('private-user.12.notifications', 'notification-created', { id: 1 });
		await col.waitFor(1, 15000);
		assert.deepEqual(col.data, [{ id: 1 }]);
	});

	test('user 1 cannot subscribe to private-user.12.notifications: subscription_error 403', async () => {
		const patient = await client('tok-patient');
		for (const name of ['private-user.12.notifications', 'private-user.12.appointments',
			'private-user.1x.notifications', 'private-conversation.6']) {
			const err = await patient.subscribe(name, 15000).then(() => null, (e) => e);
			assert.ok(err, `${name} must be refused`);
			assert.equal(err.status, 403, `${name}: ${err.message}`);
		}
		// and the same user still gets their own
		await patient.subscribe('private-user.1.notifications');
	});

	test('an unknown session gets 401, a malformed channel 400', async () => {
		const post = (token, body) => fetch(`${authServer.url}/api/v1/broadcasting/auth`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', ...(token ? { authorization: `Bearer ${token}` } : {}) },
			body: new URLSearchParams(body).toString(),
		});
		assert.equal((await post(null, { socket_id: '1.1', channel_name: 'private-user.1.x' })).status, 401);
		assert.equal((await post('nope', { socket_id: '1.1', channel_name: 'private-user.1.x' })).status, 401);
		assert.equal((await post('tok-patient', { socket_id: '1.1', channel_name: 'private-user.1.%2E' })).status, 400);
		assert.equal((await post('tok-patient', { socket_id: '1.1:x', channel_name: 'private-user.1.x' })).status, 400);
		assert.equal((await post('tok-patient', { socket_id: '1.1', channel_name: 'user.1.x' })).status, 400);
	});

	test('a signature soketi does not trust is refused by soketi itself', async () => {
		const forger = new PusherServer({ appId: soketi.appId, key: soketi.key, secret: 'not-the-secret' });
		const c = await pusherClient({
			soketi, pusherOptions: {
				channelAuthorization: {
					customHandler: ({ socketId, channelName }, cb) => cb(null, forger.authorizeChannel(socketId, channelName)),
				},
			},
		});
		clients.push(c);
		await assert.rejects(c.subscribe('private-user.1.notifications', 15000), /failed/);
	});

	test('presence members, client-typing between participants, and presence webhooks', async () => {
		const patient = await client('tok-patient');
		const doctor = await client('tok-doctor');

		const pch = await patient.subscribe('presence-conversation.5');
		const me = pch.members.me;
		assert.equal(me.id, '1');
		assert.deepEqual(me.info, { name: 'Pat Patient', role: 'patient' });
		const added = new Promise((resolve) => pch.bind('pusher:member_added', resolve));
		const dch = await doctor.subscribe('presence-conversation.5');
		const member = await added;
		assert.equal(member.id, '12');
		assert.deepEqual(member.info, { name: 'Dr. Ann Lee', role: 'doctor' });
		const ids = [];
		dch.members.each((m) => ids.push(m.id));
		assert.deepEqual(ids.sort(), ['1', '12']);

		// the guide's typing indicator: a client event, no database row
		const ptc = await patient.subscribe('private-conversation.5');
		await doctor.subscribe('private-conversation.5');
		const typing = doctor.collect('private-conversation.5', 'client-typing');
		assert.ok(ptc.trigger('client-typing', { user_id: '1', typing: true }));
		await typing.waitFor(1, 15000);
		assert.deepEqual(typing.data, [{ user_id: '1', typing: true }]);

		// soketi's webhooks record both as online
		await until('both members online in rtpush.presence', async () => {
			const r = await pg.rows(`SELECT user_id FROM rtpush.presence
				WHERE channel = 'presence-conversation.5' AND online ORDER BY user_id`);
			return r.map((x) => x.user_id).join(',') === '1,12';
		}, { timeoutMs: 30000 });
		const occ = await pg.one("SELECT occupied FROM rtpush.channel_occupancy WHERE channel = 'presence-conversation.5'");
		assert.equal(occ?.occupied, true);

		// the doctor leaves: member_removed makes them offline, with last seen
		doctor.unsubscribe('presence-conversation.5');
		await until('the doctor offline in rtpush.presence', async () => {
			const r = await pg.one(`SELECT online, last_seen FROM rtpush.presence
				WHERE channel = 'presence-conversation.5' AND user_id = '12'`);
			return r && r.online === false && r.last_seen;
		}, { timeoutMs: 30000 });
		const view = await pg.rows('SELECT user_id, online FROM rtpush.user_presence ORDER BY user_id');
		assert.deepEqual(view, [{ user_id: '1', online: true }, { user_id: '12', online: false }]);
	});

	test('a forged webhook is refused (401) and records nothing', async () => {
		const before = await pg.one('SELECT count(*)::int AS n, max(event_ms) AS m FROM rtpush.presence');
		const body = JSON.stringify({ time_ms: Date.now() + 60000, events: [
			{ name: 'member_added', channel: 'presence-conversation.5', user_id: 'intruder' }] });
		const r = await fetch(`${authServer.url}/api/v1/broadcasting/webhook`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-pusher-key': soketi.key, 'x-pusher-signature': 'f'.repeat(64) },
			body,
		});
		assert.equal(r.status, 401);
		const after = await pg.one('SELECT count(*)::int AS n, max(event_ms) AS m FROM rtpush.presence');
		assert.deepEqual(after, before);
	});
});
