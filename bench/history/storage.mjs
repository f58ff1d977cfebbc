// storage.mjs: bench/history's storage over a sustained run longer than the
// retention (issue 17): history's size must stay flat once the retention
// has passed, without VACUUM FULL, DELETE or TRUNCATE.
//
// pgbench (2 clients, throttled with -R) INSERTs single messages rows for
// `secs` seconds, each row's trigger queuing one event, and the worker
// delivers them to soketi with rtpush.history_retention = `retention`
// seconds, writing a history row per channel and fetch (most of them one
// event each at this rate).  Every 5 s: the total size
// of rtpush.history's partitions (pg_total_relation_size of each, from
// pg_inherits), its rows and the events they hold, the partitions in use, events delivered and
// queued.  Flat: the largest size in the run's last half against the median
// after the first retention period.

import {
	startBenchPostgres, startSoketi, pgbenchScript, runPgbench, workerStatus, median, sleep, performance, log, BODY,
} from '../lib/common.mjs';

const SAMPLE_MS = 5000;
// flat: the last half's largest size within this factor of the median
// after the first retention period (the ring frees a partition at a time)
const FLAT_FACTOR = 1.25;

const SAMPLE_SQL = `SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint AS bytes,
	(SELECT count(*) FROM rtpush.history)::bigint AS rows,
	(SELECT count(*) FROM rtpush.history_events)::bigint AS events,
	(SELECT count(*) FROM rtpush.history_slots WHERE in_use)::int AS partitions,
	(SELECT count(*) FROM rtpush.outbox)::bigint AS queued
	FROM pg_inherits WHERE inhparent = 'rtpush.history'::regclass`;

async function sample(pg, t0, s0) {
	const r = await pg.one(SAMPLE_SQL);
	const s = await workerStatus(pg);
	return { t: (performance.now() - t0) / 1000, bytes: Number(r.bytes), rows: Number(r.rows), events: Number(r.events), partitions: r.partitions,
		queued: Number(r.queued), delivered: Number(s.delivered) - Number(s0.delivered) };
}

export async function run({ secs, rate, retention }) {
	log(`history storage: ${secs} s at ${rate} events/s, retention ${retention} s`);
	const [pg, soketi] = await Promise.all([startBenchPostgres({ 'rtpush.history_retention': String(retention) }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	try {
		await pg.set(soketi.rtpushSettings());
		const script = pgbenchScript(pg, 'insert.sql', '\\set cid random(1, 100)\n\\set sid random(1, 10000)\n'
			+ `INSERT INTO messages (conversation_id, sender_id, body) VALUES (:cid, :sid, '${BODY}');\n`);
		const s0 = await workerStatus(pg);
		const t0 = performance.now();
		let done = false;
		const bench = runPgbench(pg, ['-c', '2', '-j', '2', '-R', String(rate), '-T', String(secs), '-f', script])
			.finally(() => { done = true; });
		const samples = [];
		while (!done) {
			const next = t0 + (samples.length + 1) * SAMPLE_MS;
			while (!done && performance.now() < next)
				await sleep(Math.min(100, next - performance.now()));
			if (done)
				break;
			samples.push(await sample(pg, t0, s0));
			const x = samples[samples.length - 1];
			if (samples.length % 6 === 0)
				log(`history storage ${Math.round(x.t)} s: ${(x.bytes / 1048576).toFixed(1)} MB, ${x.rows} rows,`
					+ ` ${x.partitions} partitions, ${x.delivered} delivered, ${x.queued} queued`);
		}
		const { tps } = await bench;
		const end = await sample(pg, t0, s0);
		const after = samples.filter((x) => x.t > retention);
		const lastHalf = samples.filter((x) => x.t > secs / 2);
		const settled = median(after.map((x) => x.bytes));
		const maxLast = Math.max(...lastHalf.map((x) => x.bytes));
		const res = {
			secs, rate, retention_s: retention, pgbench_tps: tps, delivered: end.delivered, sample_s: SAMPLE_MS / 1000,
			samples, bytes_median_after_retention: settled, bytes_max_last_half: maxLast,
			bytes_max: Math.max(...samples.map((x) => x.bytes)),
			rows_median_after_retention: median(after.map((x) => x.rows)), rows_max_last_half: Math.max(...lastHalf.map((x) => x.rows)),
			flat_ratio: maxLast / settled, flat_factor: FLAT_FACTOR, flat: maxLast <= FLAT_FACTOR * settled,
		};
		log(`history storage: ${Math.round(tps)} tps; size after the retention median ${(settled / 1048576).toFixed(1)} MB,`
			+ ` last half max ${(maxLast / 1048576).toFixed(1)} MB (${res.flat_ratio.toFixed(2)}x)`);
		return res;
	} finally {
		await soketi.destroy();
		await pg.destroy();
	}
}
