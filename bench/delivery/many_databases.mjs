// many_databases.mjs: benchmark 9, one cluster delivering for many databases
// at once (issue 19): a delivery worker per database, started by rtpush's
// launcher (rtpush.database_name = ''), every database delivering to the
// same app and endpoint (the cluster-wide rtpush.app_id, ...).
//
// One PostgreSQL cluster with 16 databases (bench, bench_2 ... bench_16),
// each with rtpush and the bench messages table, in the PHI configuration
// (event ids, one row in four on a private-encrypted- channel; history on);
// rtpush.max_databases and max_worker_processes leave room for the 16
// workers, the launcher and a look at the database postgres.  Two minimal
// HTTP sinks (bench/lib/sink.mjs): one for (a), one noting the probes of (b).
//
// (a) throughput: for N = 1, 4, 16 (the order rotates every round), the
//     first N databases' outboxes are filled with `events` events each
//     (100 conversations, ~200-byte data, 1,000-row INSERT ... SELECTs)
//     while no worker may deliver (rtpush.app_id empty), then
//     pg_reload_conf() gives every worker its app_id at once: timed from
//     there until every database's rtpush.databases.delivered grew by
//     `events` (per database: when its own did) and every outbox is empty.
//     Figures: events/s in total, and per database (events / the time it
//     took that database), min / median / max across the N databases.
// (b) a quiet database's latency: one database (bench_2) gets a probe
//     INSERT (one row, its own channel private-conversation.1001, on no
//     other database's channel) every 50-100 ms, in autocommit; latency
//     from COMMIT (track_commit_timestamp) to the sink's receive.  Variants,
//     interleaved:
//       busy   meanwhile another database (bench) drains a backlog of
//              `busyEvents` (filled while no worker delivered): probes from
//              its start until its outbox is empty
//       alone  nothing else drains: probes for `quietSecs` seconds
//       busy_jit_off, alone_jit_off: the same with jit = off (ALTER SYSTEM,
//              reload): the workers' periodic queries are JIT-compiled
//              with jit on (see the idle measure below); does that hold
//              up the quiet database's events?
//     Figures: p50 / p99 / max per run, probes lost; the busy database's
//     drain rate.
// Between the two, the 16 workers' CPU over `idleSecs` with nothing to
// deliver, with jit as configured (on by default) and with jit = off.

import {
	startBenchPostgres, startSink, configurePhi, addBenchDatabase, fillMessages, workerStatus, cpuMeter, loadavg,
	quantile, summary, median, sleep, until, performance, log, COMMIT_MS, fromCommit, BODY,
} from '../lib/common.mjs';

const COUNTS = [1, 4, 16];
const DATABASES = Math.max(...COUNTS);
const QUIET_CONVERSATION = 1001; // not encrypted (1001 % 4 = 1); the fills use conversations 1-100
const now = () => performance.now();

