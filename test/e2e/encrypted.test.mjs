// encrypted.test.mjs: end-to-end encrypted channels (issue 6).
//
// Part 1, soketi: a real PostgreSQL with rtpush preloaded and a master key
// delivers to a real soketi.  Real pusher-js clients subscribe to
// private-encrypted- channels through examples/auth-server (that is,
// rtpush.authorize_channel, which returns the channel's shared_secret).  In
// Node, require('pusher-js') is already pusher-js's encryption-enabled build
// (dist/node/pusher.js is built from src/core/pusher-with-encryption with its
// tweetnacl); 'pusher-js/with-encryption' is the browser build and does not
// load in Node.  The subscriber must receive exactly the committed rows,
// decrypted; what soketi forwards is only the {"nonce","ciphertext"}
// envelope; a client given a wrong shared secret gets nothing (pusher-js
// logs the decryption failure); after a master key rotation pusher-js
// fetches the new secret through rtpush's auth and reads on.
//
// Part 2, recording endpoint (lib/faults.mjs): the HTTP bodies rtpush
// sends.  No plaintext of an encrypted event appears in any of them; data
// is the JSON string {"nonce","ciphertext"} that tweetnacl opens with
// SHA256(channel || master key) computed here independently, giving back
// the committed data; every event has a fresh nonce; the official `pusher`
// library (encryptionMasterKeyBase64) produces the same envelope shape and
// the same shared secrets; removing the key after capture dead-letters the
// event instead of sending it in plaintext.
//
// Part 3: the telemedicine catalogue (extension rtpush_telemedicine, created
// by examples/telemedicine/schema.sql) attached with encrypted => true, heard
// through laravel-echo's Echo.encryptedPrivate() as the guide's app would.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startPostgres } from './lib/pg.mjs';
import { startSoketi } from './lib/soketi.mjs';
import fs from 'node:fs';
import { pusherClient, echoClient, rawMessages } from './lib/clients.mjs';
import { startFaultServer } from './lib/faults.mjs';
import { until, sleep } from './lib/cleanup.mjs';
import { PusherClient, PusherServer } from './lib/deps.mjs';
import { createAuthServer } from '../../examples/auth-server/server.mjs';
import { splitHistory } from './lib/history.mjs';
import { newKey, sharedSecret, open } from './lib/envelope.mjs';


const WAIT = 60000;
const TUNING = {
	'rtpush.poll_interval': 500,
	'rtpush.retry_base': 50,
	'rtpush.retry_max': 1000,
	'rtpush.connect_timeout': 2000,
	'rtpush.request_timeout': 3000,
};


// pusher-js's own log lines (Pusher.log is global to the process).
const pusherLog = [];
PusherClient.log = (msg) => pusherLog.push(String(msg));

const SCHEMA = `
CREATE TABLE app_sessions (token text PRIMARY KEY, user_id text NOT NULL, user_info jsonb);
INSERT INTO app_sessions VALUES ('tok-7', '7', NULL), ('tok-8', '8', NULL), ('tok-3', '3', NULL);
CREATE TABLE prescriptions (
  id int PRIMARY KEY, patient_id int NOT NULL, doctor_id int NOT NULL,
  medication text NOT NULL, dosage text, notes jsonb, updated_at timestamptz DEFAULT '2024-05-02 10:31+00');
INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
  ('private-encrypted-user.{user_id}.*', 'owner'),
  ('private-doctor.{user_id}.*', 'owner');
SELECT rtpush.attach('prescriptions', 'prescription-updated',
  ARRAY['private-encrypted-user.{patient_id}.prescriptions', 'private-doctor.{doctor_id}.prescriptions']);
`;

