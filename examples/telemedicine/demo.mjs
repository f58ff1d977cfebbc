// examples/telemedicine/demo.mjs: the guide's telemedicine scenario, live.
// Run it through examples/demo (which installs dependencies and rtpush first).
//
// Starts a throwaway PostgreSQL 15 with rtpush preloaded and a local soketi
// (or, with PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET and
// PUSHER_APP_CLUSTER set, your Pusher app; PUSHER_HOST, PUSHER_PORT and
// PUSHER_SCHEME for another compatible server), loads
// examples/telemedicine/schema.sql (which creates extension
// rtpush_telemedicine and attaches its event catalogue),
// starts examples/auth-server (the guide's /api/v1/broadcasting/auth and
// /config, answering with rtpush.authorize_channel and rtpush.client_config),
// connects a patient and a doctor with pusher-js configured from /config as
// the guide's useWebSocket() does, plays the scenario with plain SQL writes
// and prints every event as each subscriber receives it, with the time from
// sending COMMIT to receipt.  Everything it started is stopped
// on success, failure or Ctrl-C (test/e2e/lib/cleanup.mjs).

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../../test/e2e/lib/pg.mjs';
import { startSoketi } from '../../test/e2e/lib/soketi.mjs';
import { PusherClient } from '../../test/e2e/lib/deps.mjs';
import { sleep } from '../../test/e2e/lib/cleanup.mjs';
import { createAuthServer } from '../auth-server/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCHEMA = fs.readFileSync(path.join(here, 'schema.sql'), 'utf8');
const STEP_TIMEOUT_MS = 15000;

const color = process.stdout.isTTY ? (c, s) => `\x1b[${c}m${s}\x1b[0m` : (c, s) => s;
const dim = (s) => color('2', s);
const bold = (s) => color('1', s);

const SEED = `
INSERT INTO users (id, name, email, password_hash, role) VALUES
  (1, 'Pat Patient', 'pat@example.org', '$2y$10$not-a-real-hash', 'patient'),
  (3, 'Dr. Ann Lee', 'lee@example.org', '$2y$10$not-a-real-hash', 'doctor');
INSERT INTO doctors (id, specialty, license_number) VALUES (3, 'cardiology', 'LIC-333');
INSERT INTO conversations (id) VALUES (5);
INSERT INTO conversation_participants VALUES (5, 1), (5, 3);
-- the demo's sessions: "Authorization: Bearer tok-<user id>"
CREATE VIEW app_sessions AS
  SELECT 'tok-' || id AS token, id::text AS user_id, json_build_object('name', name, 'role', role) AS user_info
    FROM users;
`;

const PATIENT = { label: 'patient', id: 1, channels: ['private-user.1.notifications', 'private-user.1.appointments',
	'private-user.1.prescriptions', 'private-user.1.status', 'private-conversation.5', 'doctor.3.availability'] };
const DOCTOR = { label: 'doctor', id: 3, channels: ['private-user.3.notifications', 'private-user.3.appointments',
	'private-user.3.status', 'private-conversation.5', 'private-doctor.3.ratings', 'doctor.3.availability'] };

// The guide's scenario: [what happens, SQL, deliveries expected]
const SCENARIO = [
	['the patient comes online', `UPDATE users SET is_online = true, last_seen_at = now() WHERE id = 1`, 1],
	['the doctor becomes available', `UPDATE doctors SET is_available = true, updated_at = now() WHERE id = 3`, 2],
	['the patient books (INSERT: no event) and the doctor is notified',
		`INSERT INTO appointments (id, patient_id, doctor_id, scheduled_at, reason)
		   VALUES (10, 1, 3, date_trunc('hour', now()) + interval '1 day', 'chest pain');
		 INSERT INTO notifications (user_id, type, title, data)
		   VALUES (3, 'appointment.requested', 'New appointment request', '{"appointment_id": 10}')`, 1],
	['the patient sends a message', `INSERT INTO messages (conversation_id, sender_id, body) VALUES (5, 1, 'Hello doctor, is tomorrow fine?')`, 2],
	['the doctor answers', `INSERT INTO messages (conversation_id, sender_id, body) VALUES (5, 3, 'Yes, see you then.')`, 2],
	['the doctor confirms the appointment', `UPDATE appointments SET status = 'confirmed', updated_at = now() WHERE id = 10`, 2],
	['the appointment is rescheduled', `UPDATE appointments SET scheduled_at = scheduled_at + interval '2 hours', updated_at = now() WHERE id = 10`, 2],
	['the consultation starts', `UPDATE appointments SET status = 'in_progress', updated_at = now() WHERE id = 10`, 2],
	['the doctor writes notes (unrelated column: no event)', `UPDATE appointments SET notes = 'stable', updated_at = now() WHERE id = 10`, 0],
	['the consultation ends', `UPDATE appointments SET status = 'completed', updated_at = now() WHERE id = 10`, 2],
	['the doctor prescribes', `INSERT INTO prescriptions (id, appointment_id, patient_id, doctor_id, medication, dosage, instructions)
		VALUES (300, 10, 1, 3, 'Aspirin', '100 mg', 'once a day')`, 1],
	['the pharmacy dispenses it', `UPDATE prescriptions SET status = 'dispensed', updated_at = now() WHERE id = 300`, 1],
	['the patient rates the doctor', `INSERT INTO ratings (doctor_id, patient_id, appointment_id, rating, comment) VALUES (3, 1, 10, 5, 'Very kind')`, 1],
	['the doctor becomes unavailable', `UPDATE doctors SET is_available = false, updated_at = now() WHERE id = 3`, 2],
	['the patient goes offline', `UPDATE users SET is_online = false, last_seen_at = now() WHERE id = 1`, 1],
];