export async function run({ events, rounds, warm, busyEvents, quietSecs, latencyRounds, idleSecs, probeGapMs = [50, 100] }) {
	log(`many_databases: N = ${COUNTS.join(', ')} databases x ${events} events, ${rounds} rounds;`
		+ ` a quiet database's latency beside a ${busyEvents}-event drain, ${latencyRounds} rounds`);
	const probeChannel = `private-conversation.${QUIET_CONVERSATION}`;
	const [pg, sink, probeSink] = await Promise.all([
		startBenchPostgres({
			track_commit_timestamp: 'on', max_connections: 120,
			'rtpush.database_name': '', 'rtpush.max_databases': String(DATABASES + 2),
			max_worker_processes: String(DATABASES + 8),
		}),
		startSink(), startSink({ probeChannel })]);
	const dbs = [];
	try {
		await pg.set({ 'rtpush.app_id': '', 'rtpush.key': 'bench-key', 'rtpush.secret': 'bench-secret',
			'rtpush.scheme': 'http', 'rtpush.host': sink.host, 'rtpush.port': String(sink.port) });
		await configurePhi(pg, 'rtpush_event_id');
		dbs.push(Object.assign(pg, { name: 'bench' }));
		for (let i = 2; i <= DATABASES; i++)
			dbs.push(await addBenchDatabase(pg, `bench_${i}`, { phi: true }));
		// rtpush.databases: every database's worker, from shared memory
		const workers = async () => Object.fromEntries((await pg.rows(
			'SELECT datname, pid, state, delivered, failed FROM rtpush.databases')).map((w) => [w.datname, w]));
		await until(`a worker in each of the ${DATABASES} databases`, async () => {
			const w = await workers();
			return dbs.every((d) => w[d.name]?.pid);
		}, { timeoutMs: 60000, intervalMs: 200 });
		log(`many_databases: ${DATABASES} databases, a worker in each`);

		const pause = async () => {
			await pg.set({ 'rtpush.app_id': '' }, { reload: false });
			await pg.reload({ pauseMs: 300 });
		};
		const queued = async (d) => Number((await d.one('SELECT count(*) AS n FROM rtpush.outbox')).n);
		async function fill(d, n) {
			await d.query('TRUNCATE messages');
			await d.query('VACUUM rtpush.outbox');
			await fillMessages(d, n);
			const c = await queued(d);
			if (c !== n)
				throw new Error(`${d.name}: outbox has ${c} events, expected ${n}`);
		}
		// app_id given to every worker at once: returns when pg_reload_conf() returned and the start time
		async function release() {
			await pg.set({ 'rtpush.app_id': 'bench' }, { reload: false });
			const t0 = now();
			await pg.query('SELECT pg_reload_conf()');
			return t0;
		}
		/** Waits until each of set delivered n more than at w0; {name: seconds from t0}. */
		async function drained(set, n, w0, t0) {
			const done = new Map();
			while (done.size < set.length) {
				await sleep(20);
				const w = await workers();
				const t = now();
				for (const d of set) {
					if (!done.has(d.name) && Number(w[d.name].delivered) - Number(w0[d.name].delivered) >= n)
						done.set(d.name, (t - t0) / 1000);
					if (Number(w[d.name].failed) > Number(w0[d.name].failed))
						throw new Error(`${d.name}: delivery failures: ${JSON.stringify(w[d.name])}`);
				}
				if (t - t0 > 900000)
					throw new Error(`drain not done after 900 s: ${JSON.stringify(w)}`);
			}
			for (const d of set)
				await until(`${d.name}'s outbox empty`, async () => await queued(d) === 0, { intervalMs: 5, timeoutMs: 60000 });
			return done;
		}

		// ---- (a) N databases draining at once ----
		async function many(n, perDb) {
			const set = dbs.slice(0, n);
			await pause();
			for (const d of set)
				await fill(d, perDb);
			await pg.query('CHECKPOINT');
			await sleep(300);
			const w0 = await workers();
			const s0 = await Promise.all(set.map((d) => workerStatus(d)));
			const meter = cpuMeter({ pg, workerPids: set.map((d) => w0[d.name].pid), serverPid: sink.pid });
			const t0 = await release();
			const done = await drained(set, perDb, w0, t0);
			const secs = (now() - t0) / 1000;
			const cpu = meter.stop();
			const s1 = await Promise.all(set.map((d) => workerStatus(d)));
			const perDbRate = set.map((d) => perDb / done.get(d.name));
			const requests = s1.reduce((a, s, i) => a + Number(s.http_requests) - Number(s0[i].http_requests), 0);
			return {
				databases: n, events_per_db: perDb, secs, rate: n * perDb / secs,
				per_db: set.map((d, i) => ({ db: d.name, secs: done.get(d.name), rate: perDbRate[i] })),
				per_db_rate: { min: Math.min(...perDbRate), median: median(perDbRate), max: Math.max(...perDbRate) },
				first_done_s: Math.min(...done.values()), last_done_s: Math.max(...done.values()),
				batch_fill: n * perDb / requests, cpu,
			};
		}

		if (warm) {
			log(`many_databases: warm-up, ${DATABASES} databases x ${warm} events`);
			await many(DATABASES, warm);
		}
		const runs = Object.fromEntries(COUNTS.map((n) => [n, []]));
		for (let r = 0; r < rounds; r++) {
			const order = COUNTS.map((_, i) => COUNTS[(i + r) % COUNTS.length]);
			for (const n of order) {
				const la = loadavg()[0];
				const res = { ...await many(n, events), round: r + 1, loadavg: la };
				runs[n].push(res);
				const p = res.per_db_rate;
				log(`many_databases round ${r + 1} N=${n}: ${Math.round(res.rate)} events/s in total, per database`
					+ ` ${Math.round(p.min)} / ${Math.round(p.median)} / ${Math.round(p.max)} (min / median / max),`
					+ ` done ${res.first_done_s.toFixed(1)}-${res.last_done_s.toFixed(1)} s, fill ${res.batch_fill.toFixed(2)},`
					+ ` cpu workers ${res.cpu.worker_pct}% pg ${res.cpu.postgres_pct}% sink ${res.cpu.server_pct}% machine ${res.cpu.machine_pct}%`);
			}
		}

		// what (a) left for autovacuum (deleted outbox rows, history), done
		// now rather than during what follows
		await pause();
		log(`many_databases: VACUUM ANALYZE in the ${DATABASES} databases`);
		for (const d of dbs)
			await d.query('VACUUM ANALYZE');

		// ---- the workers' own cost with nothing to deliver ----
		// (with jit as configured, on by default, and with jit = off: the
		// workers' own queries are planned like any session's)
		const idle = {};
		if (idleSecs) {
			await pg.set({ 'rtpush.app_id': 'bench' }, { reload: true });
			for (const jit of ['on', 'off']) {
				await pg.set({ jit }, { reload: true });
				const w = await workers();
				const pids = dbs.map((d) => w[d.name].pid);
				const meter = cpuMeter({ pg, workerPids: pids, serverPid: sink.pid });
				await sleep(idleSecs * 1000);
				const cpu = meter.stop();
				idle[`jit_${jit}`] = { cpu, per_worker_ms_per_s: 10 * cpu.worker_pct / DATABASES };
				log(`many_databases: ${DATABASES} idle workers, jit ${jit}: ${cpu.worker_pct}% of a core in all`
					+ ` (${idle[`jit_${jit}`].per_worker_ms_per_s.toFixed(1)} ms CPU per worker per second), other postgres ${cpu.postgres_pct}%`);
			}
			await pg.set({ jit: null }, { reload: true });
		}

		// ---- (b) a quiet database beside a busy one ----
		const busy = dbs[0];
		const quiet = dbs[1];
		await pause();
		await pg.set({ 'rtpush.port': String(probeSink.port) }, { reload: false });
		const prober = await quiet.connect();
		async function quietRun(variant) {
			const isBusy = variant.startsWith('busy');
			await pg.set({ jit: variant.endsWith('_jit_off') ? 'off' : null }, { reload: false });
			await pause();
			if (isBusy) {
				await fill(busy, busyEvents);
				await pg.query('CHECKPOINT');
			}
			await quiet.query('VACUUM rtpush.outbox');
			await sleep(300);
			await probeSink.probe(); // forget what came before
			const w0 = await workers();
			const meter = cpuMeter({ pg, workerPids: [w0[busy.name].pid, w0[quiet.name].pid], serverPid: probeSink.pid });
			const t0 = await release();
			await sleep(300); // the workers have their app_id
			const ids = [];
			let on = true;
			const probing = (async () => {
				while (on) {
					ids.push(Number((await prober.query(`INSERT INTO messages (conversation_id, sender_id, body)
						VALUES ($1, 0, $2) RETURNING id`, [QUIET_CONVERSATION, BODY])).rows[0].id));
					await sleep(probeGapMs[0] + Math.random() * (probeGapMs[1] - probeGapMs[0]));
				}
			})();
			const p0 = now();
			let drain = null;
			if (isBusy) {
				const done = await drained([busy], busyEvents, w0, t0);
				drain = { secs: done.get(busy.name), rate: busyEvents / done.get(busy.name) };
			} else {
				await sleep(quietSecs * 1000);
			}
			on = false;
			await probing;
			const probeSecs = (now() - p0) / 1000;
			const cpu = meter.stop();
			await until('the quiet database\'s outbox empty', async () => await queued(quiet) === 0,
				{ intervalMs: 10, timeoutMs: 30000 });
			await sleep(500);
			const arrived = await probeSink.probe();
			const rows = await quiet.rows(`SELECT id, ${COMMIT_MS} AS ms FROM messages WHERE id = ANY($1)`, [ids]);
			const { lat, lost } = fromCommit(rows, arrived);
			const res = {
				probes: ids.length, probe_secs: probeSecs, lost, p50_ms: quantile(lat, 0.5), p99_ms: quantile(lat, 0.99),
				max_ms: lat.at(-1), busy_drain: drain, cpu,
			};
			log(`many_databases quiet ${variant}: ${ids.length} probes in ${probeSecs.toFixed(1)} s, from COMMIT p50`
				+ ` ${res.p50_ms.toFixed(2)} p99 ${res.p99_ms.toFixed(2)} max ${res.max_ms.toFixed(1)} ms, lost ${lost}`
				+ (drain ? `; ${busy.name} drained ${busyEvents} at ${Math.round(drain.rate)} events/s` : '')
				+ `; cpu workers ${cpu.worker_pct}% pg ${cpu.postgres_pct}% sink ${cpu.server_pct}% machine ${cpu.machine_pct}%`);
			return res;
		}
		const variants = ['alone', 'busy', 'alone_jit_off', 'busy_jit_off'];
		const quietRuns = Object.fromEntries(variants.map((v) => [v, []]));
		for (let r = 0; r < latencyRounds; r++) {
			const la = loadavg()[0];
			for (const v of variants.map((_, i) => variants[(i + r) % variants.length]))
				quietRuns[v].push({ ...await quietRun(v), round: r + 1, loadavg: la });
		}
		await pg.set({ jit: null }, { reload: true });
		await prober.end();

		const col = (n, f) => runs[n].map(f);
		// busy / alone per round, with jit on (suffix '') or off ('_jit_off')
		const perRound = (k, sfx) => summary(quietRuns[`busy${sfx}`].map((x, i) => x[k] / quietRuns[`alone${sfx}`][i][k]));
		const byJit = (sfx) => ({
			p50_ratio: perRound('p50_ms', sfx), p99_ratio: perRound('p99_ms', sfx),
			p50_ms: { alone: summary(quietRuns[`alone${sfx}`].map((x) => x.p50_ms)), busy: summary(quietRuns[`busy${sfx}`].map((x) => x.p50_ms)) },
			p99_ms: { alone: summary(quietRuns[`alone${sfx}`].map((x) => x.p99_ms)), busy: summary(quietRuns[`busy${sfx}`].map((x) => x.p99_ms)) },
			busy_rate: summary(quietRuns[`busy${sfx}`].map((x) => x.busy_drain.rate)),
		});
		const res = {
			counts: COUNTS, events, rounds, warm, channels: 100,
			configuration: 'PHI (event ids, 1 in 4 encrypted), history on; every database\'s worker delivering to one minimal HTTP sink',
			settings: { max_databases: DATABASES + 2, max_worker_processes: DATABASES + 8, max_in_flight: 8, batch_size: 10 },
			runs, idle_secs: idleSecs, idle,
			total: Object.fromEntries(COUNTS.map((n) => [n, summary(col(n, (x) => x.rate))])),
			// total events/s of N databases over one database's, per round
			scaling: Object.fromEntries(COUNTS.map((n) => [n, summary(runs[n].map((x, i) => x.rate / runs[COUNTS[0]][i].rate))])),
			per_db: Object.fromEntries(COUNTS.map((n) => [n, {
				min: median(col(n, (x) => x.per_db_rate.min)), median: median(col(n, (x) => x.per_db_rate.median)),
				max: median(col(n, (x) => x.per_db_rate.max)),
			}])),
			quiet: {
				busy_events: busyEvents, quiet_secs: quietSecs, rounds: latencyRounds, probe_gap_ms: probeGapMs,
				channel: probeChannel, busy_db: busy.name, quiet_db: quiet.name, variants, runs: quietRuns,
				jit_on: byJit(''), jit_off: byJit('_jit_off'),
				lost: Object.values(quietRuns).flat().reduce((a, x) => a + x.lost, 0),
			},
		};
		const q = (j) => `p50 alone ${res.quiet[j].p50_ms.alone.median.toFixed(2)} busy ${res.quiet[j].p50_ms.busy.median.toFixed(2)} ms,`
			+ ` p99 alone ${res.quiet[j].p99_ms.alone.median.toFixed(2)} busy ${res.quiet[j].p99_ms.busy.median.toFixed(2)} ms`;
		log(`many_databases: total events/s ${COUNTS.map((n) => `N=${n} ${Math.round(res.total[n].median)}`).join(', ')};`
			+ ` quiet database, jit on: ${q('jit_on')}; jit off: ${q('jit_off')}`);
		return res;
	} finally {
		await Promise.allSettled([pg.destroy(), sink.destroy(), probeSink.destroy()]);
	}
}