describe('encrypted channels on soketi with pusher-js subscribers', () => {
	let pg, soketi, authServer, master;
	const clients = [];

	// pusher-js's ajax authorizer against the example auth server, as the guide's frontend
	const client = async (token, extra = {}) => {
		const c = await pusherClient({
			soketi,
			pusherOptions: {
				channelAuthorization: {
					endpoint: `${authServer.url}/api/v1/broadcasting/auth`,
					transport: 'ajax',
					headers: { authorization: `Bearer ${token}` },
				},
				...extra,
			},
		});
		clients.push(c);
		return c;
	};

	const committedRows = (ids) => pg.rows(`SELECT row_to_json(p) AS r
		FROM unnest($1::int[]) WITH ORDINALITY AS u(id, o) JOIN prescriptions p USING (id) ORDER BY o`,
	[ids]).then((rs) => rs.map((x) => x.r));

	before(async () => {
		master = newKey();
		soketi = await startSoketi();
		pg = await startPostgres({
			conf: { ...soketi.rtpushSettings(), ...TUNING, 'rtpush.encryption_master_key': master },
		});
		await pg.query(SCHEMA);
		authServer = await createAuthServer({ pool: { query: (...a) => pg.query(...a) } });
	});

	after(async () => {
		for (const c of clients)
			await c.disconnect();
		await authServer?.close();
		await soketi?.destroy();
		await pg?.destroy();
	});

	test('pusher-js in Node is the encryption-enabled build', () => {
		const p = new PusherClient('k', { cluster: 'mt1', wsHost: '127.0.0.1', wsPort: 1, enabledTransports: ['ws'] });
		try {
			assert.equal(typeof p.config.nacl?.secretbox?.open, 'function');
		} finally {
			p.disconnect();
		}
	});

	test('the patient receives the committed rows decrypted; soketi only forwards ciphertext', async () => {
		const patient = await client('tok-7');
		const doctor = await client('tok-3');
		const raw = rawMessages(patient);
		const ch = await patient.subscribe('private-encrypted-user.7.prescriptions');
		assert.equal(ch.constructor.name, 'EncryptedChannel');
		assert.equal(Buffer.from(ch.key).toString('base64'),
			sharedSecret('private-encrypted-user.7.prescriptions', master),
			'pusher-js holds the shared secret rtpush\'s auth returned');
		await doctor.subscribe('private-doctor.3.prescriptions');
		const got = patient.collect('private-encrypted-user.7.prescriptions', 'prescription-updated');
		const docGot = doctor.collect('private-doctor.3.prescriptions', 'prescription-updated');

		await pg.query(`INSERT INTO prescriptions (id, patient_id, doctor_id, medication, dosage, notes) VALUES
			(1, 7, 3, 'Amoxicillin-PHI-a1', '500 mg', '{"allergy": "penicillin? no", "q": "\\"quoted\\" \\\\ back"}'),
			(2, 7, 3, 'Metformin-PHI-b2 — 日本語 🎉', '850 mg twice daily', NULL)`);
		await pg.query("UPDATE prescriptions SET dosage = '250 mg', notes = '[1, {\"x\": null}]' WHERE id = 1");
		// another patient's row: not on this channel
		await pg.query("INSERT INTO prescriptions (id, patient_id, doctor_id, medication) VALUES (3, 8, 3, 'Other-PHI-c3')");

		await got.waitFor(3, WAIT);
		await docGot.waitFor(4, WAIT);
		const rows = await committedRows([1, 2, 1]);
		// the UPDATE's row is the current row 1; the INSERT's was before it
		rows[0] = { ...rows[0], dosage: '500 mg', notes: { allergy: 'penicillin? no', q: '"quoted" \\ back' } };
		assert.deepEqual(got.data, rows);
		await got.settle(1000);
		assert.equal(got.length, 3, 'nothing else arrives on the patient\'s channel');
		assert.deepEqual(docGot.data.map((d) => d.id), [1, 2, 1, 3], 'the plain channel beside it still gets every row');

		// what soketi sent over the patient's websocket: envelopes only
		const encEvents = raw.filter((m) => m.channel === 'private-encrypted-user.7.prescriptions'
			&& m.event === 'prescription-updated');
		assert.equal(encEvents.length, 3);
		for (const [i, m] of encEvents.entries()) {
			assert.deepEqual(Object.keys(m.data).sort(), ['ciphertext', 'nonce']);
			const text = JSON.stringify(m.data);
			for (const marker of ['PHI', 'Amoxicillin', 'Metformin', '500 mg', 'penicillin'])
				assert.ok(!text.includes(marker), `soketi saw "${marker}" in ${text}`);
			assert.deepEqual(splitHistory(JSON.parse(open(m.data, sharedSecret(m.channel, master)))).data, rows[i]);
		}
	});

	test('a client with a wrong shared secret reads nothing; pusher-js reports the decryption failure', async () => {
		const channel = 'private-encrypted-user.8.prescriptions';
		const wrongKey = newKey();
		let authCalls = 0;
		// a real, valid auth signature from rtpush (soketi accepts the
		// subscription) but the shared secret derived from another master key
		const thief = await pusherClient({
			soketi,
			pusherOptions: {
				channelAuthorization: {
					customHandler: async ({ socketId, channelName }, cb) => {
						authCalls++;
						try {
							const r = await pg.one('SELECT rtpush.authorize_channel($1, $2, $3) AS r',
								[socketId, channelName, '8']);
							cb(null, { ...r.r, shared_secret: sharedSecret(channelName, wrongKey) });
						} catch (e) {
							cb(e, null);
						}
					},
				},
			},
		});
		clients.push(thief);
		const owner = await client('tok-8');
		const raw = rawMessages(thief);
		await thief.subscribe(channel);
		await owner.subscribe(channel);
		const stolen = thief.collect(channel, 'prescription-updated');
		const mine = owner.collect(channel, 'prescription-updated');
		const logFrom = pusherLog.length;

		await pg.query("INSERT INTO prescriptions (id, patient_id, doctor_id, medication) VALUES (20, 8, 4, 'Secret-PHI-d4')");
		await mine.waitFor(1, WAIT);
		assert.equal(mine.data[0].medication, 'Secret-PHI-d4');
		await until('pusher-js to give up decrypting', () =>
			pusherLog.slice(logFrom).some((l) => /Failed to decrypt event with new key/.test(l)), { timeoutMs: 15000 });
		await stolen.settle(1000);
		assert.equal(stolen.length, 0, 'the wrong key delivers no event');
		assert.ok(pusherLog.slice(logFrom).some((l) => /Failed to decrypt an event/.test(l)));
		assert.ok(authCalls >= 2, 'pusher-js asked for the key again after the failure');
		// it did receive the ciphertext, which its key cannot open
		const env = raw.find((m) => m.channel === channel && m.event === 'prescription-updated');
		assert.ok(env, 'soketi delivered the envelope to the thief');
		assert.equal(open(env.data, sharedSecret(channel, wrongKey)), null);
		assert.equal(JSON.parse(open(env.data, sharedSecret(channel, master))).medication, 'Secret-PHI-d4');
	});

	test('another user\'s encrypted channel is refused by the rules (no shared secret handed out)', async () => {
		const other = await client('tok-8');
		const err = await other.subscribe('private-encrypted-user.7.prescriptions', 15000).then(() => null, (e) => e);
		assert.ok(err, 'must be refused');
		assert.equal(err.status, 403);
		const r = await fetch(`${authServer.url}/api/v1/broadcasting/auth`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer tok-8' },
			body: new URLSearchParams({ socket_id: '1.2', channel_name: 'private-encrypted-user.7.prescriptions' }).toString(),
		});
		assert.equal(r.status, 403);
		assert.ok(!(await r.text()).includes('shared_secret'));
	});

	test('after a master key rotation pusher-js fetches the new secret through rtpush and reads on', async () => {
		const channel = 'private-encrypted-user.7.prescriptions';
		const patient = await client('tok-7');
		const ch = await patient.subscribe(channel);
		const oldSecret = Buffer.from(ch.key).toString('base64');
		const got = patient.collect(channel, 'prescription-updated');
		const logFrom = pusherLog.length;

		master = newKey();
		await pg.set({ 'rtpush.encryption_master_key': master });
		await pg.query("INSERT INTO prescriptions (id, patient_id, doctor_id, medication) VALUES (30, 7, 3, 'Rotated-PHI-e5')");
		await got.waitFor(1, WAIT);
		assert.deepEqual(got.data, await committedRows([30]));
		const newSecret = Buffer.from(ch.key).toString('base64');
		assert.notEqual(newSecret, oldSecret);
		assert.equal(newSecret, sharedSecret(channel, master));
		assert.ok(pusherLog.slice(logFrom).some((l) => /Failed to decrypt an event/.test(l)),
			'the first attempt failed with the old secret');
	});
});

