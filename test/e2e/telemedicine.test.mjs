// telemedicine.test.mjs: the guide's event catalogue end to end.  The
// reference schema (examples/telemedicine/schema.sql: CREATE EXTENSION
// rtpush_telemedicine, catalogue attached by rtpush.attach_telemedicine())
// on a throwaway PostgreSQL with rtpush
// preloaded, delivering to a real soketi; real pusher-js clients (a
// patient, another patient, a doctor) subscribe through
// examples/auth-server, i.e. rtpush.authorize_channel and the schema's
// rules.  Every catalogue row must reach exactly the expected channels with
// exactly the expected event and payload, and nothing else may arrive; the
// same events reach laravel-echo listeners written as in the guide.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startSoketi } from './lib/soketi.mjs';
import { startPostgres } from './lib/pg.mjs';
import { pusherClient, echoClient } from './lib/clients.mjs';
import { until, sleep } from './lib/cleanup.mjs';
import { createAuthServer } from '../../examples/auth-server/server.mjs';
import { splitHistory } from './lib/history.mjs';

const ROOT = process.env.RTPUSH_ROOT ?? new URL('../..', import.meta.url).pathname;
const SCHEMA = fs.readFileSync(`${ROOT}/examples/telemedicine/schema.sql`, 'utf8');

// patients 1 and 2, doctors 3 and 4; conversation 5 = {1, 3}, 6 = {2, 4};
// appointment 10 = patient 1 with doctor 3, 11 = patient 2 with doctor 4
const SEED = `
INSERT INTO users (id, name, email, password_hash, role) VALUES
  (1, 'Pat Patient', 'pat@example.org', '$2y$10$hash-of-pat', 'patient'),
  (2, 'Other Patient', 'other@example.org', '$2y$10$hash-of-other', 'patient'),
  (3, 'Dr. Ann Lee', 'lee@example.org', '$2y$10$hash-of-lee', 'doctor'),
  (4, 'Dr. Bo Kim', 'kim@example.org', '$2y$10$hash-of-kim', 'doctor');
INSERT INTO doctors (id, specialty, license_number, updated_at) VALUES
  (3, 'cardiology', 'LIC-333', '2024-05-01 09:00+00'), (4, 'dermatology', 'LIC-444', '2024-05-01 09:00+00');
INSERT INTO conversations (id) VALUES (5), (6);
INSERT INTO conversation_participants VALUES (5, 1), (5, 3), (6, 2), (6, 4);
INSERT INTO appointments (id, patient_id, doctor_id, scheduled_at, reason, updated_at) VALUES
  (10, 1, 3, '2024-05-02 10:00+00', 'chest pain', '2024-05-01 09:00+00'),
  (11, 2, 4, '2024-05-02 11:00+00', 'rash', '2024-05-01 09:00+00');
-- the demo's sessions: the bearer token is "tok-<user id>"
CREATE VIEW app_sessions AS
  SELECT 'tok-' || id AS token, id::text AS user_id, json_build_object('name', name, 'role', role) AS user_info
    FROM users;
`;

const T = (s) => `2024-05-0${s}+00:00`; // "1T10:00:00" -> "2024-05-01T10:00:00+00:00"

