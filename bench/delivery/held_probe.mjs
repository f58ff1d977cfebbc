// Worker CPU per commit while one channel's events wait for a retry
// (bench/delivery/held_probe.mjs): a fault-injecting endpoint refuses every
// request carrying channel A, which holds HELD events; meanwhile COMMITS
// single-event transactions on other channels arrive at RATE/s and must be
// delivered.  Prints the worker's CPU (utime + stime from /proc) per commit
// and how long the other channels' events took to arrive.
//
//   node bench/delivery/held_probe.mjs [HELD (9000)] [COMMITS (3000)] [RATE (500)]
import fs from 'node:fs';
import { startPostgres } from '../../test/e2e/lib/pg.mjs';
import { startFaultServer } from '../../test/e2e/lib/faults.mjs';
import { sleep } from '../../test/e2e/lib/cleanup.mjs';

const [HELD, COMMITS, RATE] = [9000, 3000, 500].map((d, i) => Number(process.argv[2 + i] ?? d));
const cpu = (pid) => {
	const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(f[11]) + Number(f[12])) * 10; // ms (USER_HZ 100)
};

const f = await startFaultServer();
const db = await startPostgres({ conf: { ...f.rtpushSettings(), 'rtpush.poll_interval': 500,
	'rtpush.retry_base': 50, 'rtpush.retry_max': 1000, 'rtpush.max_attempts': 1000 } });
try {
	const pid = await db.waitForWorker(30000);
	f.plan([{ when: (r) => r.events.some((e) => e.channels.includes('private-a')), status: 503, body: '{}' }]);
	await db.query(`SELECT rtpush.send('private-a', 'evt', jsonb_build_object('i', i)) FROM generate_series(1, $1::int) i`, [HELD]);
	await f.waitUntil('refused', () => f.requests.some((r) => r.status === 503), 30000);
	await sleep(2000);
	const c0 = cpu(pid), t0 = Date.now();
	for (let i = 0; i < COMMITS; i++) {
		await db.query(`SELECT rtpush.send($1::text, 'evt', jsonb_build_object('j', $2::int))`, [`private-b${i % 50}`, i]);
		const due = t0 + ((i + 1) * 1000) / RATE;
		if (due > Date.now())
			await sleep(due - Date.now());
	}
	const sent = Date.now();
	const others = () => f.delivered().filter((e) => e.data?.j !== undefined).length;
	const done = await f.waitUntil('others delivered', () => others() >= COMMITS, 120000).then(() => true, () => false);
	const c1 = cpu(pid);
	if (!done) {
		console.log(`held ${HELD} refused events on one channel: ${others()} of ${COMMITS} commits on other channels ` +
			'delivered within 120 s (the held set is full)');
		process.exitCode = 1;
	} else {
		console.log(`held ${HELD} refused events on one channel; ${COMMITS} commits on 50 others at ${RATE}/s: ` +
			`worker CPU ${((c1 - c0) * 1000 / COMMITS).toFixed(1)} us per commit; last delivered ${Date.now() - sent} ms after the last commit`);
	}
} finally {
	await db.destroy();
	await f.stop();
}
