// sustained.mjs: benchmark 5, events written and delivered continuously
// (issue 7).
//
// pgbench (2 clients, -M prepared, throttled with -R to `rate` TPS) INSERTs
// single messages rows whose rtpush.broadcast() trigger queues one event
// each, for events/rate seconds; the worker delivers them to soketi as they
// commit.  Every 5 s: events written (the messages id sequence), delivered
// (rtpush.worker_status()), queued (their difference), the outbox's size on
// disk and the worker's RSS (VmRSS and RssAnon of /proc/<pid>/status).
// Rates are taken per bucket (a minute, or a quarter of the run when it is
// shorter) to show decay from the first to the last bucket.
//
// It runs twice: with the default settings, and in the configuration the
// README recommends for PHI (issue 15): rtpush.event_id_field set and a
// quarter of the rows sent on private-encrypted- channels (end-to-end
// encrypted with rtpush.encryption_master_key), the rest on plain private
// channels.  The plain run's figures are the result; the PHI run's are
// reported beside them under `phi`.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PGBIN } from '../../test/e2e/lib/pg.mjs';
import {
	startBenchPostgres, startSoketi, workerStatus, outboxBytes, cpuMeter, cpuSeconds, rssKb, loadavg, median,
	sleep, performance, log, BODY, configurePhi,
} from '../lib/common.mjs';

const now = () => performance.now();
const MB = (b) => Math.round(b / 1048576 * 10) / 10;

// the PHI run's figures reported beside the plain run's
function phiSummary(r) {
	return { events: r.events, encrypted_share: 0.25, event_id_field: 'eid', pgbench_tps: r.pgbench_tps,
		delivery_decay: r.delivery_decay, worker_rss_kb: r.worker_rss_kb, worker_anon_kb: r.worker_anon_kb,
		worker_own_kb: r.worker_own_kb, queued_max: r.queued_max, batch_fill: r.batch_fill, cpu: r.cpu,
		secs_writing: r.secs_writing, secs_to_delivered: r.secs_to_delivered };
}

export async function run(opts) {
	const plain = await runOne(opts);
	const phi = await runOne({ ...opts, dataDir: null, phi: true });
	return { ...plain, phi: phiSummary(phi) };
}

