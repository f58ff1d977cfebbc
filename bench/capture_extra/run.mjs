// capture_extra/run.mjs: the capture-overhead variants of issue 7 that
// bench/capture/run (issue 2's pgbench benchmark) does not cover:
//   - a pg_notify trigger (plpgsql, pg_notify of the row's JSON) beside
//     rtpush and the plpgsql outbox trigger, pgbench single-row INSERT
//     (2 clients, -M prepared, synchronous_commit=off), interleaved rounds;
//   - a 100k-row INSERT ... SELECT and a COPY of 100k rows with each
//     variant (no trigger, the CTE floor (INSERT ... SELECT only), plpgsql
//     outbox trigger, pg_notify trigger, rtpush.broadcast()).
// The worker runs in another database (rtpush.database_name = postgres), as
// in bench/capture/run, so delivery does not compete with the writers.
//
//   node bench/capture_extra/run.mjs --out DIR [--secs 10] [--rounds 3] [--rows 100000]

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startPostgres, PGBIN } from '../../test/e2e/lib/pg.mjs';
import { PG_CONF, BODY, summary, writeJson, log, loadavg, performance } from '../lib/common.mjs';

const { values: opt } = parseArgs({
	options: {
		out: { type: 'string' }, secs: { type: 'string', default: '10' },
		rounds: { type: 'string', default: '3' }, rows: { type: 'string', default: '100000' },
	},
});
const SECS = Number(opt.secs);
const ROUNDS = Number(opt.rounds);
const ROWS = Number(opt.rows);

const pg = await startPostgres({ dbname: 'bench', extension: false,
	conf: { ...PG_CONF, 'rtpush.database_name': 'postgres' } });