describe('what rtpush sends for encrypted channels (recording endpoint)', () => {
	let pg, fault, master;

	const send = async (channels, event, data) => (await pg.one(
		'SELECT rtpush.send($1::text[], $2::text, $3::jsonb) AS id', [channels, event, JSON.stringify(data)])).id;
	const eventsNamed = (name) => fault.delivered().filter((e) => e.name === name);
	const waitEvents = (name, n) => fault.waitUntil(`${n} ${name} events`,
		() => eventsNamed(name).length >= n, WAIT);

	before(async () => {
		master = newKey();
		fault = await startFaultServer();
		pg = await startPostgres({
			conf: {
				...fault.rtpushSettings(), ...TUNING,
				'rtpush.max_attempts': 4,
				'rtpush.encryption_master_key': master,
			},
		});
		await pg.query(`CREATE TABLE prescriptions (id int PRIMARY KEY, patient_id int, doctor_id int,
			medication text, dosage text, notes text)`);
		await pg.query(`SELECT rtpush.attach('prescriptions', 'rx', ARRAY[
			'private-encrypted-user.{patient_id}.prescriptions', 'private-doctor.{doctor_id}.prescriptions'])`);
		await pg.query(`INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
			('private-encrypted-{name}', 'owner'), ('private-encrypted-user.{user_id}.*', 'owner')`);
	});

	after(async () => {
		await fault?.stop();
		await pg?.destroy();
	});

	test('no plaintext on the wire; data is {"nonce","ciphertext"} that the channel\'s shared secret opens', async () => {
		const marker = `PHI-${crypto.randomBytes(6).toString('hex')}`;
		await pg.query(`INSERT INTO prescriptions VALUES
			(1, 7, 3, $1, '500 mg', 'note ' || $1), (2, 8, 3, $1 || '-two', '10 mg', NULL)`, [marker]);
		await send(['private-encrypted-a', 'private-encrypted-b'], 'manual', { secret: marker, n: [1, 2, 3], s: 'é"\\\n' });
		await waitEvents('rx', 4);
		await waitEvents('manual', 2);

		const outboxData = { // what the writer committed, per (event, channel)
			'rx private-encrypted-user.7.prescriptions': (await pg.one(
				"SELECT row_to_json(p)::text AS t FROM prescriptions p WHERE id = 1")).t,
			'rx private-encrypted-user.8.prescriptions': (await pg.one(
				"SELECT row_to_json(p)::text AS t FROM prescriptions p WHERE id = 2")).t,
		};
		const enc = fault.delivered().filter((e) => e.channels.some((c) => c.startsWith('private-encrypted-')));
		assert.equal(enc.length, 4);
		for (const e of enc) {
			assert.equal(e.channels.length, 1, 'an encrypted channel always travels alone');
			assert.equal(typeof e.raw, 'string', 'data is a JSON string');
			assert.deepEqual(Object.keys(JSON.parse(e.raw)), ['nonce', 'ciphertext']);
			const env = JSON.parse(e.raw);
			assert.equal(Buffer.from(env.nonce, 'base64').length, 24);
			assert.equal(Buffer.from(env.nonce, 'base64').toString('base64'), env.nonce, 'standard padded base64');
			assert.equal(Buffer.from(env.ciphertext, 'base64').toString('base64'), env.ciphertext);
			const secret = sharedSecret(e.channels[0], master);
			const plain = open(env, secret);
			assert.notEqual(plain, null, `${e.channels[0]}: the shared secret opens it`);
			assert.equal(Buffer.from(env.ciphertext, 'base64').length, Buffer.byteLength(plain) + 16);
			// history on: the members rtpush adds come first, then the committed text
			const added = /^\{"rtpush_id":\d+,"rtpush_position":"\d+",/;
			assert.match(plain, added, 'the history members first, inside the ciphertext');
			if (e.name === 'rx')
				assert.equal(plain.replace(added, '{'), outboxData[`rx ${e.channels[0]}`]);
			else
				assert.deepEqual(splitHistory(JSON.parse(plain)).data, { secret: marker, n: [1, 2, 3], s: 'é"\\\n' });
			// and rtpush's own auth hands out that same secret
			const auth = await pg.one('SELECT rtpush.authorize_channel($1, $2, $3) AS r',
				['1.2', e.channels[0], e.channels[0].match(/^private-encrypted-user\.(\d+)\./)?.[1]
					?? e.channels[0].slice('private-encrypted-'.length)]);
			assert.equal(auth.r.shared_secret, secret);
		}
		// the split's plain half carried the plaintext (so the check below can fail)...
		const plainHalf = fault.delivered().filter((e) => e.name === 'rx' && e.channels[0] === 'private-doctor.3.prescriptions');
		assert.equal(plainHalf.length, 2);
		assert.ok(plainHalf[0].raw.includes(marker));
		// ...and no request body carries it anywhere but in those plain events
		for (const r of fault.requests) {
			const bodyWithoutPlain = r.events
				.filter((e) => e.channels.some((c) => c.startsWith('private-encrypted-')))
				.map((e) => JSON.stringify(e)).join('');
			assert.ok(!bodyWithoutPlain.includes(marker), `request ${r.n} leaks the plaintext: ${r.body}`);
			assert.ok(!bodyWithoutPlain.includes('500 mg'));
			if (r.events.every((e) => e.channels.every((c) => c.startsWith('private-encrypted-'))))
				assert.ok(!r.body.includes(marker), `request ${r.n} leaks the plaintext: ${r.body}`);
			assert.ok(!r.body.includes(master), 'the master key never leaves the database');
		}
	});

	test('every event gets a fresh nonce, even with identical data on one channel', async () => {
		for (let i = 0; i < 20; i++)
			await send(['private-encrypted-same'], 'same', { v: 'identical' });
		await waitEvents('same', 20);
		const envs = eventsNamed('same').map((e) => JSON.parse(e.raw));
		assert.equal(new Set(envs.map((e) => e.nonce)).size, 20);
		assert.equal(new Set(envs.map((e) => e.ciphertext)).size, 20);
		for (const env of envs)
			assert.deepEqual(splitHistory(JSON.parse(open(env, sharedSecret('private-encrypted-same', master)))).data, { v: 'identical' });
	});

	test('the official pusher library makes the same envelope with the same secrets', async () => {
		const lib = new PusherServer({
			appId: fault.appId, key: fault.key, secret: fault.secret,
			host: fault.host, port: String(fault.port), useTLS: false,
			encryptionMasterKeyBase64: master,
		});
		const channel = 'private-encrypted-user.7.prescriptions';
		const data = { id: 9, medication: 'Lib-PHI-f6', notes: 'ü "q"' };
		await lib.trigger(channel, 'from-lib', data);
		await send([channel], 'from-rtpush', data);
		await waitEvents('from-lib', 1);
		await waitEvents('from-rtpush', 1);
		const [libEv] = eventsNamed('from-lib');
		const [ourEv] = eventsNamed('from-rtpush');

		assert.deepEqual(ourEv.channels, libEv.channels);
		assert.equal(typeof libEv.raw, 'string');
		const libEnv = JSON.parse(libEv.raw);
		const ourEnv = JSON.parse(ourEv.raw);
		assert.deepEqual(Object.keys(ourEnv), Object.keys(libEnv), 'same fields, same order');
		assert.equal(Buffer.from(ourEnv.nonce, 'base64').length, Buffer.from(libEnv.nonce, 'base64').length);
		// same secret: the library's channelSharedSecret, rtpush's auth, and ours
		const libSecret = lib.channelSharedSecret(channel).toString('base64');
		assert.equal(libSecret, sharedSecret(channel, master));
		const auth = await pg.one("SELECT rtpush.authorize_channel('1234.5678', $1, '7') AS r", [channel]);
		assert.deepEqual(auth.r, lib.authorizeChannel('1234.5678', channel));
		// each side opens the other's envelope
		assert.deepEqual(JSON.parse(open(libEnv, auth.r.shared_secret)), data);
		assert.deepEqual(splitHistory(JSON.parse(open(ourEnv, libSecret))).data, data);
		// overhead: ciphertext = plaintext + 16 bytes of MAC for both
		assert.equal(Buffer.from(libEnv.ciphertext, 'base64').length, Buffer.byteLength(JSON.stringify(data)) + 16);
		// the library refuses what rtpush splits: an encrypted channel among others
		await assert.rejects(async () => lib.trigger([channel, 'private-doctor.3'], 'x', {}), /encrypted/i);
		await send([channel, 'private-doctor.3'], 'split', data);
		await waitEvents('split', 2);
		assert.deepEqual(eventsNamed('split').map((e) => e.channels).sort(), [['private-doctor.3'], [channel]]);
	});

	test('a key removed after capture: the event is dead-lettered, never sent in plaintext', async () => {
		const channel = 'private-encrypted-rotate';
		const marker = `PHI-${crypto.randomBytes(6).toString('hex')}`;
		// hold the first attempt off with a 429 so the key can go meanwhile
		fault.plan([{ when: (r) => r.events.some((e) => e.channels.includes(channel)), times: 1,
			status: 429, headers: { 'retry-after': '4' }, body: '{"error":"slow down"}' }]);
		const from = fault.requests.length;
		const id = await send([channel], 'rotate', { secret: marker });
		await fault.waitUntil('the first attempt', () => fault.requests.slice(from)
			.some((r) => r.status === 429), WAIT);
		// (the key is in postgresql.conf: ALTER SYSTEM RESET would leave it; set it empty)
		await pg.set({ 'rtpush.encryption_master_key': '' });
		const dead = await until('the event in the dead letter', () =>
			pg.one('SELECT * FROM rtpush.dead_letter WHERE id = $1', [id]), { timeoutMs: WAIT });
		fault.plan([]);
		const carrying = fault.requests.slice(from).filter((r) => r.body?.includes(channel));
		assert.equal(carrying.length, 1, 'only the first (encrypted) attempt reached the wire');
		assert.ok(!carrying[0].body.includes(marker));
		assert.match(dead.reason, /rtpush\.encryption_master_key is missing or malformed/);
		assert.equal(dead.attempts, 4);
		assert.ok(!JSON.stringify(dead).includes(master), 'the old key is not in the dead letter');
		assert.equal((await pg.one('SELECT count(*)::int AS n FROM rtpush.outbox WHERE id = $1', [id])).n, 0);
		// and capture now refuses outright
		await assert.rejects(send([channel], 'rotate', {}), (e) => e.code === '55000');
		await pg.set({ 'rtpush.encryption_master_key': master });
	});
});

describe('the telemedicine catalogue with encrypted => true, heard through Echo.encryptedPrivate', () => {
	const ROOT = process.env.RTPUSH_ROOT ?? new URL('../..', import.meta.url).pathname;
	let pg, soketi, authServer, master;
	const echos = [];

	const authOptions = (uid) => ({
		channelAuthorization: {
			endpoint: `${authServer.url}/api/v1/broadcasting/auth`,
			transport: 'ajax',
			headers: { authorization: `Bearer tok-${uid}` },
		},
	});

	before(async () => {
		master = newKey();
		soketi = await startSoketi();
		pg = await startPostgres({
			conf: { ...soketi.rtpushSettings(), ...TUNING, 'rtpush.encryption_master_key': master },
		});
		await pg.query(fs.readFileSync(`${ROOT}/examples/telemedicine/schema.sql`, 'utf8'));
		await pg.query(`
			INSERT INTO users (id, name, email, password_hash, role) VALUES
			  (1, 'Pat Patient', 'pat@example.org', 'hash-of-pat', 'patient'),
			  (2, 'Other Patient', 'other@example.org', 'hash-of-other', 'patient'),
			  (3, 'Dr. Ann Lee', 'lee@example.org', 'hash-of-lee', 'doctor');
			INSERT INTO doctors (id, specialty, license_number) VALUES (3, 'cardiology', 'LIC-333');
			CREATE VIEW app_sessions AS SELECT 'tok-' || id AS token, id::text AS user_id, NULL::json AS user_info FROM users;
			SELECT rtpush.attach_telemedicine(encrypted => true);`);
		authServer = await createAuthServer({ pool: { query: (...a) => pg.query(...a) } });
	});

	after(async () => {
		for (const e of echos)
			await e.disconnect();
		await authServer?.close();
		await soketi?.destroy();
		await pg?.destroy();
	});

	test('a prescription reaches its patient decrypted; another patient cannot subscribe', async () => {
		const patient = await echoClient({ soketi, pusherOptions: authOptions(1) });
		const other = await echoClient({ soketi, pusherOptions: authOptions(2) });
		echos.push(patient, other);
		const raw = [];
		patient.client.pusher.connection.bind('message', (m) => raw.push(m));
		const created = patient.listen('encryptedPrivate', 'user.1.prescriptions', '.prescription-created');
		const otherErrors = [];
		other.echo.encryptedPrivate('user.1.prescriptions').error((e) => otherErrors.push(e));
		await until('the patient subscribed', () =>
			patient.client.pusher.channel('private-encrypted-user.1.prescriptions')?.subscribed, { timeoutMs: 15000 });
		await until('the other patient refused', () => otherErrors.length > 0, { timeoutMs: 15000 });
		assert.equal(otherErrors[0].status, 403);

		const { id } = await pg.one(`INSERT INTO prescriptions (patient_id, doctor_id, medication, dosage, instructions)
			VALUES (1, 3, 'Warfarin-PHI-g7', '5 mg', 'with food') RETURNING id`);
		await created.waitFor(1, WAIT);
		const got = created.data[0];
		assert.equal(String(got.id), String(id));
		assert.equal(got.medication, 'Warfarin-PHI-g7');
		assert.equal(got.dosage, '5 mg');
		const wire = raw.filter((m) => m.event === 'prescription-created');
		assert.equal(wire.length, 1);
		assert.equal(wire[0].channel, 'private-encrypted-user.1.prescriptions');
		assert.deepEqual(Object.keys(wire[0].data).sort(), ['ciphertext', 'nonce']);
		assert.ok(!JSON.stringify(wire[0]).includes('Warfarin'));
		assert.deepEqual(splitHistory(JSON.parse(open(wire[0].data, sharedSecret(wire[0].channel, master)))).data, got);
	});
});
