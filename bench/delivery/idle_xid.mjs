// idle_xid.mjs: benchmark 8, a session idle in transaction holding an xid
// for a whole run of `events` single-row commits (issue 22), against the same
// run without it.
//
// One PostgreSQL cluster (the PHI configuration: event ids, one row in four
// on a private-encrypted- channel; history on; track_commit_timestamp on),
// the worker delivering to the minimal HTTP sink (bench/lib/sink.mjs), which
// notes when each event of one conversation's channel arrives.  pgbench, 2
// clients throttled to `rate` commits/s, INSERTs messages rows on 10
// conversations until `events` rows are written.  Variants, interleaved:
//   clean  nothing else runs
//   idle   before pgbench starts, a session BEGINs, INSERTs a messages row
//          (an xid, and an event of its own, queued before all the others)
//          and stays idle in that transaction until the run is over: VACUUM
//          may remove none of the outbox rows deleted meanwhile, nor their
//          index entries; it then COMMITs and its event must be delivered
// Figures per `segment` events delivered: the worker's CPU per event (utime +
// stime over the events counted by rtpush.status) and the latency from
// COMMIT (the row's commit timestamp) to the sink's receive, p50 / p99, of
// the timed channel's events committed in that segment; and for the run:
// the ratio idle / clean of the last segment's figures, the outbox's size
// at the end, pgbench's TPS.

import {
	startBenchPostgres, startSink, configurePhi, workerStatus, cpuSeconds, loadavg, quantile, summary,
	sleep, until, log, pgbenchScript, runPgbench, BODY, COMMIT_MS, fromCommit,
} from '../lib/common.mjs';

const CHANNELS = 10;
const CLIENTS = 2;
const TIMED = 1; // private-conversation.1: not encrypted, so the sink reads its data

const INSERT = `\\set conv random(1, ${CHANNELS})
INSERT INTO messages (conversation_id, sender_id, body) VALUES (:conv, :client_id, '${BODY}');
`;

/** Samples the worker's delivered count and CPU every second until stop(). */
function sampler(pg, workerPid) {
	const samples = [];
	let on = true;
	const loop = (async () => {
		while (on) {
			const s = await workerStatus(pg);
			samples.push({ delivered: Number(s.delivered), cpu: cpuSeconds(workerPid), t: Date.now() });
			await sleep(1000);
		}
	})();
	return { samples, stop: async () => { on = false; await loop; } };
}

/** CPU µs per event over each `segment` events delivered, from the samples (a short tail joins the last). */
function cpuSegments(samples, segment) {
	const cuts = [samples[0]];
	for (const s of samples)
		if (s.delivered - cuts.at(-1).delivered >= segment)
			cuts.push(s);
	const end = samples.at(-1);
	if (end !== cuts.at(-1)) {
		if (cuts.length > 1 && end.delivered - cuts.at(-1).delivered < segment / 2)
			cuts.pop();
		cuts.push(end);
	}
	const out = [];
	for (let i = 1; i < cuts.length; i++) {
		const a = cuts[i - 1];
		const b = cuts[i];
		if (b.delivered > a.delivered)
			out.push({ upto: b.delivered - samples[0].delivered, cpu_us_per_event: 1e6 * (b.cpu - a.cpu) / (b.delivered - a.delivered) });
	}
	return out;
}