// Every row of the catalogue (and writes outside it), with what each
// subscribed channel must receive.  Channels not named must receive nothing.
const CASES = [
	{
		name: 'message sent: messages INSERT -> private-conversation.{conversation_id}',
		sql: `INSERT INTO messages (id, conversation_id, sender_id, body, created_at)
		      VALUES (100, 5, 1, 'Hello doctor', '2024-05-01 10:00+00')`,
		expect: {
			'private-conversation.5': [['message-sent', {
				id: 100, conversation_id: 5, sender_id: 1, body: 'Hello doctor', type: 'text', created_at: T('1T10:00:00'),
			}]],
		},
	},
	{
		name: 'message answered',
		sql: `INSERT INTO messages (id, conversation_id, sender_id, body, created_at)
		      VALUES (101, 5, 3, 'See you at 10', '2024-05-01 10:01+00')`,
		expect: {
			'private-conversation.5': [['message-sent', {
				id: 101, conversation_id: 5, sender_id: 3, body: 'See you at 10', type: 'text', created_at: T('1T10:01:00'),
			}]],
		},
	},
	{
		name: 'notification created: notifications INSERT -> private-user.{user_id}.notifications',
		sql: `INSERT INTO notifications (id, user_id, type, title, body, data, created_at)
		      VALUES (200, 1, 'appointment', 'Appointment confirmed', 'See you', '{"appointment_id": 10}', '2024-05-01 10:03+00')`,
		expect: {
			'private-user.1.notifications': [['notification-created', {
				id: 200, user_id: 1, type: 'appointment', title: 'Appointment confirmed', body: 'See you',
				data: { appointment_id: 10 }, created_at: T('1T10:03:00'),
			}]],
		},
	},
	...['confirmed', 'in_progress', 'completed'].map((status, i) => ({
		name: `appointment updated: status ${status} -> patient's and doctor's appointments channels`,
		sql: `UPDATE appointments SET status = '${status}', updated_at = '2024-05-01 11:0${i}+00' WHERE id = 10`,
		expect: Object.fromEntries(['private-user.1.appointments', 'private-user.3.appointments'].map((ch) => [ch, [[
			'appointment-updated', {
				id: 10, patient_id: 1, doctor_id: 3, status, scheduled_at: T('2T10:00:00'),
				duration_minutes: 30, updated_at: T(`1T11:0${i}:00`),
			}]]])),
	})),
	{
		name: 'appointment updated: reschedule (scheduled_at) of the other patient\'s appointment',
		sql: `UPDATE appointments SET scheduled_at = '2024-05-03 09:00+00', updated_at = '2024-05-01 12:00+00' WHERE id = 11`,
		expect: Object.fromEntries(['private-user.2.appointments', 'private-user.4.appointments'].map((ch) => [ch, [[
			'appointment-updated', {
				id: 11, patient_id: 2, doctor_id: 4, status: 'pending', scheduled_at: T('3T09:00:00'),
				duration_minutes: 30, updated_at: T('1T12:00:00'),
			}]]])),
	},
	{
		name: 'prescription created: prescriptions INSERT -> private-user.{patient_id}.prescriptions',
		sql: `INSERT INTO prescriptions (id, appointment_id, patient_id, doctor_id, medication, dosage, instructions, created_at, updated_at)
		      VALUES (300, 10, 1, 3, 'Aspirin', '100 mg', 'once a day', '2024-05-02 10:31+00', '2024-05-02 10:31+00')`,
		expect: {
			'private-user.1.prescriptions': [['prescription-created', {
				id: 300, appointment_id: 10, patient_id: 1, doctor_id: 3, medication: 'Aspirin', dosage: '100 mg',
				instructions: 'once a day', status: 'active', created_at: T('2T10:31:00'),
			}]],
		},
	},
	{
		name: 'prescription status: UPDATE of status -> private-user.{patient_id}.prescriptions',
		sql: `UPDATE prescriptions SET status = 'dispensed', updated_at = '2024-05-02 12:00+00' WHERE id = 300`,
		expect: {
			'private-user.1.prescriptions': [['prescription-updated', {
				id: 300, patient_id: 1, status: 'dispensed', updated_at: T('2T12:00:00'),
			}]],
		},
	},
	{
		name: 'user status: UPDATE of is_online / last_seen_at -> private-user.{id}.status',
		sql: `UPDATE users SET is_online = true, last_seen_at = '2024-05-01 10:00+00' WHERE id = 1`,
		expect: {
			'private-user.1.status': [['user-status-changed', { id: 1, is_online: true, last_seen_at: T('1T10:00:00') }]],
		},
	},
	{
		name: 'user status: offline',
		sql: `UPDATE users SET is_online = false, last_seen_at = '2024-05-01 10:30+00' WHERE id = 1`,
		expect: {
			'private-user.1.status': [['user-status-changed', { id: 1, is_online: false, last_seen_at: T('1T10:30:00') }]],
		},
	},
	{
		name: 'doctor availability: UPDATE of is_available -> doctor.{id}.availability (public)',
		sql: `UPDATE doctors SET is_available = true, updated_at = '2024-05-01 13:00+00' WHERE id = 3`,
		expect: {
			'doctor.3.availability': [['doctor-availability-changed', { id: 3, is_available: true, updated_at: T('1T13:00:00') }]],
		},
	},
	{
		name: 'rating received: ratings INSERT -> private-doctor.{doctor_id}.ratings',
		sql: `INSERT INTO ratings (id, doctor_id, patient_id, appointment_id, rating, comment, created_at)
		      VALUES (400, 3, 1, 10, 5, 'Very kind', '2024-05-02 11:00+00')`,
		expect: {
			'private-doctor.3.ratings': [['rating-received', {
				id: 400, doctor_id: 3, rating: 5, comment: 'Very kind', created_at: T('2T11:00:00'),
			}]],
		},
	},
	// writes outside the catalogue
	...[
		`UPDATE appointments SET notes = 'private notes', reason = 'edited', updated_at = now() WHERE id = 10`,
		`UPDATE appointments SET status = 'completed' WHERE id = 10`,
		`UPDATE users SET name = 'Pat P.', password_hash = 'x', email = 'pp@example.org' WHERE id = 1`,
		`UPDATE doctors SET consultation_fee = 60, license_number = 'LIC-3' WHERE id = 3`,
		`UPDATE prescriptions SET instructions = 'twice a day' WHERE id = 300`,
		`UPDATE messages SET read_at = now() WHERE id = 100`,
		`UPDATE notifications SET read_at = now() WHERE id = 200`,
		`UPDATE ratings SET comment = 'edited' WHERE id = 400`,
		`DELETE FROM ratings WHERE id = 400`,
	].map((sql) => ({ name: `unrelated write sends nothing: ${sql.slice(0, 60)}`, sql, expect: {} })),
];

