// load.mjs: steady write load for the TAP tests, that outlives server
// crashes, restarts and failovers.
//
//   node test/t/load.mjs --targets HOST:PORT[,HOST:PORT...] --db app
//        --conns 4 --rate 300 --seconds 10 --first-seq 1 --acked FILE
//
// Each of --conns connections inserts rows (seq, ch) into table ticks, one
// autocommitted INSERT at a time, at --rate rows per second in all.  Sequence
// numbers are made here, never reused: connection k writes first-seq + k,
// + k + conns, ... on channel number k, so each channel has one writing
// session.  Every INSERT the server acknowledged is appended ("seq\n") to
// --acked.  On any error the connection is dropped and made again (cycling
// through --targets: after a failover the writable one wins) and the next
// seq is used: a seq whose COMMIT was not acknowledged may or may not be in
// the table, and is never written twice.
//
// Prints "READY" once the first INSERT of any connection was acknowledged
// (or after 10 s without one), and at the end one line "DONE <json>"
// ({acked, errors}).  Ends after --seconds, or on SIGTERM.

import fs from 'node:fs';
import { pg } from '../e2e/lib/deps.mjs';

function args() {
	const a = { targets: [], db: 'app', conns: 4, rate: 300, seconds: 10, firstSeq: 1, acked: null };
	const argv = process.argv.slice(2);
	for (let i = 0; i < argv.length; i += 2) {
		const [k, v] = [argv[i], argv[i + 1]];
		if (k === '--targets') a.targets = v.split(',').map((t) => t.split(':'));
		else if (k === '--db') a.db = v;
		else if (k === '--conns') a.conns = Number(v);
		else if (k === '--rate') a.rate = Number(v);
		else if (k === '--seconds') a.seconds = Number(v);
		else if (k === '--first-seq') a.firstSeq = Number(v);
		else if (k === '--acked') a.acked = v;
		else throw new Error(`load.mjs: unknown option ${k}`);
	}
	if (!a.targets.length || !a.acked)
		throw new Error('load.mjs: --targets and --acked are required');
	return a;
}

const o = args();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ackFd = fs.openSync(o.acked, 'a');
const endAt = Date.now() + o.seconds * 1000;
let stop = false;
let acked = 0;
let errors = 0;
let ready = false;
const interval = 1000 * o.conns / o.rate; // ms between rows of one connection

function say(line) {
	process.stdout.write(line + '\n');
}

async function connect(k, attempt) {
	const [host, port] = o.targets[(k + attempt) % o.targets.length];
	const c = new pg.Client({ host, port: Number(port), database: o.db, user: process.env.PGUSER,
		connectionTimeoutMillis: 2000, statement_timeout: 30000 });
	c.on('error', () => {});
	await c.connect();
	return c;
}

async function writer(k) {
	let seq = o.firstSeq + k;
	let client = null;
	let attempt = 0;
	let next = Date.now();
	while (!stop && Date.now() < endAt) {
		try {
			if (!client)
				client = await connect(k, attempt);
			await client.query('INSERT INTO ticks (seq, ch) VALUES ($1, $2)', [seq, k]);
			fs.writeSync(ackFd, `${seq}\n`);
			acked++;
			if (!ready) {
				ready = true;
				say('READY');
			}
		} catch {
			errors++;
			attempt++;
			if (client) {
				client.end().catch(() => {});
				client = null;
			}
			await sleep(100);
		}
		seq += o.conns;
		next += interval;
		const wait = next - Date.now();
		if (wait > 0)
			await sleep(wait);
		else if (wait < -1000)
			next = Date.now();	/* fell behind (outage): do not burst */
	}
	if (client)
		await client.end().catch(() => {});
}

for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => {
		stop = true;
	});
setTimeout(() => {
	if (!ready) {
		ready = true;
		say('READY');
	}
}, 10000).unref();
await Promise.all(Array.from({ length: o.conns }, (_, k) => writer(k)));
fs.closeSync(ackFd);
say(`DONE ${JSON.stringify({ acked, errors })}`);
process.exit(0);