export async function run({ events, rate, segment, rounds = 1 }) {
	const secs = Math.ceil(events / rate);
	log(`idle_xid: ${events} events at ${rate} commits/s (${secs} s) per run, ${rounds} round(s), clean and idle`);
	const timed = `private-conversation.${TIMED}`;
	const [pg, sink] = await Promise.all([startBenchPostgres({ track_commit_timestamp: 'on' }),
		startSink({ probeChannel: timed })]);
	try {
		await pg.set({ 'rtpush.app_id': 'bench', 'rtpush.key': 'bench-key', 'rtpush.secret': 'bench-secret',
			'rtpush.scheme': 'http', 'rtpush.host': sink.host, 'rtpush.port': String(sink.port) });
		await configurePhi(pg, 'rtpush_event_id');
		const workerPid = await pg.waitForWorker();
		const script = pgbenchScript(pg, 'idle_xid.sql', INSERT);
		const queued = async () => Number((await pg.one('SELECT count(*) AS n FROM rtpush.outbox')).n);
		const lastId = async () => Number((await pg.one('SELECT coalesce(max(id), 0) AS m FROM messages')).m);

		async function once(variant, n = events) {
			await pg.query('VACUUM rtpush.outbox');
			await sink.probe();
			let idle = null;
			let idleId = null;
			if (variant === 'idle') {
				idle = await pg.connect();
				await idle.query('BEGIN');
				idleId = Number((await idle.query(`INSERT INTO messages (conversation_id, sender_id, body)
					VALUES ($1, 0, 'idle') RETURNING id`, [TIMED])).rows[0].id);
			}
			const first = await lastId() + 1;
			const s = sampler(pg, workerPid);
			const { tps } = await runPgbench(pg, ['-f', script, '-c', String(CLIENTS), '-j', String(CLIENTS),
				'-R', String(rate), '-t', String(Math.ceil(n / CLIENTS))]);
			const last = await lastId();
			const queuedAtEnd = await queued();
			await until('the outbox drained but for the idle transaction\'s event',
				async () => await queued() <= (idle ? 1 : 0), { timeoutMs: 600000, intervalMs: 50 });
			await sleep(1100);
			await s.stop();
			const size = await pg.one(`SELECT pg_total_relation_size('rtpush.outbox') AS b,
				(SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'rtpush.outbox'::regclass) AS dead`);
			let idleDelivered = null;
			if (idle) {
				await idle.query('COMMIT');
				await idle.end();
				idleDelivered = await until('the idle transaction\'s event delivered', async () => await queued() === 0,
					{ timeoutMs: 30000, intervalMs: 20 }).then(() => true, () => false);
			}
			const arrived = await sink.probe();
			const rows = await pg.rows(`SELECT id, ${COMMIT_MS} AS ms
				FROM messages WHERE id BETWEEN $1 AND $2 AND conversation_id = $3 ORDER BY id`, [first, last, TIMED]);
			// latency per segment of the run's rows, by commit order (id order is close)
			const perSeg = Math.max(1, Math.round(rows.length * segment / Math.max(1, last - first + 1)));
			const nseg = Math.max(1, Math.round(rows.length / perSeg)); // a short tail joins the last segment
			const latency = [];
			let lost = 0;
			for (let k = 0; k < nseg; k++) {
				const { lat, lost: missing } = fromCommit(rows.slice(k * perSeg, k === nseg - 1 ? rows.length : (k + 1) * perSeg), arrived);
				lost += missing;
				latency.push({ timed: lat.length, p50_ms: quantile(lat, 0.5), p99_ms: quantile(lat, 0.99) });
			}
			const cpu = cpuSegments(s.samples, segment);
			const d = s.samples.at(-1).delivered - s.samples[0].delivered;
			const res = {
				tps, events: last - first + 1, delivered: d, queued_at_end_of_writes: queuedAtEnd,
				cpu_segments: cpu, latency_segments: latency, lost,
				cpu_us_per_event: 1e6 * (s.samples.at(-1).cpu - s.samples[0].cpu) / d,
				outbox_bytes_after: Number(size.b), outbox_dead_after: Number(size.dead),
				idle_event_delivered: idleDelivered, idle_id: idleId,
				last_cpu_us: cpu.at(-1)?.cpu_us_per_event, last_p50_ms: latency.at(-1)?.p50_ms, last_p99_ms: latency.at(-1)?.p99_ms,
			};
			log(`idle_xid ${variant}: ${Math.round(tps)} tps, ${d} delivered, worker ${res.cpu_us_per_event.toFixed(1)} µs/event`
				+ ` (segments ${cpu.map((c) => c.cpu_us_per_event.toFixed(1)).join(' ')}),`
				+ ` p50 ${latency.map((l) => l.p50_ms?.toFixed(2)).join(' ')} ms, p99 ${latency.map((l) => l.p99_ms?.toFixed(1)).join(' ')} ms,`
				+ ` lost ${lost}, outbox ${(res.outbox_bytes_after / 1048576).toFixed(1)} MB after`);
			return res;
		}

		log('idle_xid: warm-up');
		await once('clean', Math.min(events, 20000));
		const runs = { clean: [], idle: [] };
		for (let r = 0; r < rounds; r++) {
			const la = loadavg()[0];
			for (const v of r % 2 ? ['idle', 'clean'] : ['clean', 'idle'])
				runs[v].push({ ...await once(v), round: r + 1, loadavg: la });
		}
		const ratio = (k) => summary(runs.idle.map((x, i) => x[k] / runs.clean[i][k]));
		return {
			events, rate, segment, rounds, clients: CLIENTS, channels: CHANNELS,
			configuration: 'PHI (event ids, 1 in 4 encrypted), history on; the worker delivering to a minimal HTTP sink',
			runs,
			cpu_ratio_last: ratio('last_cpu_us'), cpu_ratio: ratio('cpu_us_per_event'),
			p50_ratio_last: ratio('last_p50_ms'), p99_ratio_last: ratio('last_p99_ms'),
		};
	} finally {
		await Promise.allSettled([pg.destroy(), sink.destroy()]);
	}
}
