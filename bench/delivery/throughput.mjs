// throughput.mjs: benchmark 2, delivery throughput (issue 7).
//
// One PostgreSQL cluster, one soketi, one HTTP sink.  Variants, run in
// interleaved rounds (the order rotates every round), each over the same N
// events (100 channels, ~200-byte data):
//   rtpush-soketi   the outbox pre-filled with N events while the worker is
//                   not configured (rtpush.app_id empty), then configured
//                   and reloaded: timed from pg_reload_conf() until
//                   rtpush.status.delivered grew by N and the outbox is empty
//   lib-batched     the official `pusher` library, triggerBatch() of 10
//                   events, C requests at once (C = rtpush.max_in_flight)
//   lib-unbatched   the same library, trigger() of one event, C at once
//   rtpush-sink     as rtpush-soketi, into a local HTTP server answering
//                   200 {} (the worker's own ceiling)
// Also records CPU of the worker, other PostgreSQL processes, soketi/sink
// and this driver, requests and batch fill (delivered / http_requests).

import fs from 'node:fs';
import {
	startBenchPostgres, startSoketi, startSink, fillMessages, outboxEvents, workerStatus,
	cpuMeter, loadavg, summary, sleep, until, performance, log,
} from '../lib/common.mjs';

const now = () => performance.now();

async function configure(pg, settings) {
	await pg.set(settings, { reload: false });
}

/** Fill the outbox with n events while the worker may not deliver. */
async function prefill(pg, n) {
	await configure(pg, { 'rtpush.app_id': '' });
	await pg.reload({ pauseMs: 300 });
	await pg.query('TRUNCATE messages');
	await pg.query('VACUUM rtpush.outbox');
	await fillMessages(pg, n);
	await pg.query('CHECKPOINT');
	const c = await pg.one('SELECT count(*)::int AS n FROM rtpush.outbox');
	if (c.n !== n)
		throw new Error(`outbox has ${c.n} events, expected ${n}`);
	await sleep(300); // let the worker's wake-up fetch settle
}

const XACTS = 'SELECT xact_commit + xact_rollback AS x FROM pg_stat_database WHERE datname = current_database()';

/**
 * Drains a pre-filled outbox of n events to target: the figures of one
 * rtpush variant (also bench/history/throughput.mjs's).
 */
export async function rtpushDrain(pg, n, target, workerPid, trace, onFilled) {
	await prefill(pg, n);
	if (onFilled)
		await onFilled();
	await sleep(1100); // statistics flushed
	const x0 = Number((await pg.one(XACTS)).x);
	let mine = 0; // this driver's own transactions in between
	const s0 = await workerStatus(pg);
	const meter = cpuMeter({ pg, workerPid, serverPid: target.pid });
	// everything but app_id first: the worker may not start early
	await configure(pg, { ...target.settings(), 'rtpush.app_id': '' });
	await pg.reload({ pauseMs: 300 });
	await configure(pg, { 'rtpush.app_id': target.appId });
	mine += Object.keys(target.settings()).length + 3;
	meter.restart();
	const t0 = now();
	await pg.query('SELECT pg_reload_conf()');
	let s = s0;
	let lastT = t0;
	let lastD = 0;
	while (Number(s.delivered) - Number(s0.delivered) < n) {
		await sleep(20);
		s = await workerStatus(pg);
		mine++;
		const t = now();
		const d = Number(s.delivered) - Number(s0.delivered);
		if (trace && t - lastT >= 250) {
			trace.push({ t: (t - t0) / 1000, rate: (d - lastD) / ((t - lastT) / 1000), delivered: d });
			lastT = t;
			lastD = d;
		}
		if (t - t0 > 600000)
			throw new Error(`drain not done after 600 s: ${JSON.stringify(s)}`);
		if (Number(s.failed) > Number(s0.failed) || Number(s.dead_lettered) > Number(s0.dead_lettered))
			throw new Error(`delivery failures: ${JSON.stringify(s)}`);
	}
	await until('an empty outbox', async () => { mine++; return (await pg.one('SELECT NOT EXISTS (SELECT FROM rtpush.outbox) AS e')).e; },
		{ intervalMs: 5, timeoutMs: 60000 });
	const secs = (now() - t0) / 1000;
	const cpu = meter.stop();
	await sleep(1100);
	const xacts = Number((await pg.one(XACTS)).x) - x0 - mine - 1;
	const reqs = Number(s.http_requests) - Number(s0.http_requests);
	const delivered = Number(s.delivered) - Number(s0.delivered);
	return {
		secs, rate: n / secs, requests: reqs, req_rate: reqs / secs,
		batch_fill: delivered / reqs, retried: Number(s.retried) - Number(s0.retried), cpu,
		worker_xacts: xacts, worker_cpu_ms_per_1000: cpu.worker_pct / 100 * secs * 1000 / (n / 1000),
	};
}