function pusherEnv() {
	const e = process.env;
	if (!(e.PUSHER_APP_ID && e.PUSHER_APP_KEY && e.PUSHER_APP_SECRET))
		return null;
	const cluster = e.PUSHER_APP_CLUSTER || 'mt1';
	const scheme = e.PUSHER_SCHEME || 'https';
	// Pusher itself: the cluster says where; another server: its host and port
	const own = e.PUSHER_HOST && !/^api-[a-z0-9-]+\.pusher\.com$/.test(e.PUSHER_HOST);
	return {
		label: own ? `${scheme}://${e.PUSHER_HOST}:${e.PUSHER_PORT || ''} (app ${e.PUSHER_APP_ID})` : `Pusher cluster ${cluster} (app ${e.PUSHER_APP_ID})`,
		settings: {
			'rtpush.app_id': e.PUSHER_APP_ID, 'rtpush.key': e.PUSHER_APP_KEY, 'rtpush.secret': e.PUSHER_APP_SECRET,
			'rtpush.cluster': cluster, 'rtpush.scheme': scheme,
			...(own ? { 'rtpush.host': e.PUSHER_HOST, ...(e.PUSHER_PORT ? { 'rtpush.port': e.PUSHER_PORT } : {}) } : {}),
		},
	};
}

const fmt = (ms) => `${ms.toFixed(1).padStart(6)} ms`;

function short(data) {
	const s = typeof data === 'string' ? data : JSON.stringify(data);
	return s.length > 110 ? `${s.slice(0, 107)}...` : s;
}

async function connect(who, auth) {
	// as the guide's useWebSocket(): GET /broadcasting/config, then new Pusher(key, {...})
	const headers = { authorization: `Bearer tok-${who.id}` };
	const r = await fetch(`${auth.url}/api/v1/broadcasting/config`, { headers });
	const { data } = await r.json();
	const pusher = new PusherClient(data.key, {
		cluster: data.cluster || 'mt1',
		forceTLS: data.forceTLS,
		...(data.wsHost ? { wsHost: data.wsHost, wsPort: data.wsPort, wssPort: data.wssPort } : {}),
		enabledTransports: data.forceTLS ? ['wss'] : ['ws'],
		disableStats: true,
		channelAuthorization: { endpoint: `${auth.url}${data.auth_endpoint || '/api/v1/broadcasting/auth'}`, transport: 'ajax', headers },
	});
	await new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error(`${who.label}: not connected after 15 s (${pusher.connection.state})`)), 15000);
		pusher.connection.bind('connected', () => {
			clearTimeout(t);
			resolve();
		});
	});
	await Promise.all(who.channels.map((name) => new Promise((resolve, reject) => {
		const ch = pusher.subscribe(name);
		ch.bind('pusher:subscription_succeeded', resolve);
		ch.bind('pusher:subscription_error', (e) => reject(new Error(`${who.label}: ${name} refused: ${JSON.stringify(e)}`)));
	})));
	return pusher;
}

