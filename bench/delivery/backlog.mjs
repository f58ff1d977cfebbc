// backlog.mjs: benchmark 4, a backlog built while the endpoint is down,
// then drained (issue 7).
//
// The worker is configured for soketi, then soketi is stopped (connections
// refused: the worker retries with backoff).  N events are written through
// the messages table's rtpush.broadcast() trigger (1,000-row INSERT ...
// SELECTs, 2 connections), soketi is started again on the same port, and
// the worker drains the outbox.  Every second: the outbox's size on disk
// (pg_total_relation_size, heap, primary key), events still queued,
// delivered, autovacuum runs.  After the drain it keeps sampling for a while
// to see whether autovacuum gives the space back (no VACUUM FULL, nor any
// manual VACUUM, is run).  rtpush.retry_max is 5 s here so the wait between
// soketi coming back and the first retry stays short; that wait is reported
// apart from the drain.

import fs from 'node:fs';
import {
	startBenchPostgres, startSoketi, fillMessages, workerStatus, outboxBytes, cpuMeter, rssKb, loadavg,
	sleep, performance, log,
} from '../lib/common.mjs';

const now = () => performance.now();
const MB = (b) => Math.round(b / 1048576 * 10) / 10;

export async function run({ events: n, rounds, settleSecs = 75, dataDir }) {
	log(`backlog: ${n} events, ${rounds} rounds`);
	const [pg, soketi] = await Promise.all([startBenchPostgres({ 'rtpush.retry_max': '5s' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	const timeline = [];
	try {
		await pg.set(soketi.rtpushSettings());
		const workerPid = await pg.waitForWorker();
		const tStart = now();
		const before = await outboxBytes(pg);
		const rss0 = rssKb(workerPid);
		const anon0 = rssKb(workerPid, 'RssAnon');
		let phase = 'idle';
		let filled = { done: 0 };
		let delivered0 = Number((await workerStatus(pg)).delivered);
		let sampling = true;
		const sampler = (async () => {
			while (sampling) {
				const [b, s] = await Promise.all([outboxBytes(pg), workerStatus(pg)]);
				const d = Number(s.delivered) - delivered0;
				timeline.push({ t: (now() - tStart) / 1000, phase, ...b, delivered: d, queued: filled.done - d });
				await sleep(1000);
			}
		})();
		const rounds_ = [];
		for (let r = 0; r < rounds; r++) {
			const res = { round: r + 1, loadavg: loadavg()[0] };
			delivered0 = Number((await workerStatus(pg)).delivered);
			filled = { done: 0 };
			await soketi.stop();
			phase = 'fill';
			res.size_before = (await outboxBytes(pg)).total;
			let t = now();
			await fillMessages(pg, n, { progress: filled });
			res.fill_secs = (now() - t) / 1000;
			res.fill_rate = n / res.fill_secs;
			const atFull = await outboxBytes(pg);
			res.size_full = atFull.total;
			res.heap_full = atFull.heap;
			res.index_full = atFull.index;
			const s0 = await workerStatus(pg);
			res.retried_while_down = Number(s0.retried);
			phase = 'drain';
			t = now();
			await soketi.start();
			const meter = cpuMeter({ pg, workerPid, serverPid: soketi.pid }); // soketi's new pid
			res.tUp = (t - tStart) / 1000;
			let first = null;
			let peak = res.size_full;
			for (;;) {
				const s = await workerStatus(pg);
				const d = Number(s.delivered) - delivered0;
				if (first === null && d > 0)
					first = now();
				if (d >= n && (await pg.one('SELECT NOT EXISTS (SELECT FROM rtpush.outbox) AS e')).e)
					break;
				if (now() - t > 1800000)
					throw new Error(`backlog not drained after 30 min: ${JSON.stringify(s)}`);
				peak = Math.max(peak, timeline.length ? timeline[timeline.length - 1].total : 0);
				await sleep(50);
			}
			const tEnd = now();
			res.cpu = meter.stop();
			const s1 = await workerStatus(pg);
			res.wait_first_secs = (first - t) / 1000;
			res.drain_secs = (tEnd - t) / 1000;
			res.drain_rate = n / res.drain_secs;
			res.drain_rate_after_first = n / ((tEnd - first) / 1000);
			res.requests = Number(s1.http_requests) - Number(s0.http_requests);
			res.batch_fill = (Number(s1.delivered) - Number(s0.delivered)) / res.requests;
			res.size_peak = peak;
			const atEnd = await outboxBytes(pg);
			res.size_drained = atEnd.total;
			phase = 'settle';
			// autovacuum only: wait for it to run after the drain and give space back
			const av0 = atEnd.autovacuums;
			const settleEnd = now() + settleSecs * 1000;
			let last = atEnd;
			while (now() < settleEnd) {
				await sleep(1000);
				last = await outboxBytes(pg);
				if (last.autovacuums > av0 && last.heap === 0)
					break;
			}
			res.size_after = last.total;
			res.heap_after = last.heap;
			res.index_after = last.index;
			res.autovacuums = last.autovacuums;
			res.settle_secs = Math.round((now() - tEnd) / 1000);
			rounds_.push(res);
			log(`backlog round ${r + 1}: fill ${Math.round(res.fill_rate)}/s; wait ${res.wait_first_secs.toFixed(1)} s;`
				+ ` drain ${Math.round(res.drain_rate)}/s (${Math.round(res.drain_rate_after_first)}/s after the first);`
				+ ` outbox ${MB(res.size_before)} -> ${MB(res.size_full)} -> ${MB(res.size_drained)} -> ${MB(res.size_after)} MB`
				+ ` (heap ${MB(res.heap_after)}, pkey ${MB(res.index_after)}); autovacuums ${res.autovacuums};`
				+ ` cpu worker ${res.cpu.worker_pct}% pg ${res.cpu.postgres_pct}% soketi ${res.cpu.server_pct}%`);
			phase = 'idle';
		}
		sampling = false;
		await sampler;
		if (dataDir) {
			fs.mkdirSync(dataDir, { recursive: true });
			fs.writeFileSync(`${dataDir}/backlog.dat`, '# t_s total_MB heap_MB index_MB queued delivered\n'
				+ timeline.map((x) => `${x.t.toFixed(1)} ${MB(x.total)} ${MB(x.heap)} ${MB(x.index)} ${x.queued} ${x.delivered}`).join('\n') + '\n');
		}
		return {
			events: n, rounds, retry_max: '5s', size_initial: before.total, rounds_: rounds_,
			worker_rss_kb: { start: rss0, end: rssKb(workerPid) },
			worker_anon_kb: { start: anon0, end: rssKb(workerPid, 'RssAnon') },
			autovacuum_settings: (await pg.one("SELECT reloptions FROM pg_class WHERE oid = 'rtpush.outbox'::regclass")).reloptions,
			naptime: (await pg.one('SHOW autovacuum_naptime')).autovacuum_naptime,
		};
	} finally {
		await soketi.destroy();
		await pg.destroy();
	}
}
