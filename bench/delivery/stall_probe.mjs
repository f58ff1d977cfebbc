// stall_probe.mjs: a diagnostic, not a benchmark.  The sustained benchmark
// twice saw the worker nearly stop delivering for 10-40 s (held set full,
// worker busy, ending when the outbox's autovacuum finished); this drives
// the same load (pgbench -R 5000 through the messages trigger, soketi) and
// prints one line a second: events delivered, held, in flight, requests,
// retries, worker and soketi CPU, the outbox's dead tuples and vacuum phase,
// and how far the snapshot xmin lags.  At the first three slow seconds
// (under 2,000 delivered with more than 5,000 held) it prints
// pg_stat_activity (xids and xmins held) and a 2-s perf profile of the
// worker.  It runs VACUUM rtpush.outbox at t = 100, 400, 700 ... s.
//
//   node bench/delivery/stall_probe.mjs [seconds (240)]
//
// Needs rtpush installed, the test/node packages, and perf for the profile.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execSync } from 'node:child_process';
import { PGBIN } from '../../test/e2e/lib/pg.mjs';
import { startBenchPostgres, startSoketi, workerStatus, cpuSeconds, sleep, BODY } from '../lib/common.mjs';

const SECS = Number(process.argv[2] ?? 240);
const [pg, soketi] = await Promise.all([startBenchPostgres(), startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
try {
	await pg.set(soketi.rtpushSettings());
	const wpid = await pg.waitForWorker();
	const script = path.join(pg.dir, 'insert.sql');
	fs.writeFileSync(script, `\\set cid random(1, 100)\n\\set sid random(1, 10000)\nINSERT INTO messages (conversation_id, sender_id, body) VALUES (:cid, :sid, '${BODY}');\n`);
	fs.chmodSync(script, 0o644);
	const bench = spawn(path.join(PGBIN, 'pgbench'), ['-n', '-M', 'prepared', '-c', '2', '-j', '2', '-R', '5000', '-T', String(SECS),
		'-f', script, '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'bench'], { stdio: 'ignore' });
	let done = false; bench.once('exit', () => { done = true; });
	let prevD = Number((await workerStatus(pg)).delivered), prevC = cpuSeconds(wpid), t = 0, stalls = 0;
	while (!done) {
		await sleep(1000); t++;
		const s = await workerStatus(pg);
		const d = Number(s.delivered), c = cpuSeconds(wpid);
		const v = await pg.one(`SELECT (SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = 'rtpush.outbox'::regclass) AS dead,
			(SELECT phase FROM pg_stat_progress_vacuum WHERE relid = 'rtpush.outbox'::regclass) AS vac,
			(SELECT pg_snapshot_xmin(pg_current_snapshot())::text) AS xmin, (SELECT pg_current_xact_id()::text) AS cur`);
		const line = `t=${t} deliv/s=${d - prevD} held=${s.held} inflight=${s.in_flight} req=${s.http_requests} retried=${s.retried} failed=${s.failed} soketi=${Math.round(((cpuSeconds(soketi.pid) ?? 0) - (globalThis.sk ?? 0)) * 100)}% cpu=${Math.round((c - prevC) * 100)}% dead=${v.dead} vac=${v.vac} xmin_lag=${Number(v.cur) - Number(v.xmin)}`;
		console.log(line);
		if (d - prevD < 2000 && Number(s.held) > 5000 && stalls < 3) {
			stalls++;
			const acts = await pg.rows(`SELECT pid, backend_type, state, wait_event_type, wait_event, backend_xid::text, backend_xmin::text,
				now() - xact_start AS xact_age, left(query, 60) AS q FROM pg_stat_activity WHERE backend_type NOT IN ('checkpointer','background writer','walwriter','logical replication launcher','autovacuum launcher')`);
			console.log(JSON.stringify(acts));
			try {
				execSync(`perf record -g -o /tmp/stall.perf.${stalls} -p ${wpid} -- sleep 2 2>/dev/null`);
				console.log(execSync(`perf report -i /tmp/stall.perf.${stalls} --no-children -q -g none --sort sym 2>/dev/null | head -25`).toString());
			} catch (e) { console.log('perf failed', e.message); }
		}
		prevD = d; prevC = c; globalThis.sk = cpuSeconds(soketi.pid);
		if (t % 300 === 100) pg.query('VACUUM rtpush.outbox').then(() => console.log('manual vacuum done'));
	}
} finally { await pg.destroy(); await soketi.stop(); }
