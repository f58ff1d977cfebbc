// throughput.mjs: bench/history's delivery throughput and capture cost with
// history on and off (issue 17), on one cluster and one soketi, both in the
// configuration the README recommends for PHI (rtpush.event_id_field =
// 'rtpush_id', a quarter of the events on private-encrypted- channels).
//
//   delivery   the same pre-filled outbox of N events on 100 channels drained
//              to soketi (bench/delivery/throughput.mjs's rtpushDrain), with
//              rtpush.history_retention 24 h (history-on) and 0 (history-off),
//              interleaved rounds, the order rotating; events/s and the
//              per-round ratio on/off
//   capture    pgbench single-row INSERTs into the messages table (its
//              rtpush.broadcast() triggers queue one event per row) while the
//              worker does not deliver (rtpush.app_id empty): what history
//              changes in the writer's path alone; TPS and the per-round ratio
//
// The retention is changed by ALTER SYSTEM and a reload while the worker is
// configured and idle, and each run waits until the worker has made (on) or
// freed (off) the partitions, so that no upkeep falls into a timed window
// but the one a worker with history does every 10 s anyway.

import { rtpushDrain } from '../delivery/throughput.mjs';
import {
	startBenchPostgres, startSoketi, configurePhi, pgbenchScript, runPgbench, summary, loadavg, until, log, BODY,
} from '../lib/common.mjs';

export const RETENTION = { 'history-on': 86400, 'history-off': 0 };
const EVENT_ID_FIELD = 'rtpush_id';

/** Sets rtpush.history_retention and waits until the worker's partitions follow it. */
export async function setRetention(pg, secs) {
	await pg.set({ 'rtpush.history_retention': String(secs) }, { reload: false });
	await pg.query('SELECT pg_reload_conf()');
	const ready = secs > 0
		? `SELECT EXISTS (SELECT FROM rtpush.history_slots WHERE in_use
			AND lo <= rtpush.history_position_at(now()) AND hi > rtpush.history_position_at(now() + interval '1 second')) AS ok`
		: 'SELECT NOT EXISTS (SELECT FROM rtpush.history_slots WHERE in_use) AS ok';
	await until(`history partitions for a retention of ${secs} s`, async () => (await pg.one(ready)).ok,
		{ timeoutMs: 30000, intervalMs: 50 });
}

/** Runs fn(variant, round) over interleaved rounds (the order rotating); {variant: [result...]}. */
export async function interleaved(names, rounds, fn) {
	const runs = Object.fromEntries(names.map((v) => [v, []]));
	for (let r = 0; r < rounds; r++) {
		for (const v of names.map((_, i) => names[(i + r) % names.length])) {
			const la = loadavg()[0];
			const res = await fn(v, r);
			runs[v].push({ ...res, round: r + 1, loadavg: la });
		}
	}
	return runs;
}

/** Median, min-max of the per-round ratios a/b of key. */
export function ratio(runs, a, b, key) {
	return summary(runs[a].map((x, i) => x[key] / runs[b][i][key]));
}

async function capture(pg, soketi, script, secs) {
	await pg.set({ 'rtpush.app_id': '' });
	await pg.query('TRUNCATE messages, rtpush.outbox');
	await pg.query('CHECKPOINT');
	const { tps } = await runPgbench(pg, ['-c', '2', '-j', '2', '-T', String(secs), '-f', script]);
	await pg.query('TRUNCATE messages, rtpush.outbox');
	await pg.set({ 'rtpush.app_id': soketi.appId });
	return { tps };
}

export async function run({ events: n, rounds, warm, captureSecs, captureRounds, concurrency = 8 }) {
	log(`history throughput: ${n} events, ${rounds} rounds; capture ${captureRounds} x ${captureSecs} s`);
	const [pg, soketi] = await Promise.all([
		startBenchPostgres({ 'rtpush.max_in_flight': String(concurrency), 'rtpush.batch_size': '10' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	try {
		await configurePhi(pg, EVENT_ID_FIELD);
		await pg.set(soketi.rtpushSettings());
		const workerPid = await pg.waitForWorker();
		const target = { pid: soketi.pid, appId: soketi.appId, settings: () => soketi.rtpushSettings() };
		const names = Object.keys(RETENTION);
		const drain = async (v, k) => {
			await setRetention(pg, RETENTION[v]);
			return rtpushDrain(pg, k, target, workerPid, null);
		};
		log(`history throughput: warm-up, ${warm} events per variant`);
		for (const v of names)
			await drain(v, warm);
		const runs = await interleaved(names, rounds, async (v, r) => {
			const res = await drain(v, n);
			const h = await pg.one('SELECT count(*) AS n, (SELECT count(*) FROM rtpush.history_events) AS e FROM rtpush.history');
			res.history_rows = Number(h.n);
			res.history_events = Number(h.e);
			log(`history throughput round ${r + 1} ${v}: ${Math.round(res.rate)} events/s, fill ${res.batch_fill.toFixed(2)},`
				+ ` cpu worker ${res.cpu.worker_pct}% pg ${res.cpu.postgres_pct}% soketi ${res.cpu.server_pct}%`);
			return res;
		});

		const script = pgbenchScript(pg, 'insert.sql', '\\set cid random(1, 100)\n\\set sid random(1, 10000)\n'
			+ `INSERT INTO messages (conversation_id, sender_id, body) VALUES (:cid, :sid, '${BODY}');\n`);
		const cap = await interleaved(names, captureRounds, async (v, r) => {
			await setRetention(pg, RETENTION[v]);
			const res = await capture(pg, soketi, script, captureSecs);
			log(`history capture round ${r + 1} ${v}: ${Math.round(res.tps)} tps`);
			return res;
		});
		return {
			events: n, rounds, concurrency, channels: 100, encrypted_share: 0.25, event_id_field: EVENT_ID_FIELD,
			retention_s: RETENTION,
			runs, rates: Object.fromEntries(names.map((v) => [v, summary(runs[v].map((x) => x.rate))])),
			ratio: ratio(runs, 'history-on', 'history-off', 'rate'),
			capture: {
				secs: captureSecs, rounds: captureRounds, clients: 2,
				runs: cap, tps: Object.fromEntries(names.map((v) => [v, summary(cap[v].map((x) => x.tps))])),
				ratio: ratio(cap, 'history-on', 'history-off', 'tps'),
			},
		};
	} finally {
		await soketi.destroy();
		await pg.destroy();
	}
}
