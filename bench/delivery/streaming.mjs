// streaming.mjs: benchmark 7, the worker's cost per event under a steady
// stream of single-row commits (issue 22), against its cost draining a
// backlog and against the writers' capacity without delivery.
//
// One PostgreSQL cluster (the PHI configuration: event ids, one row in four
// on a private-encrypted- channel; history on).  pgbench runs 2 clients of
// single-row INSERTs into messages on 10 conversations for `secs` seconds.
// Variants, in interleaved rounds:
//   stream  the worker delivers to a minimal HTTP sink (200 {}) while
//           pgbench writes: the worker's own cost, no server's
//   off     the worker is stopped (SIGSTOP) while pgbench writes: the
//           writers' TPS without delivery.  The events wait in the outbox.
//   drain   then the worker is continued (SIGCONT) and drains what "off"
//           queued into the sink, a backlog of secs x TPS events
//   soketi  as stream, but pgbench throttled to SOKETI_RATE commits/s
//           (unthrottled, soketi on these 2 cores takes fewer events than
//           the writers make, and latency only measures its queue), the
//           worker delivering to soketi, with a pusher-js client (in this
//           process) subscribed to one conversation's channel: the latency
//           from COMMIT (track_commit_timestamp) to its receive under this
//           load (a tenth of the events, so that the client does not take
//           the machine's CPU)
// Figures: pgbench TPS; the worker's CPU per event delivered (utime +
// stime of its process over the events counted by rtpush.worker_status());
// events per HTTP request.

import process from 'node:process';
import { pusherClient } from '../../test/e2e/lib/clients.mjs';
import {
	startBenchPostgres, startSoketi, startSink, configurePhi, workerStatus, cpuSeconds, loadavg, quantile, summary,
	median, sleep, until, performance, log, wallOffset, pgbenchScript, runPgbench, BODY,
} from '../lib/common.mjs';

const CHANNELS = 10;
const CLIENTS = 2;
const TIMED = 1; // the conversation whose channel pusher-js times
const SOKETI_RATE = 3000;

const INSERT = `\\set conv random(1, ${CHANNELS})
INSERT INTO messages (conversation_id, sender_id, body) VALUES (:conv, :client_id, '${BODY}');
`;

export async function run({ secs, rounds, dataDir }) {
	log(`streaming: ${CLIENTS} pgbench clients of single-row INSERTs, ${secs} s per run, ${rounds} rounds`);
	const [pg, soketi, sink] = await Promise.all([startBenchPostgres({ track_commit_timestamp: 'on' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' }), startSink()]);
	let client;
	try {
		const toSink = { ...soketi.rtpushSettings(), 'rtpush.host': sink.host, 'rtpush.port': sink.port };
		await pg.set(toSink);
		await configurePhi(pg, 'rtpush_event_id');
		const workerPid = await pg.waitForWorker();
		client = await pusherClient({ soketi });
		const got = new Map(); // messages id -> receive time (performance.now())
		const timed = `private-conversation.${TIMED}`;
		await client.subscribe(timed);
		client.pusher.channel(timed).bind('message-sent', (data) => {
			const t1 = performance.now();
			const id = Number((typeof data === 'string' ? JSON.parse(data) : data).id);
			if (!got.has(id))
				got.set(id, t1);
		});
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

		async function writeFor(seconds, rate) {
			const { tps } = await runPgbench(pg, ['-f', script, '-c', String(CLIENTS), '-j', String(CLIENTS),
				'-T', String(seconds), ...(rate ? ['-R', String(rate)] : [])]);
			return tps;
		}

		async function stream(seconds, endpoint) {
			if (endpoint === 'soketi')
				await pg.set(soketi.rtpushSettings());
			const first = await lastId() + 1;
			const offset = wallOffset();
			const res = await measured(async () => {
				const tps = await writeFor(seconds, endpoint === 'soketi' ? SOKETI_RATE : 0);
				await until('the outbox drained after the stream', async () => await queued() === 0,
					{ timeoutMs: 120000, intervalMs: 20 });
				return { tps };
			});
			if (endpoint !== 'soketi')
				return res;
			await pg.set(toSink);
			const last = await lastId();
			const lastTimed = Number((await pg.one('SELECT coalesce(max(id), 0) AS m FROM messages WHERE conversation_id = $1',
				[TIMED])).m);
			await until('the timed channel\'s events at pusher-js', () => lastTimed < first || got.has(lastTimed),
				{ timeoutMs: 15000, intervalMs: 20 }).catch(() => {});
			const rows = await pg.rows(`SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS ms
				FROM messages WHERE id BETWEEN $1 AND $2 AND conversation_id = $3`, [first, last, TIMED]);
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
		await stream(2, 'sink');
		await offThenDrain(2);
		await stream(2, 'soketi');

		const runs = { stream: [], off: [], drain: [], soketi: [] };
		const line = (s) => `${s.tps.toFixed(0)} tps, worker ${s.worker_cpu_us_per_event.toFixed(1)} µs/event`
			+ ` (${s.worker_cpu_pct}%), ${s.events_per_request.toFixed(2)} events/request`;
		for (let r = 0; r < rounds; r++) {
			const la = loadavg()[0];
			const order = r % 2 ? ['off', 'soketi', 'stream'] : ['stream', 'off', 'soketi'];
			for (const v of order) {
				if (v === 'stream') {
					const s = await stream(secs, 'sink');
					runs.stream.push({ ...s, round: r + 1, loadavg: la });
					log(`streaming round ${r + 1} stream: ${line(s)}`);
				} else if (v === 'soketi') {
					const s = await stream(secs, 'soketi');
					runs.soketi.push({ ...s, round: r + 1, loadavg: la });
					log(`streaming round ${r + 1} soketi: ${line(s)}, from COMMIT p50 ${s.p50_ms.toFixed(2)}`
						+ ` p99 ${s.p99_ms.toFixed(2)} ms (${s.timed} timed, ${s.lost} lost)`);
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
			soketi_rate: SOKETI_RATE, tps_soketi: summary(col('soketi', 'tps')),
			cpu_us_soketi: summary(col('soketi', 'worker_cpu_us_per_event')),
			events_per_request_soketi: summary(col('soketi', 'events_per_request')),
			p50_ms: summary(col('soketi', 'p50_ms')), p99_ms: summary(col('soketi', 'p99_ms')),
			lost: col('soketi', 'lost').reduce((a, b) => a + b, 0),
		};
		log(`streaming: TPS stream/off ${median(res.tps_ratio.runs).toFixed(2)}x, worker µs/event stream/drain`
			+ ` ${median(res.cpu_ratio.runs).toFixed(2)}x`);
		return res;
	} finally {
		await client?.disconnect?.();
		await Promise.allSettled([pg.destroy(), soketi.destroy(), sink.destroy()]);
	}
}