try {
	await pg.query('CREATE EXTENSION rtpush');
	const cols = `(id bigserial PRIMARY KEY, conversation_id int NOT NULL, sender_id int NOT NULL,
		body text NOT NULL, status text NOT NULL DEFAULT 'sent', created_at timestamptz NOT NULL DEFAULT now())`;
	await pg.query(`
		CREATE TABLE m_none ${cols}; CREATE TABLE m_cte ${cols}; CREATE TABLE m_plpgsql ${cols};
		CREATE TABLE m_notify ${cols}; CREATE TABLE m_rtpush ${cols};
		CREATE FUNCTION plpgsql_capture() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO rtpush.outbox (channels, event, data)
			VALUES (ARRAY['private-conversation.' || NEW.conversation_id], 'message-sent', row_to_json(NEW));
			RETURN NULL;
		END $$;
		CREATE FUNCTION notify_capture() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			PERFORM pg_notify('private-conversation.' || NEW.conversation_id, row_to_json(NEW)::text);
			RETURN NULL;
		END $$;
		CREATE TRIGGER capture AFTER INSERT ON m_plpgsql FOR EACH ROW EXECUTE FUNCTION plpgsql_capture();
		CREATE TRIGGER capture AFTER INSERT ON m_notify FOR EACH ROW EXECUTE FUNCTION notify_capture();
		CREATE TRIGGER capture AFTER INSERT ON m_rtpush FOR EACH ROW
			EXECUTE FUNCTION rtpush.broadcast('message-sent', 'private-conversation.{conversation_id}')`);

	// ---- pgbench single-row: plpgsql, pg_notify, rtpush ----
	const scripts = {};
	for (const v of ['plpgsql', 'notify', 'rtpush']) {
		scripts[v] = path.join(pg.dir, `${v}.sql`);
		fs.writeFileSync(scripts[v], `\\set cid random(1, 10000)\n\\set sid random(1, 10000)\n`
			+ `INSERT INTO m_${v} (conversation_id, sender_id, body) VALUES (:cid, :sid, '${BODY}');\n`);
		fs.chmodSync(scripts[v], 0o644);
	}
	const single = { plpgsql: [], notify: [], rtpush: [] };
	for (let r = 0; r < ROUNDS; r++) {
		for (const v of r % 2 ? ['rtpush', 'notify', 'plpgsql'] : ['plpgsql', 'notify', 'rtpush']) {
			await pg.query(`TRUNCATE rtpush.outbox, m_${v}`);
			await pg.query('CHECKPOINT');
			const b = spawnSync(path.join(PGBIN, 'pgbench'), ['-n', '-M', 'prepared', '-c', '2', '-j', '2', '-T', String(SECS),
				'-f', scripts[v], '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'bench'], { encoding: 'utf8' });
			const tps = Number(/tps = ([\d.]+) \(without/.exec(b.stdout)?.[1]);
			if (!Number.isFinite(tps))
				throw new Error(`pgbench: ${b.stdout}${b.stderr}`);
			single[v].push(tps);
			log(`capture extra round ${r + 1} pgbench ${v}: ${Math.round(tps)} tps`);
		}
	}

	// ---- 100k-row INSERT ... SELECT and COPY ----
	const csv = path.join(pg.dir, 'rows.csv');
	fs.writeFileSync(csv, Array.from({ length: ROWS }, (_, i) => `${1 + (i % 10000)},${1 + (i % 997)},"${BODY}"`).join('\n') + '\n');
	fs.chmodSync(csv, 0o644);
	const sel = `SELECT 1 + (g % 10000), 1 + (g % 997), '${BODY}' FROM generate_series(1, ${ROWS}) g`;
	const bulk = {
		'insert-select': {
			none: `INSERT INTO m_none (conversation_id, sender_id, body) ${sel}`,
			cte: `WITH m AS (INSERT INTO m_cte (conversation_id, sender_id, body) ${sel} RETURNING *)
				INSERT INTO rtpush.outbox (channels, event, data)
				SELECT ARRAY['private-conversation.' || m.conversation_id], 'message-sent', row_to_json(m) FROM m`,
			plpgsql: `INSERT INTO m_plpgsql (conversation_id, sender_id, body) ${sel}`,
			notify: `INSERT INTO m_notify (conversation_id, sender_id, body) ${sel}`,
			rtpush: `INSERT INTO m_rtpush (conversation_id, sender_id, body) ${sel}`,
		},
		copy: Object.fromEntries(['none', 'plpgsql', 'notify', 'rtpush'].map((v) => [v,
			`COPY m_${v} (conversation_id, sender_id, body) FROM '${csv}' (FORMAT csv)`])),
	};
	const bulkRuns = { 'insert-select': {}, copy: {} };
	const c = await pg.connect();
	for (const kind of Object.keys(bulk)) {
		const vs = Object.keys(bulk[kind]);
		for (const v of vs)
			bulkRuns[kind][v] = [];
		// a warm-up of each, then interleaved rounds
		for (let r = -1; r < ROUNDS; r++) {
			for (const v of r % 2 ? [...vs].reverse() : vs) {
				await c.query(`TRUNCATE rtpush.outbox, m_${v}`);
				await c.query('CHECKPOINT');
				const t0 = performance.now();
				await c.query(bulk[kind][v]);
				const secs = (performance.now() - t0) / 1000;
				if (r >= 0)
					bulkRuns[kind][v].push(ROWS / secs);
			}
		}
		log(`capture extra ${kind}: ${vs.map((v) => `${v} ${Math.round(summary(bulkRuns[kind][v]).median)} rows/s`).join(', ')}`);
	}
	await c.end();
	const med = (xs) => summary(xs);
	writeJson(path.join(opt.out, 'capture_extra.json'), {
		secs: SECS, rounds: ROUNDS, rows: ROWS, loadavg: loadavg(), ran_at: `${new Date().toISOString().slice(0, 16)}Z`,
		single: Object.fromEntries(Object.entries(single).map(([k, v]) => [k, med(v)])),
		single_ratios: {
			'rtpush/notify': med(single.rtpush.map((x, i) => x / single.notify[i])),
			'rtpush/plpgsql': med(single.rtpush.map((x, i) => x / single.plpgsql[i])),
		},
		bulk: Object.fromEntries(Object.entries(bulkRuns).map(([k, o]) => [k,
			Object.fromEntries(Object.entries(o).map(([v, xs]) => [v, med(xs)]))])),
		bulk_ratios: Object.fromEntries(Object.entries(bulkRuns).map(([k, o]) => [k,
			Object.fromEntries(Object.keys(o).filter((v) => v !== 'rtpush').map((v) =>
				[`rtpush/${v}`, med(o.rtpush.map((x, i) => x / o[v][i]))]))])),
	});
} finally {
	await pg.destroy();
}
process.exit(0);