// who subscribes to what (their own channels, as the guide's frontend does)
const SUBSCRIBERS = {
	patient1: ['private-user.1.notifications', 'private-user.1.appointments', 'private-user.1.prescriptions',
		'private-user.1.status', 'private-conversation.5', 'doctor.3.availability'],
	patient2: ['private-user.2.notifications', 'private-user.2.appointments', 'private-user.2.prescriptions',
		'private-user.2.status', 'private-conversation.6', 'doctor.3.availability'],
	doctor3: ['private-user.3.notifications', 'private-user.3.appointments', 'private-user.3.status',
		'private-conversation.5', 'private-doctor.3.ratings', 'doctor.3.availability'],
	doctor4: ['private-user.4.appointments', 'private-conversation.6', 'private-doctor.4.ratings'],
};
const USER_OF = { patient1: 1, patient2: 2, doctor3: 3, doctor4: 4 };

describe('telemedicine catalogue on soketi with pusher-js and laravel-echo', () => {
	let pg, soketi, auth, db, watcher, sentinels;
	const clients = {};
	const received = []; // {who, channel, event, data}
	const others = [];

	const authOptions = (uid) => ({
		channelAuthorization: {
			endpoint: `${auth.url}/api/v1/broadcasting/auth`,
			transport: 'ajax',
			headers: { authorization: `Bearer tok-${uid}` },
		},
	});

	before(async () => {
		pg = await startPostgres();
		soketi = await startSoketi();
		await pg.set(soketi.rtpushSettings());
		await pg.query(SCHEMA);
		await pg.query(SEED);
		db = await pg.connect();
		await db.query("SET TimeZone = 'UTC'");
		auth = await createAuthServer({ pool: { query: (...a) => pg.query(...a) } });
		watcher = await pusherClient({ soketi });
		await watcher.subscribe('e2e-sentinel');
		sentinels = watcher.collect('e2e-sentinel', 'sentinel');
		for (const [who, channels] of Object.entries(SUBSCRIBERS)) {
			const c = await pusherClient({ soketi, pusherOptions: authOptions(USER_OF[who]) });
			clients[who] = c;
			for (const ch of channels) {
				await c.subscribe(ch);
				c.pusher.channel(ch).bind_global((event, data) => {
					if (!event.startsWith('pusher:') && !event.startsWith('pusher_internal:'))
						received.push({ who, channel: ch, event, data: splitHistory(data).data });
				});
			}
		}
	});

	after(async () => {
		for (const c of [...Object.values(clients), ...others, watcher].filter(Boolean))
			await c.disconnect();
		await db?.end();
		await auth?.close();
		await soketi?.destroy();
		await pg?.destroy();
	});

	test('a patient cannot subscribe to another patient\'s or a doctor\'s private channels', async () => {
		for (const ch of ['private-user.2.appointments', 'private-user.2.prescriptions', 'private-conversation.6',
			'private-doctor.3.ratings', 'private-user.12.notifications']) {
			const err = await clients.patient1.subscribe(ch, 15000).then(() => null, (e) => e);
			assert.ok(err, `${ch} must be refused to patient 1`);
			assert.equal(err.status, 403, `${ch}: ${err.message}`);
			clients.patient1.unsubscribe(ch);
		}
	});

	for (const [i, c] of CASES.entries()) {
		test(`${i + 1}. ${c.name}`, async () => {
			const mark = received.length;
			// the expected deliveries: every subscriber of a channel gets its events
			const want = [];
			for (const [who, channels] of Object.entries(SUBSCRIBERS))
				for (const ch of channels)
					for (const [event, data] of c.expect[ch] ?? [])
						want.push({ who, channel: ch, event, data });
			for (const ch of Object.keys(c.expect))
				assert.ok(Object.values(SUBSCRIBERS).some((l) => l.includes(ch)), `nobody subscribes to ${ch}`);

			await db.query(c.sql);
			// a sentinel committed after the write: once it arrived, whatever
			// the write queued before it has had its turn
			const n = sentinels.length;
			await db.query(`SELECT rtpush.send('e2e-sentinel', 'sentinel', '{}')`);
			await sentinels.waitFor(n + 1, 20000);
			if (want.length > 0)
				await until(`${want.length} deliveries`, () => received.length - mark >= want.length, { timeoutMs: 20000 });
			await sleep(300);

			const got = received.slice(mark);
			const key = (x) => `${x.who} ${x.channel} ${x.event} ${JSON.stringify(x.data)}`;
			assert.deepEqual(got.map(key).sort(), want.map(key).sort());
		});
	}

	test('no subscriber ever received another user\'s event', () => {
		assert.ok(received.length >= 20, `only ${received.length} deliveries`);
		for (const r of received) {
			const uid = USER_OF[r.who];
			const d = r.data;
			if (r.channel.startsWith('doctor.'))
				continue; // public
			const owners = [d.user_id, d.patient_id, d.doctor_id, r.channel.startsWith('private-user.') ? d.id : undefined]
				.filter((x) => x !== undefined);
			if (r.event === 'message-sent')
				assert.ok((uid <= 2 ? r.channel === `private-conversation.${uid === 1 ? 5 : 6}` : true), JSON.stringify(r));
			else
				assert.ok(owners.includes(uid), `${r.who} got ${JSON.stringify(r)}`);
		}
		assert.ok(!received.some((r) => r.who === 'patient2' && /\.1\.|conversation\.5/.test(r.channel)));
		assert.ok(!received.some((r) => r.who === 'patient1' && /\.2\.|conversation\.6/.test(r.channel)));
		// and no payload carries a password hash, an email or a licence number
		const all = JSON.stringify(received);
		for (const s of ['hash-of', 'password', '@example.org', 'LIC-', 'chest pain', 'private notes'])
			assert.ok(!all.includes(s), `a payload contains ${s}`);
	});

	test('laravel-echo receives the same events as the guide\'s app listens for them', async () => {
		const patient = await echoClient({ soketi, pusherOptions: authOptions(1) });
		const doctor = await echoClient({ soketi, pusherOptions: authOptions(3) });
		others.push(patient, doctor);
		const messages = patient.listen('private', 'conversation.5', '.message-sent');
		const doctorMessages = doctor.listen('private', 'conversation.5', '.message-sent');
		const availability = patient.listen('channel', 'doctor.3.availability', '.doctor-availability-changed');
		const appointments = patient.listen('private', 'user.1.appointments', '.appointment-updated');
		const doctorAppointments = doctor.listen('private', 'user.3.appointments', '.appointment-updated');
		const prescriptions = patient.listen('private', 'user.1.prescriptions', '.prescription-created');
		const notifications = patient.listen('private', 'user.1.notifications', '.notification-created');
		const ratings = doctor.listen('private', 'doctor.3.ratings', '.rating-received');
		const status = patient.listen('private', 'user.1.status', '.user-status-changed');
		await until('echo subscriptions', () =>
			['private-conversation.5', 'doctor.3.availability', 'private-user.1.appointments',
				'private-user.1.prescriptions', 'private-user.1.notifications', 'private-user.1.status']
				.every((ch) => patient.client.pusher.channel(ch)?.subscribed)
			&& ['private-conversation.5', 'private-user.3.appointments', 'private-doctor.3.ratings']
				.every((ch) => doctor.client.pusher.channel(ch)?.subscribed), { timeoutMs: 20000 });

		await db.query(`INSERT INTO messages (id, conversation_id, sender_id, body, created_at)
		                VALUES (110, 5, 1, 'via echo', '2024-05-01 14:00+00')`);
		await db.query(`UPDATE doctors SET is_available = false, updated_at = '2024-05-01 14:01+00' WHERE id = 3`);
		await db.query(`UPDATE appointments SET scheduled_at = '2024-05-04 09:00+00', updated_at = '2024-05-01 14:02+00' WHERE id = 10`);
		await db.query(`INSERT INTO prescriptions (id, patient_id, doctor_id, medication, dosage, created_at)
		                VALUES (310, 1, 3, 'Ibuprofen', '200 mg', '2024-05-01 14:03+00')`);
		await db.query(`INSERT INTO notifications (id, user_id, type, title, created_at)
		                VALUES (210, 1, 'info', 'Hi', '2024-05-01 14:04+00')`);
		await db.query(`INSERT INTO ratings (id, doctor_id, patient_id, rating, created_at)
		                VALUES (410, 3, 1, 4, '2024-05-01 14:05+00')`);
		await db.query(`UPDATE users SET is_online = true, last_seen_at = '2024-05-01 14:06+00' WHERE id = 1`);

		for (const col of [messages, doctorMessages, availability, appointments, doctorAppointments,
			prescriptions, notifications, ratings, status])
			await col.waitFor(1, 20000);
		await sleep(500);
		assert.deepEqual(messages.data, [{
			id: 110, conversation_id: 5, sender_id: 1, body: 'via echo', type: 'text', created_at: T('1T14:00:00'),
		}]);
		assert.deepEqual(doctorMessages.data, messages.data);
		assert.deepEqual(availability.data, [{ id: 3, is_available: false, updated_at: T('1T14:01:00') }]);
		const appt = {
			id: 10, patient_id: 1, doctor_id: 3, status: 'completed', scheduled_at: T('4T09:00:00'),
			duration_minutes: 30, updated_at: T('1T14:02:00'),
		};
		assert.deepEqual(appointments.data, [appt]);
		assert.deepEqual(doctorAppointments.data, [appt]);
		assert.deepEqual(prescriptions.data.map((p) => [p.id, p.medication, p.status]), [[310, 'Ibuprofen', 'active']]);
		assert.deepEqual(notifications.data.map((n) => [n.id, n.title]), [[210, 'Hi']]);
		assert.deepEqual(ratings.data, [{ id: 410, doctor_id: 3, rating: 4, comment: null, created_at: T('1T14:05:00') }]);
		assert.deepEqual(status.data, [{ id: 1, is_online: true, last_seen_at: T('1T14:06:00') }]);
	});
});