async function main() {
	const started = performance.now();
	const cleanups = [];
	let failed = false;
	try {
		console.log(bold('rtpush telemedicine demo') + dim('  (Ctrl-C stops everything it started)'));
		const ext = pusherEnv();
		const [pg, soketi] = await Promise.all([
			startPostgres({ dbname: 'telemedicine' }),
			ext ? null : startSoketi({ appId: 'rtpush-demo', key: 'demo-key', secret: `demo-secret-${process.pid}` }),
		]);
		cleanups.push(() => pg.destroy());
		if (soketi)
			cleanups.push(() => soketi.destroy());
		const settings = ext ? ext.settings : soketi.rtpushSettings();
		await pg.set(settings);
		console.log(`  PostgreSQL ${(await pg.one('SHOW server_version')).server_version} (throwaway, ${pg.dir}) ` +
			`on ${pg.host}:${pg.port}, rtpush preloaded`);
		console.log(`  events go to ${ext ? ext.label : `soketi on ${soketi.url} (local, throwaway)`}`);

		await pg.query(SCHEMA);
		await pg.query(SEED);
		const cat = await pg.rows('SELECT event, tbl FROM rtpush.telemedicine_catalogue()');
		console.log(`  schema loaded; catalogue attached: ${cat.map((c) => c.event).join(', ')}`);

		const auth = await createAuthServer({ pool: { query: (...a) => pg.query(...a) } });
		cleanups.push(() => auth.close());
		console.log(`  auth endpoint (rtpush.authorize_channel) on ${auth.url}/api/v1/broadcasting/auth`);

		const received = [];
		let waiters = [];
		const clients = {};
		for (const who of [PATIENT, DOCTOR]) {
			const p = await connect(who, auth);
			clients[who.label] = p;
			cleanups.push(async () => {
				p.disconnect();
				await sleep(50);
			});
			p.bind_global(() => {}); // keep pusher-js from warning about unbound events
			for (const name of who.channels) {
				p.channel(name).bind_global((event, data) => {
					if (event.startsWith('pusher'))
						return;
					received.push({ who: who.label, channel: name, event, data, at: performance.now() });
					for (const w of waiters)
						w();
				});
			}
			console.log(`  ${who.label} (user ${who.id}) subscribed: ${who.channels.join(' ')}`);
		}

		const db = await pg.connect();
		const latencies = [];
		for (const [what, sql, expected] of SCENARIO) {
			console.log(`\n${bold('▶ ' + what)}  ${dim(sql.replace(/\s+/g, ' ').slice(0, 100))}`);
			const mark = received.length;
			await db.query('BEGIN');
			await db.query(sql);
			// the clock starts when COMMIT is sent: its round trip is included
			const committed = performance.now();
			await db.query('COMMIT');
			if (expected === 0) {
				await sleep(500);
			} else {
				await new Promise((resolve, reject) => {
					const t = setTimeout(() => {
						waiters = [];
						reject(new Error(`"${what}": ${received.length - mark} of ${expected} deliveries after ${STEP_TIMEOUT_MS} ms`));
					}, STEP_TIMEOUT_MS);
					const check = () => {
						if (received.length - mark >= expected) {
							clearTimeout(t);
							waiters = [];
							resolve();
						}
					};
					waiters = [check];
					check();
				});
				await sleep(50); // anything extra would show up here
			}
			const mine = received.slice(mark);
			if (mine.length > expected)
				throw new Error(`"${what}": ${mine.length} deliveries, expected ${expected}`);
			if (mine.length === 0)
				console.log(dim('    (nothing sent, as expected)'));
			for (const r of mine) {
				const ms = r.at - committed;
				latencies.push(ms);
				console.log(`    ${color('32', fmt(ms))}  ${r.who.padEnd(7)} ${r.channel.padEnd(29)} ${r.event.padEnd(28)} ${dim(short(r.data))}`);
			}
		}
		await db.end();

		latencies.sort((a, b) => a - b);
		const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
		console.log(`\n${bold('done')}: ${latencies.length} deliveries in ${SCENARIO.length} steps; COMMIT sent -> received ` +
			`min ${q(0).toFixed(1)} ms, median ${q(0.5).toFixed(1)} ms, max ${q(1).toFixed(1)} ms ` +
			`(total run ${((performance.now() - started) / 1000).toFixed(1)} s)`);
		const st = await pg.rows('SELECT count(*)::int AS n FROM rtpush.dead_letter');
		if (st[0].n > 0)
			throw new Error(`${st[0].n} events in rtpush.dead_letter`);
	} catch (e) {
		failed = true;
		console.error(`\n${color('31', 'demo failed:')} ${e.message}`);
	} finally {
		for (const c of cleanups.reverse()) {
			try {
				await c();
			} catch {
				// keep stopping the rest
			}
		}
		console.log(dim('stopped everything the demo started'));
	}
	process.exit(failed ? 1 : 0);
}

main();
