// latency.mjs: benchmark 3, COMMIT -> pusher-js receive latency (issue 7).
//
// One PostgreSQL cluster with the worker delivering to one soketi, and a
// pusher-js client (in this process) subscribed to 10 private channels.
// Variants, at each rate (events/s), in interleaved rounds:
//   rtpush  a node-postgres client in autocommit INSERTs a messages row
//           (the rtpush.broadcast() trigger queues the event).  Latency is
//           taken from the transaction's commit timestamp on the server
//           (track_commit_timestamp) to the receive, both on the wall clock,
//           and also from just before the statement is sent (which adds the
//           INSERT's own execution and round trip).  A check counts the
//           commit timestamps that fall between the client's send and
//           return, which they must if the two clocks agree.
//   floor   the official `pusher` library publishes the same event straight
//           to soketi (t0 just before trigger())
// Latency = pusher-js receive time - t0, same clock, same process; from
// COMMIT: the receive time on the wall clock - the commit timestamp.
// Writers: 4 connections (an INSERT waits for a free one), paced by a 1 ms
// timer.

import fs from 'node:fs';
import { pusherClient } from '../../test/e2e/lib/clients.mjs';
import {
	startBenchPostgres, startSoketi, workerStatus, cpuMeter, loadavg, quantile, summary, median,
	sleep, until, performance, log, BODY, wallOffset,
} from '../lib/common.mjs';

const CHANNELS = 10;
const now = () => performance.now();

