// subscriber.test.mjs: what a subscriber can tell from an event (issue 24),
// end to end.  A real PostgreSQL with rtpush preloaded delivers to a real
// soketi; real pusher-js clients (one per doctor, as the telemedicine
// frontend) subscribe to private channels.  They must see the operation
// ("rtpush_op"), an event name per operation, a row that moved to another
// doctor arrive on the old doctor's channel as a moved-out marker with the
// old key (and not the new row), a cross-partition UPDATE as one UPDATE per
// channel, and a date channel named the same whatever the writer's
// DateStyle.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres } from './lib/pg.mjs';
import { startSoketi } from './lib/soketi.mjs';
import { pusherClient } from './lib/clients.mjs';
import { until } from './lib/cleanup.mjs';

const WAIT = 90000;

const SCHEMA = `
CREATE TABLE appointments (id int PRIMARY KEY, patient_id int, doctor_id int, status text);
SELECT rtpush.attach('appointments', 'appointment-updated', ARRAY['private-user.{doctor_id}.appointments'],
                     operations => '{INSERT,UPDATE,DELETE}', include_op => true,
                     events => '{"INSERT": "appointment-created", "DELETE": "appointment-deleted"}');
CREATE TABLE visits (id int, clinic int, patient int, PRIMARY KEY (id, clinic)) PARTITION BY LIST (clinic);
CREATE TABLE visits_1 PARTITION OF visits FOR VALUES IN (1);
CREATE TABLE visits_2 PARTITION OF visits FOR VALUES IN (2);
SELECT rtpush.attach('visits', 'visit-updated', ARRAY['private-clinic.{clinic}.visits'], include_op => true);
CREATE TABLE shifts (id int PRIMARY KEY, day date);
SELECT rtpush.attach('shifts', 'shift-created', ARRAY['private-day.{day}.shifts'], operations => '{INSERT}');
`;

describe('subscribers tell the operation, moves and stable channels', () => {
	let soketi, db, client;

	before(async () => {
		soketi = await startSoketi();
		db = await startPostgres({ conf: { ...soketi.rtpushSettings(), 'rtpush.poll_interval': 200 } });
		await db.query(SCHEMA);
		client = await pusherClient({ soketi });
	});

	after(async () => {
		await client?.disconnect();
		await db?.destroy();
		await soketi?.destroy();
	});

	const drained = () => until('the outbox to drain', async () =>
		(await db.one('SELECT count(*)::int AS n FROM rtpush.outbox')).n === 0, { timeoutMs: WAIT, intervalMs: 200 });

	test('the operation and an event per operation; the old doctor sees the row leave', async () => {
		const d10 = 'private-user.10.appointments';
		const d20 = 'private-user.20.appointments';
		await client.subscribe(d10);
		await client.subscribe(d20);
		const got10 = client.collectAll(d10);
		const got20 = client.collectAll(d20);

		await db.query(`INSERT INTO appointments VALUES (1, 100, 10, 'pending')`);
		await db.query(`UPDATE appointments SET status = 'confirmed' WHERE id = 1`);
		await db.query(`UPDATE appointments SET doctor_id = 20 WHERE id = 1`);     // reassigned
		await db.query(`DELETE FROM appointments WHERE id = 1`);

		await got10.waitFor(3, WAIT);
		await got20.waitFor(2, WAIT);
		await drained();
		await got10.settle(1500);
		const row = (status, doctor) => ({ id: 1, patient_id: 100, doctor_id: doctor, status });
		assert.deepEqual(got10.data, [
			{ event: 'appointment-created', data: { ...row('pending', 10), rtpush_op: 'INSERT' } },
			{ event: 'appointment-updated', data: { ...row('confirmed', 10), rtpush_op: 'UPDATE' } },
			{ event: 'appointment-updated', data: { rtpush_moved: true, rtpush_old_key: { id: 1 }, rtpush_op: 'UPDATE' } },
		]);
		assert.deepEqual(got20.data, [
			{ event: 'appointment-updated', data: { ...row('confirmed', 20), rtpush_op: 'UPDATE' } },
			{ event: 'appointment-deleted', data: { ...row('confirmed', 20), rtpush_op: 'DELETE' } },
		]);
	});

	test('a primary key change carries the old key', async () => {
		const d30 = 'private-user.30.appointments';
		await client.subscribe(d30);
		const got = client.collectAll(d30);
		await db.query(`INSERT INTO appointments VALUES (2, 100, 30, 'pending')`);
		await db.query(`UPDATE appointments SET id = 3 WHERE id = 2`);
		await got.waitFor(2, WAIT);
		await drained();
		await got.settle(1000);
		assert.deepEqual(got.data[1], {
			event: 'appointment-updated',
			data: { id: 3, patient_id: 100, doctor_id: 30, status: 'pending', rtpush_op: 'UPDATE', rtpush_old_key: { id: 2 } },
		});
		assert.equal(got.length, 2);
	});

	test('a cross-partition UPDATE arrives as one UPDATE per channel', async () => {
		const c1 = 'private-clinic.1.visits';
		const c2 = 'private-clinic.2.visits';
		await client.subscribe(c1);
		await client.subscribe(c2);
		const got1 = client.collectAll(c1);
		const got2 = client.collectAll(c2);
		await db.query('INSERT INTO visits VALUES (7, 1, 500)');
		await db.query('UPDATE visits SET clinic = 2 WHERE id = 7');
		await got1.waitFor(2, WAIT);
		await got2.waitFor(1, WAIT);
		await drained();
		await got1.settle(1500);
		assert.deepEqual(got1.data, [
			{ event: 'visit-updated', data: { id: 7, clinic: 1, patient: 500, rtpush_op: 'INSERT' } },
			{ event: 'visit-updated', data: { rtpush_moved: true, rtpush_old_key: { id: 7 }, rtpush_op: 'UPDATE' } },
		]);
		assert.deepEqual(got2.data, [
			// the key (the id column) is unchanged: no rtpush_old_key
			{ event: 'visit-updated', data: { id: 7, clinic: 2, patient: 500, rtpush_op: 'UPDATE' } },
		]);
	});

	test('a date channel is the same whatever the writer\'s DateStyle and TimeZone', async () => {
		const ch = 'private-day.2024-01-02.shifts';
		await client.subscribe(ch);
		const got = client.collectAll(ch);
		const c = await db.connect();
		try {
			for (const [i, style] of [[1, 'ISO, MDY'], [2, 'German'], [3, 'SQL, MDY'], [4, 'Postgres, DMY']]) {
				await c.query(`SET DateStyle = '${style}'`);
				await c.query(`SET TimeZone = 'Pacific/Chatham'`);
				await c.query(`INSERT INTO shifts VALUES ($1, DATE '2024-01-02')`, [i]);
			}
		} finally {
			await c.end();
		}
		await got.waitFor(4, WAIT);
		await drained();
		await got.settle(1000);
		assert.deepEqual(got.data.map((e) => e.data.id), [1, 2, 3, 4]);
		assert.deepEqual(got.data.map((e) => e.data.day), Array(4).fill('2024-01-02'));
	});
});