async function runOne({ events: n, rate, dataDir, phi = false }) {
	const secs = Math.ceil(n / rate);
	log(`sustained${phi ? ' (PHI: event ids, 1/4 encrypted)' : ''}: ${n} events at ${rate}/s (${secs} s)`);
	const [pg, soketi] = await Promise.all([startBenchPostgres(),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	let bench;
	try {
		await pg.set(soketi.rtpushSettings());
		if (phi)
			await configurePhi(pg, 'eid');
		const workerPid = await pg.waitForWorker();
		const script = path.join(pg.dir, 'insert.sql');
		fs.writeFileSync(script, `\\set cid random(1, 100)\n\\set sid random(1, 10000)\n`
			+ `INSERT INTO messages (conversation_id, sender_id, body) VALUES (:cid, :sid, '${BODY}');\n`);
		fs.chmodSync(script, 0o644);
		const s0 = await workerStatus(pg);
		// VmRSS counts every page of shared buffers the worker ever touched;
		// without RssShmem it is the worker's own memory (private + mapped files)
		const ownKb = (pid) => rssKb(pid) - rssKb(pid, 'RssShmem');
		const rss0 = rssKb(workerPid);
		const anon0 = rssKb(workerPid, 'RssAnon');
		const own0 = ownKb(workerPid);
		const meter = cpuMeter({ pg, workerPid, serverPid: soketi.pid });
		const t0 = now();
		bench = spawn(path.join(PGBIN, 'pgbench'), ['-n', '-M', 'prepared', '-c', '2', '-j', '2', '-R', String(rate),
			'-T', String(secs), '-P', '5', '-f', script, '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'bench'],
		{ stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		const progress = [];
		bench.stderr.on('data', (d) => {
			out += d;
			for (const m of d.toString().matchAll(/progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms.*?lag ([\d.]+) ms/g))
				progress.push({ t: Number(m[1]), tps: Number(m[2]), lat: Number(m[3]), lag: Number(m[4]) });
		});
		bench.stdout.on('data', (d) => { out += d; });
		const done = new Promise((resolve) => bench.once('exit', resolve));
		let finished = false;
		let tExit = null;
		done.then(() => { finished = true; tExit = now(); });

		const samples = [];
		// one event per messages row: its id sequence counts what was written
		// (rtpush.outbox_id_seq hands out blocks of ids, so it cannot)
		const seqSql = 'SELECT last_value, is_called FROM messages_id_seq';
		const seqOf = (r) => Number(r.last_value) - (r.is_called ? 0 : 1);
		const written0 = seqOf(await pg.one(seqSql));
		// index entries the worker's fetches read (pg_stat: flushed about once a second)
		const idxSql = `SELECT idx_tup_read AS r, idx_scan AS n FROM pg_stat_all_indexes WHERE indexrelid = 'rtpush.outbox_pkey'::regclass`;
		let prev = { t: now(), cpu: cpuSeconds(workerPid), idx: await pg.one(idxSql) };
		const sample = async () => {
			const [s, b, w, idx] = await Promise.all([workerStatus(pg), outboxBytes(pg), pg.one(seqSql), pg.one(idxSql)]);
			const t = now();
			const cpuNow = cpuSeconds(workerPid);
			const dt = (t - prev.t) / 1000;
			const delivered = Number(s.delivered) - Number(s0.delivered);
			const written = seqOf(w) - written0;
			samples.push({ t: (t - t0) / 1000, delivered, written, queued: written - delivered,
				total: b.total, heap: b.heap, dead: b.dead, held: Number(s.held),
				rss: rssKb(workerPid), anon: rssKb(workerPid, 'RssAnon'), own: ownKb(workerPid), la: loadavg()[0],
				worker_cpu: Math.round(100 * (cpuNow - prev.cpu) / dt),
				idx_read_s: Math.round((Number(idx.r) - Number(prev.idx.r)) / dt),
				idx_scans_s: Math.round((Number(idx.n) - Number(prev.idx.n)) / dt) });
			prev = { t, cpu: cpuNow, idx };
		};
		let next = t0;
		while (!finished) {
			next += 5000;
			await sleep(Math.max(0, next - now()));
			await sample();
		}
		const code = await done;
		if (code !== 0)
			throw new Error(`pgbench failed (${code}): ${out.slice(-2000)}`);
		const tWritten = (tExit - t0) / 1000;
		const written = seqOf(await pg.one(seqSql)) - written0;
		// and the rest delivered
		for (;;) {
			const s = await workerStatus(pg);
			if (Number(s.delivered) - Number(s0.delivered) >= written)
				break;
			if (now() - t0 > (secs + 600) * 1000)
				throw new Error(`not all delivered: ${JSON.stringify(s)}`);
			await sleep(100);
		}
		const tDelivered = Math.max(tWritten, (now() - t0) / 1000);
		const cpu = meter.stop();
		await sleep(1000); // statistics catch up
		await sample();
		const rss1 = rssKb(workerPid);
		const anon1 = rssKb(workerPid, 'RssAnon');
		const own1 = ownKb(workerPid);
		// "start": the first sample after 10 s of delivery (the worker's
		// buffers and caches warmed up); "idle": before the run
		const warm = samples.find((s) => s.t >= 10) ?? samples[0];
		const s1 = await workerStatus(pg);
		const pgbenchTps = Number(/tps = ([\d.]+) \(without/.exec(out)?.[1]);

		// buckets: a minute, or a quarter of the writing time when shorter
		const bucket = Math.min(60, Math.max(5, Math.floor(tWritten / 4 / 5) * 5));
		const buckets = [];
		for (let b = 0; (b + 1) * bucket <= secs + 0.5; b++) {
			const at = (x) => samples.reduce((best, s) => (Math.abs(s.t - x) < Math.abs(best.t - x) ? s : best), samples[0]);
			const a = b === 0 ? { t: 0, delivered: 0, written: 0 } : at(b * bucket);
			const z = at((b + 1) * bucket);
			buckets.push({ from: Math.round(a.t), to: Math.round(z.t),
				write_rate: (z.written - a.written) / (z.t - a.t),
				delivery_rate: (z.delivered - a.delivered) / (z.t - a.t) });
		}
		const decay = (k) => (buckets.length >= 2 ? 1 - buckets[buckets.length - 1][k] / buckets[0][k] : NaN);
		if (dataDir) {
			fs.mkdirSync(dataDir, { recursive: true });
			const rate = (i, k) => (i === 0 ? samples[0][k] / samples[0].t : (samples[i][k] - samples[i - 1][k]) / (samples[i].t - samples[i - 1].t));
			fs.writeFileSync(`${dataDir}/sustained.dat`, '# t_s written delivered queued total_MB heap_MB rss_MB anon_MB written/s delivered/s'
				+ ' worker_cpu_% pkey_tuples_read/s pkey_scans/s held dead_tuples own_MB\n'
				+ samples.map((s, i) => `${s.t.toFixed(1)} ${s.written} ${s.delivered} ${s.queued} ${MB(s.total)} ${MB(s.heap)}`
					+ ` ${(s.rss / 1024).toFixed(1)} ${(s.anon / 1024).toFixed(1)} ${rate(i, 'written').toFixed(0)} ${rate(i, 'delivered').toFixed(0)}`
					+ ` ${s.worker_cpu} ${s.idx_read_s} ${s.idx_scans_s} ${s.held} ${s.dead} ${(s.own / 1024).toFixed(1)}`).join('\n') + '\n');
		}
		const res = {
			events: written, target_events: n, target_rate: rate, secs_writing: tWritten, secs_to_delivered: tDelivered,
			pgbench_tps: pgbenchTps,
			progress_tps_median: median(progress.map((p) => p.tps)),
			max_lag_ms: Math.max(...progress.map((p) => p.lag)),
			bucket_s: bucket, buckets,
			write_decay: decay('write_rate'), delivery_decay: decay('delivery_rate'),
			delivered: Number(s1.delivered) - Number(s0.delivered),
			requests: Number(s1.http_requests) - Number(s0.http_requests),
			worker_rss_kb: { idle: rss0, start: warm.rss, end: rss1, max: Math.max(...samples.map((s) => s.rss)) },
			worker_anon_kb: { idle: anon0, start: warm.anon, end: anon1, max: Math.max(...samples.map((s) => s.anon)) },
			worker_own_kb: { idle: own0, start: warm.own, end: own1, max: Math.max(...samples.map((s) => s.own)) },
			queued_max: Math.max(...samples.map((s) => s.queued)),
			outbox_bytes: { max: Math.max(...samples.map((s) => s.total)), end: samples[samples.length - 1].total },
			worker_latency_p50_ms: s1.latency_p50_ms, cpu,
			// steady state (after the first bucket): what the worker's fetches cost
			steady: (() => {
				const st = samples.filter((s) => s.t > bucket && s.t <= secs);
				const m = (k) => median(st.map((s) => s[k]));
				return { queued: m('queued'), held: m('held'), worker_cpu_pct: m('worker_cpu'),
					pkey_tuples_read_per_s: m('idx_read_s'), pkey_scans_per_s: m('idx_scans_s'), dead_tuples: m('dead'),
					delivered_per_s: median(st.map((s, i) => (i ? (s.delivered - st[i - 1].delivered) / (s.t - st[i - 1].t) : NaN)).filter(Number.isFinite)) };
			})(),
			loadavg: median(samples.map((s) => s.la)),
		};
		res.batch_fill = res.delivered / res.requests;
		log(`sustained${phi ? ' (PHI)' : ''}: ${Math.round(res.pgbench_tps)} tps, delivery rates ${buckets.map((b) => Math.round(b.delivery_rate)).join(' ')},`
			+ ` decay ${(100 * res.delivery_decay).toFixed(1)}%, rss ${rss0} / ${warm.rss} -> ${rss1} kB (anon ${anon0} / ${warm.anon} -> ${anon1}), queued max ${res.queued_max},`
			+ ` outbox max ${MB(res.outbox_bytes.max)} MB, cpu worker ${cpu.worker_pct}% pg ${cpu.postgres_pct}% soketi ${cpu.server_pct}%;`
			+ ` steady ${JSON.stringify(res.steady)}`);
		return res;
	} finally {
		if (bench && bench.exitCode === null)
			bench.kill('SIGTERM');
		await soketi.destroy();
		await pg.destroy();
	}
}