export async function run({ rates, secs, rounds, dataDir }) {
	log(`latency: rates ${rates.join(', ')}/s, ${secs} s per run, ${rounds} rounds`);
	const [pg, soketi] = await Promise.all([startBenchPostgres({ track_commit_timestamp: 'on' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	const writers = [];
	let client;
	try {
		await pg.set(soketi.rtpushSettings());
		const workerPid = await pg.waitForWorker();
		const pusher = await soketi.server();
		client = await pusherClient({ soketi });

		const sent = new Map(); // seq -> {t0, committed}
		const got = new Map(); // seq -> t1
		for (let c = 1; c <= CHANNELS; c++) {
			const name = `private-conversation.${c}`;
			await client.subscribe(name);
			client.pusher.channel(name).bind('message-sent', (data) => {
				const t1 = now();
				const seq = (typeof data === 'string' ? JSON.parse(data) : data).sender_id;
				if (!got.has(seq))
					got.set(seq, t1);
			});
		}
		for (let i = 0; i < 4; i++)
			writers.push(await pg.connect());
		const insert = 'INSERT INTO messages (conversation_id, sender_id, body) VALUES ($1, $2, $3)';
		let seq = 0;
		// a free connection runs the INSERT at once, else it waits its turn
		const free = [...writers];
		const waiting = [];
		const onWriter = async (fn) => {
			const c = free.pop() ?? await new Promise((r) => waiting.push(r));
			try {
				return await fn(c);
			} finally {
				const next = waiting.shift();
				if (next)
					next(c);
				else
					free.push(c);
			}
		};

		const sendOne = (variant) => {
			const s = ++seq;
			const conv = 1 + (s % CHANNELS);
			const rec = { t0: now(), committed: null };
			sent.set(s, rec);
			let p;
			if (variant === 'rtpush') {
				p = onWriter((c) => c.query({ text: insert, values: [conv, s, BODY], name: 'ins' }));
			} else {
				const data = JSON.stringify({ id: s, conversation_id: conv, sender_id: s, body: BODY,
					status: 'sent', created_at: new Date().toISOString() });
				p = pusher.trigger(`private-conversation.${conv}`, 'message-sent', data);
			}
			return p.then(() => { rec.committed = now() - rec.t0; });
		};

		async function runOne(variant, rate, seconds) {
			const n = Math.round(rate * seconds);
			const first = seq + 1;
			const pending = [];
			const s0 = await workerStatus(pg);
			const meter = cpuMeter({ pg, workerPid, serverPid: soketi.pid });
			const offset = wallOffset();
			const start = now();
			for (let i = 0; i < n;) {
				const due = Math.floor((now() - start) * rate / 1000) + 1;
				while (i < Math.min(due, n)) {
					pending.push(sendOne(variant));
					i++;
				}
				await sleep(1);
			}
			await Promise.all(pending);
			const missing = () => {
				let c = 0;
				for (let s = first; s < first + n; s++)
					if (!got.has(s))
						c++;
				return c;
			};
			await until(`${n} ${variant} events at pusher-js`, () => missing() === 0,
				{ timeoutMs: 15000, intervalMs: 20 }).catch(() => {});
			const lost = missing();
			const cpu = meter.stop();
			const s1 = await workerStatus(pg);
			const lat = [];
			const commit = [];
			for (let s = first; s < first + n; s++) {
				if (got.has(s))
					lat.push(got.get(s) - sent.get(s).t0);
				commit.push(sent.get(s).committed);
			}
			lat.sort((a, b) => a - b);
			commit.sort((a, b) => a - b);
			// from the server's commit timestamps (rtpush only)
			const latc = [];
			let inBracket = 0;
			if (variant === 'rtpush') {
				const rows = await pg.rows(`SELECT sender_id AS s, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS ms
					FROM messages WHERE sender_id BETWEEN $1 AND $2`, [first, first + n - 1]);
				for (const r of rows) {
					const s = Number(r.s);
					const c = Number(r.ms) - offset; // on the performance.now() clock
					const rec = sent.get(s);
					if (c >= rec.t0 && c <= rec.t0 + rec.committed)
						inBracket++;
					if (got.has(s))
						latc.push(got.get(s) - c);
				}
				latc.sort((a, b) => a - b);
			}
			const reqs = Number(s1.http_requests) - Number(s0.http_requests);
			const dlv = Number(s1.delivered) - Number(s0.delivered);
			return {
				n, lost, lat, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1],
				commit_p50: quantile(commit, 0.5), commit_p99: quantile(commit, 0.99),
				latc, p50c: latc.length ? quantile(latc, 0.5) : null, p99c: latc.length ? quantile(latc, 0.99) : null,
				maxc: latc.length ? latc[latc.length - 1] : null, in_bracket: inBracket,
				achieved_rate: n / ((now() - start) / 1000),
				batch_fill: variant === 'rtpush' && reqs ? dlv / reqs : null, cpu,
			};
		}

		log('latency: warm-up');
		for (const v of ['rtpush', 'floor'])
			await runOne(v, 100, 1);

		const keys = [];
		for (const rate of rates)
			for (const v of ['rtpush', 'floor'])
				keys.push(`${v}@${rate}`);
		const runs = Object.fromEntries(keys.map((k) => [k, []]));
		for (let r = 0; r < rounds; r++) {
			for (const rate of rates) {
				const order = r % 2 ? ['floor', 'rtpush'] : ['rtpush', 'floor'];
				for (const v of order) {
					const la = loadavg()[0];
					const res = await runOne(v, rate, secs);
					res.round = r + 1;
					res.loadavg = la;
					runs[`${v}@${rate}`].push(res);
					log(`latency round ${r + 1} ${v} @${rate}/s: p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms,`
						+ ` max ${res.max.toFixed(1)} ms, lost ${res.lost}, commit p50 ${res.commit_p50.toFixed(2)} ms,`
						+ (res.p50c === null ? '' : ` from COMMIT p50 ${res.p50c.toFixed(2)} p99 ${res.p99c.toFixed(2)} ms`
							+ ` (${res.in_bracket}/${res.n} commit times inside send-return),`)
						+ ` cpu worker ${res.cpu.worker_pct}% soketi ${res.cpu.server_pct}% machine ${res.cpu.machine_pct}%`);
					await sleep(200);
				}
			}
		}
		// pooled distributions for the plot, per-round figures for the table
		const out = { rates, secs, rounds, channels: CHANNELS, variants: {} };
		const cdf = (all) => all.map((x, i) => `${x.toFixed(4)} ${((i + 1) / all.length).toFixed(6)}`).join('\n') + '\n';
		const pooled = (xs) => {
			const all = [...xs].sort((a, b) => a - b);
			return { p50: quantile(all, 0.5), p90: quantile(all, 0.9), p99: quantile(all, 0.99), max: all[all.length - 1] };
		};
		for (const k of keys) {
			const all = runs[k].flatMap((x) => x.lat).sort((a, b) => a - b);
			if (dataDir) {
				fs.mkdirSync(dataDir, { recursive: true });
				fs.writeFileSync(`${dataDir}/latency-${k.replace('@', '-')}.dat`, cdf(all));
				if (runs[k][0].p50c !== null)
					fs.writeFileSync(`${dataDir}/latency-${k.replace('@', '-commit-')}.dat`,
						cdf(runs[k].flatMap((x) => x.latc).sort((a, b) => a - b)));
			}
			out.variants[k] = {
				n: all.length,
				lost: runs[k].reduce((a, x) => a + x.lost, 0),
				p50: summary(runs[k].map((x) => x.p50)),
				p99: summary(runs[k].map((x) => x.p99)),
				max: summary(runs[k].map((x) => x.max)),
				pooled: pooled(all),
				commit_p50: median(runs[k].map((x) => x.commit_p50)),
				commit_p99: median(runs[k].map((x) => x.commit_p99)),
				...(runs[k][0].p50c === null ? {} : {
					from_commit: {
						p50: summary(runs[k].map((x) => x.p50c)),
						p99: summary(runs[k].map((x) => x.p99c)),
						max: summary(runs[k].map((x) => x.maxc)),
						pooled: pooled(runs[k].flatMap((x) => x.latc)),
						in_bracket: runs[k].reduce((a, x) => a + x.in_bracket, 0),
						events: runs[k].reduce((a, x) => a + x.n, 0),
					},
				}),
				achieved_rate: median(runs[k].map((x) => x.achieved_rate)),
				batch_fill: runs[k][0].batch_fill === null ? null : median(runs[k].map((x) => x.batch_fill)),
				cpu: runs[k].map((x) => x.cpu),
				loadavg: runs[k].map((x) => x.loadavg),
			};
		}
		for (const rate of rates) {
			const a = runs[`rtpush@${rate}`];
			const b = runs[`floor@${rate}`];
			out.variants[`rtpush@${rate}`].ratio_p50 = summary(a.map((x, i) => x.p50 / b[i].p50));
			out.variants[`rtpush@${rate}`].ratio_p99 = summary(a.map((x, i) => x.p99 / b[i].p99));
		}
		return out;
	} finally {
		if (client)
			await client.disconnect();
		await Promise.allSettled(writers.map((c) => c.end()));
		await soketi.destroy();
		await pg.destroy();
	}
}
