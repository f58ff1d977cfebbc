// streaming.mjs: benchmark 7, the worker's cost per event under a steady
// stream of single-row commits (issue 22), against its cost draining a
// backlog and against the writers' capacity without delivery.
//
// One PostgreSQL cluster (the PHI configuration: event ids, one row in four
// on a private-encrypted- channel; history on) delivering to one soketi, and
// a pusher-js client (in this process) subscribed to the plain channels.
// pgbench runs 2 clients of single-row INSERTs into messages on 10
// conversations for `secs` seconds.  Variants, in interleaved rounds:
//   stream  the worker delivers while pgbench writes
//   off     the worker is stopped (SIGSTOP) while pgbench writes: the
//           writers' TPS without delivery.  The events wait in the outbox.
//   drain   then the worker is continued (SIGCONT) and drains what "off"
//           queued, a backlog of secs x TPS events
// Figures: pgbench TPS; the worker's CPU per event delivered (utime +
// stime of its process over the events counted by rtpush.worker_status());
// events per HTTP request; and, for stream, the latency from COMMIT
// (track_commit_timestamp) to the pusher-js receive of the plain events.

import process from 'node:process';
import { pusherClient } from '../../test/e2e/lib/clients.mjs';
import {
	startBenchPostgres, startSoketi, configurePhi, workerStatus, cpuSeconds, loadavg, quantile, summary,
	median, sleep, until, performance, log, wallOffset, pgbenchScript, runPgbench, BODY,
} from '../lib/common.mjs';

const CHANNELS = 10;
const CLIENTS = 2;

const INSERT = `\\set conv random(1, ${CHANNELS})
INSERT INTO messages (conversation_id, sender_id, body) VALUES (:conv, :client_id, '${BODY}');
`;