async function libraryPublish(pusher, events, concurrency, batch, soketi, pg, workerPid) {
	const meter = cpuMeter({ pg, workerPid, serverPid: soketi.pid });
	let next = 0;
	let requests = 0;
	const t0 = now();
	await Promise.all(Array.from({ length: concurrency }, async () => {
		while (next < events.length) {
			const from = next;
			next += batch;
			const part = events.slice(from, from + batch);
			requests++;
			if (batch === 1)
				await pusher.trigger(part[0].channel, part[0].name, part[0].data);
			else
				await pusher.triggerBatch(part.map((e) => ({ channel: e.channel, name: e.name, data: e.data })));
		}
	}));
	const secs = (now() - t0) / 1000;
	return { secs, rate: events.length / secs, requests, req_rate: requests / secs, batch_fill: events.length / requests, cpu: meter.stop() };
}

export async function run({ events: n, rounds, concurrency = 8, unbatchedEvents, warm: warmEvents, dataDir }) {
	log(`throughput: ${n} events, ${rounds} rounds, concurrency ${concurrency}`);
	const [pg, soketi] = await Promise.all([startBenchPostgres({ 'rtpush.max_in_flight': String(concurrency), 'rtpush.batch_size': '10' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	const sink = await startSink();
	try {
		const workerPid = await pg.waitForWorker();
		const pusher = await soketi.server();
		const targets = {
			soketi: { pid: soketi.pid, appId: soketi.appId, settings: () => soketi.rtpushSettings() },
			sink: {
				pid: sink.pid, appId: 'bench',
				settings: () => ({ ...soketi.rtpushSettings(), 'rtpush.host': sink.host, 'rtpush.port': sink.port }),
			},
		};
		// the library publishes exactly the events the outbox holds; this
		// first drain is a warm-up
		let events;
		log('throughput: warm-up drain of the first fill');
		await rtpushDrain(pg, n, targets.soketi, workerPid, null, async () => { events = await outboxEvents(pg); });
		const bytes = events.reduce((a, e) => a + e.data.length, 0) / events.length;
		const channels = new Set(events.map((e) => e.channel)).size;

		const variants = {
			'rtpush-soketi': (k, tr) => rtpushDrain(pg, k, targets.soketi, workerPid, tr),
			'lib-batched': (k) => libraryPublish(pusher, events.slice(0, k), concurrency, 10, soketi, pg, workerPid),
			// unbatched is ~10x slower: it publishes the first unbatchedEvents
			'lib-unbatched': (k) => libraryPublish(pusher, events.slice(0, Math.min(k, unbatchedEvents ?? k)), concurrency, 1, soketi, pg, workerPid),
			'rtpush-sink': (k, tr) => rtpushDrain(pg, k, targets.sink, workerPid, tr),
		};
		const names = Object.keys(variants);
		const warm = warmEvents ?? Math.max(2000, Math.round(n / 10));
		log(`throughput: warm-up, ${warm} events per variant`);
		for (const v of names.slice(1))
			await variants[v](warm);

		const runs = Object.fromEntries(names.map((v) => [v, []]));
		const traces = {};
		for (let r = 0; r < rounds; r++) {
			const order = names.map((_, i) => names[(i + r) % names.length]);
			for (const v of order) {
				const trace = v.startsWith('rtpush') && r === 0 ? [] : null;
				const la = loadavg()[0];
				const res = await variants[v](n, trace);
				res.round = r + 1;
				res.loadavg = la;
				runs[v].push(res);
				if (trace)
					traces[v] = trace;
				log(`throughput round ${r + 1} ${v}: ${Math.round(res.rate)} events/s, ${Math.round(res.req_rate)} req/s,`
					+ ` fill ${res.batch_fill.toFixed(2)}, cpu worker ${res.cpu.worker_pct}% pg ${res.cpu.postgres_pct}%`
					+ ` server ${res.cpu.server_pct}% driver ${res.cpu.driver_pct}% machine ${res.cpu.machine_pct}%`
					+ (res.worker_xacts !== undefined ? `; worker ≈${res.worker_xacts} transactions, ${res.worker_cpu_ms_per_1000.toFixed(0)} ms CPU per 1000 events` : ''));
			}
		}
		if (dataDir) {
			fs.mkdirSync(dataDir, { recursive: true });
			for (const [v, tr] of Object.entries(traces))
				fs.writeFileSync(`${dataDir}/throughput-${v}.dat`, '# t_s events/s delivered\n'
					+ tr.map((x) => `${x.t.toFixed(3)} ${x.rate.toFixed(0)} ${x.delivered}`).join('\n') + '\n');
		}
		const rates = Object.fromEntries(names.map((v) => [v, summary(runs[v].map((x) => x.rate))]));
		// per-round ratios (same round = closest conditions)
		const ratio = (a, b) => summary(runs[a].map((x, i) => x.rate / runs[b][i].rate));
		return {
			events: n, unbatched_events: Math.min(n, unbatchedEvents ?? n), rounds, concurrency, channels, avg_data_bytes: Math.round(bytes),
			runs, rates, traces,
			ratios: {
				'rtpush-soketi/lib-batched': ratio('rtpush-soketi', 'lib-batched'),
				'rtpush-soketi/lib-unbatched': ratio('rtpush-soketi', 'lib-unbatched'),
				'rtpush-sink/rtpush-soketi': ratio('rtpush-sink', 'rtpush-soketi'),
			},
		};
	} finally {
		await sink.destroy();
		await soketi.destroy();
		await pg.destroy();
	}
}
