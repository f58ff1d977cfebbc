// package.test.mjs: the Debian package at work (issue 16).  test/run's
// "deb" suite installs postgresql-NN-rtpush with dpkg and runs this with
// that PostgreSQL's bin directory first on PATH (RTPUSH_DEB_BINDIR), so
// lib/pg.mjs initdb's a fresh cluster of the system server, preloading the
// packaged rtpush.so.  The cluster creates the extension from the packaged
// scripts and delivers committed rows to a real soketi and a real pusher-js
// subscriber on a private channel.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startPostgres, PGBIN } from '../e2e/lib/pg.mjs';
import { startSoketi } from '../e2e/lib/soketi.mjs';
import { pusherClient } from '../e2e/lib/clients.mjs';
import { until } from '../e2e/lib/cleanup.mjs';

const BINDIR = process.env.RTPUSH_DEB_BINDIR;
const PKGLIBDIR = process.env.RTPUSH_DEB_PKGLIBDIR;
const SHAREDIR = process.env.RTPUSH_DEB_SHAREDIR;
const WAIT = 60000;

describe('the installed Debian package in a fresh cluster', () => {
	let pg, soketi, client;

	before(async () => {
		assert.ok(BINDIR && PKGLIBDIR && SHAREDIR, 'RTPUSH_DEB_BINDIR, _PKGLIBDIR and _SHAREDIR are set');
		soketi = await startSoketi();
		pg = await startPostgres({
			dbname: 'rtpush_deb',
			conf: { ...soketi.rtpushSettings(), 'rtpush.poll_interval': 500 },
		});
		client = await pusherClient({ soketi });
	});
	after(async () => {
		await client?.disconnect();
		await pg?.destroy();
		await soketi?.destroy();
	});

	test('the cluster is the system server\'s, with the packaged rtpush.so preloaded in its worker', async () => {
		assert.equal(PGBIN, BINDIR);
		const pid = await pg.waitForWorker(WAIT);
		const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
		const libs = [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5]).filter((p) => p?.endsWith('/rtpush.so')))];
		assert.deepEqual(libs, [`${PKGLIBDIR}/rtpush.so`]);
	});

	test('CREATE EXTENSION rtpush installed the packaged default version', async () => {
		const control = fs.readFileSync(`${SHAREDIR}/extension/rtpush.control`, 'utf8');
		const want = control.match(/^default_version\s*=\s*'([^']+)'/m)[1];
		const row = await pg.one("SELECT extversion FROM pg_extension WHERE extname = 'rtpush'");
		assert.equal(row?.extversion, want);
		// and the same again in a database of its own, from the packaged scripts alone
		await pg.query('CREATE DATABASE rtpush_deb_again');
		const out = await pg.psql('CREATE EXTENSION rtpush; SELECT extversion FROM pg_extension WHERE extname = \'rtpush\'',
			{ db: 'rtpush_deb_again' });
		assert.equal(out.trim(), want);
	});

	test('the packaged scripts install 0.1 and update it to the default version', async () => {
		const control = fs.readFileSync(`${SHAREDIR}/extension/rtpush.control`, 'utf8');
		const want = control.match(/^default_version\s*=\s*'([^']+)'/m)[1];
		const scripts = fs.readdirSync(`${SHAREDIR}/extension`).filter((f) => /^rtpush--.*\.sql$/.test(f));
		if (want === '0.1' || !scripts.includes('rtpush--0.1.sql')) {
			assert.ok(scripts.includes(`rtpush--${want}.sql`), `rtpush--${want}.sql is installed`);
			return;
		}
		await pg.query('CREATE DATABASE rtpush_deb_update');
		const out = await pg.psql(`CREATE EXTENSION rtpush VERSION '0.1';
			SELECT extversion FROM pg_extension WHERE extname = 'rtpush';
			ALTER EXTENSION rtpush UPDATE;
			SELECT extversion FROM pg_extension WHERE extname = 'rtpush'`, { db: 'rtpush_deb_update' });
		assert.deepEqual(out.trim().split('\n'), ['0.1', want]);
	});

	test('a committed row reaches a pusher-js subscriber through soketi', async () => {
		await pg.query(`CREATE TABLE visits (id int PRIMARY KEY, patient_id int NOT NULL, status text NOT NULL)`);
		await pg.query(`SELECT rtpush.attach('visits', 'visit-updated', ARRAY['private-patient.{patient_id}.visits'])`);
		await client.subscribe('private-patient.42.visits');
		const got = client.collect('private-patient.42.visits', 'visit-updated');
		await pg.query(`INSERT INTO visits VALUES (1, 42, 'booked')`);
		await pg.query(`UPDATE visits SET status = 'started' WHERE id = 1`);
		await got.waitFor(2, WAIT);
		await got.settle(500);
		assert.deepEqual(got.data.map((d) => [d.id, d.patient_id, d.status]), [[1, 42, 'booked'], [1, 42, 'started']]);
		await until('the outbox to drain', async () =>
			(await pg.one('SELECT count(*)::int AS n FROM rtpush.outbox')).n === 0, { timeoutMs: WAIT });
	});
});
