// The worker's own memory after bursts (bench/delivery/burst_memory.mjs): a
// local endpoint that accepts everything; BURSTS times, one transaction
// queues N events on 100 channels, which the worker holds (up to 10,000) and
// delivers; after each burst has drained, the worker's RssAnon and RssFile
// (from /proc) are printed.  Memory that stays after the bursts is memory
// the worker keeps.
//
//   node bench/delivery/burst_memory.mjs [N (8000)] [BURSTS (3)]
import fs from 'node:fs';
import { startPostgres } from '../../test/e2e/lib/pg.mjs';
import { startFaultServer } from '../../test/e2e/lib/faults.mjs';
import { sleep } from '../../test/e2e/lib/cleanup.mjs';

const [N, BURSTS] = [8000, 3].map((d, i) => Number(process.argv[2 + i] ?? d));
const mem = (pid) => {
	const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)[1]);
	return `RssAnon ${kb('RssAnon')} kB`;
};

const f = await startFaultServer();
const db = await startPostgres({ conf: { ...f.rtpushSettings(), 'rtpush.poll_interval': 500 } });
try {
	const pid = await db.waitForWorker(30000);
	const burst = async (n) => {
		const before = f.delivered().length;
		await db.query(`SELECT rtpush.send('private-b' || (i % 100), 'evt',
		                  jsonb_build_object('i', i, 'body', repeat('x', 200))) FROM generate_series(1, $1::int) i`, [n]);
		await f.waitUntil('burst delivered', () => f.delivered().length >= before + n, 120000);
		await sleep(1500);
	};
	await burst(100);
	const out = [`after 100 events: ${mem(pid)}`];
	for (let b = 1; b <= BURSTS; b++) {
		await burst(N);
		out.push(`after burst ${b} of ${N}: ${mem(pid)}`);
	}
	console.log(out.join('; '));
} finally {
	await db.destroy();
	await f.stop();
}