export async function run({ secs, rounds, dataDir }) {
	log(`streaming: ${CLIENTS} pgbench clients of single-row INSERTs, ${secs} s per run, ${rounds} rounds`);
	const [pg, soketi] = await Promise.all([startBenchPostgres({ track_commit_timestamp: 'on' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	let client;
	try {
		await pg.set(soketi.rtpushSettings());
		await configurePhi(pg, 'rtpush_event_id');
		const workerPid = await pg.waitForWorker();
		client = await pusherClient({ soketi });
		const got = new Map(); // messages id -> receive time (performance.now())
		for (let c = 1; c <= CHANNELS; c++) {
			if (c % 4 === 0)
				continue; // private-encrypted-: counted by the worker, not timed here
			const name = `private-conversation.${c}`;
			await client.subscribe(name);
			client.pusher.channel(name).bind('message-sent', (data) => {
				const t1 = performance.now();
				const id = Number((typeof data === 'string' ? JSON.parse(data) : data).id);
				if (!got.has(id))
					got.set(id, t1);
			});
		}
		const script = pgbenchScript(pg, 'streaming.sql', INSERT);
		const queued = async () => Number((await pg.one('SELECT count(*) AS n FROM rtpush.outbox')).n);
		const lastId = async () => Number((await pg.one('SELECT coalesce(max(id), 0) AS m FROM messages')).m);

		// the worker's counters and CPU around fn()
		async function measured(fn) {
			const s0 = await workerStatus(pg);
			const c0 = cpuSeconds(workerPid);
			const t0 = performance.now();
			const extra = await fn();
			const c1 = cpuSeconds(workerPid);
			const s1 = await workerStatus(pg);
			const events = Number(s1.delivered) - Number(s0.delivered);
			const requests = Number(s1.http_requests) - Number(s0.http_requests);
			return {
				...extra, wall_s: (performance.now() - t0) / 1000, events, requests,
				events_per_request: requests ? events / requests : null,
				worker_cpu_us_per_event: events ? 1e6 * (c1 - c0) / events : null,
				worker_cpu_pct: Math.round(1000 * (c1 - c0) / ((performance.now() - t0) / 1000)) / 10,
			};
		}

		async function writeFor(seconds) {
			const { tps } = await runPgbench(pg, ['-f', script, '-c', String(CLIENTS), '-j', String(CLIENTS),
				'-T', String(seconds)]);
			return tps;
		}

		async function stream(seconds) {
			const first = await lastId() + 1;
			const offset = wallOffset();
			const res = await measured(async () => {
				const tps = await writeFor(seconds);
				await until('the outbox drained after the stream', async () => await queued() === 0,
					{ timeoutMs: 120000, intervalMs: 20 });
				return { tps };
			});
			const last = await lastId();
			await until('the plain events at pusher-js', () => {
				for (let id = last; id > last - 50 && id >= first; id--)
					if (!got.has(id))
						return false;
				return true;
			}, { timeoutMs: 15000, intervalMs: 20 }).catch(() => {});
			const rows = await pg.rows(`SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS ms
				FROM messages WHERE id BETWEEN $1 AND $2 AND conversation_id % 4 <> 0`, [first, last]);
			const lat = [];
			let lost = 0;
			for (const r of rows) {
				const t1 = got.get(Number(r.id));
				if (t1 === undefined)
					lost++;
				else
					lat.push(t1 - (Number(r.ms) - offset));
			}
			lat.sort((a, b) => a - b);
			for (const id of [...got.keys()])
				if (id <= last)
					got.delete(id);
			return { ...res, timed: lat.length, lost, p50_ms: quantile(lat, 0.5), p99_ms: quantile(lat, 0.99) };
		}

		async function offThenDrain(seconds) {
			process.kill(workerPid, 'SIGSTOP');
			let tps;
			try {
				tps = await writeFor(seconds);
			} finally {
				process.kill(workerPid, 'SIGCONT');
			}
			const backlog = await queued();
			const drain = await measured(async () => {
				await until('the backlog drained', async () => await queued() === 0,
					{ timeoutMs: 300000, intervalMs: 50 });
				return { backlog };
			});
			return [{ tps }, drain];
		}

		log('streaming: warm-up');
		await stream(2);
		await offThenDrain(2);

		const runs = { stream: [], off: [], drain: [] };
		for (let r = 0; r < rounds; r++) {
			const la = loadavg()[0];
			const order = r % 2 ? ['off', 'stream'] : ['stream', 'off'];
			for (const v of order) {
				if (v === 'stream') {
					const s = await stream(secs);
					runs.stream.push({ ...s, round: r + 1, loadavg: la });
					log(`streaming round ${r + 1} stream: ${s.tps.toFixed(0)} tps, worker ${s.worker_cpu_us_per_event.toFixed(1)} µs/event`
						+ ` (${s.worker_cpu_pct}%), ${s.events_per_request.toFixed(2)} events/request,`
						+ ` from COMMIT p50 ${s.p50_ms.toFixed(2)} p99 ${s.p99_ms.toFixed(2)} ms (${s.timed} timed, ${s.lost} lost)`);
				} else {
					const [o, d] = await offThenDrain(secs);
					runs.off.push({ ...o, round: r + 1, loadavg: la });
					runs.drain.push({ ...d, round: r + 1, loadavg: la });
					log(`streaming round ${r + 1} off: ${o.tps.toFixed(0)} tps; drain of ${d.backlog}:`
						+ ` worker ${d.worker_cpu_us_per_event.toFixed(1)} µs/event, ${d.events_per_request.toFixed(2)} events/request`);
				}
				await sleep(500);
			}
		}
		const ratio = (a, b) => a.map((x, i) => x / b[i]);
		const col = (v, k) => runs[v].map((x) => x[k]);
		const res = {
			secs, rounds, clients: CLIENTS, channels: CHANNELS, configuration: 'PHI (event ids, 1 in 4 encrypted), history on',
			runs,
			tps_stream: summary(col('stream', 'tps')), tps_off: summary(col('off', 'tps')),
			tps_ratio: summary(ratio(col('stream', 'tps'), col('off', 'tps'))),
			cpu_us_stream: summary(col('stream', 'worker_cpu_us_per_event')),
			cpu_us_drain: summary(col('drain', 'worker_cpu_us_per_event')),
			cpu_ratio: summary(ratio(col('stream', 'worker_cpu_us_per_event'), col('drain', 'worker_cpu_us_per_event'))),
			events_per_request_stream: summary(col('stream', 'events_per_request')),
			events_per_request_drain: summary(col('drain', 'events_per_request')),
			p50_ms: summary(col('stream', 'p50_ms')), p99_ms: summary(col('stream', 'p99_ms')),
			lost: col('stream', 'lost').reduce((a, b) => a + b, 0),
		};
		log(`streaming: TPS stream/off ${median(res.tps_ratio.runs).toFixed(2)}x, worker µs/event stream/drain`
			+ ` ${median(res.cpu_ratio.runs).toFixed(2)}x`);
		return res;
	} finally {
		await client?.disconnect?.();
		await Promise.allSettled([pg.destroy(), soketi.destroy()]);
	}
}
