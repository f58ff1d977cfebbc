// common.mjs: shared parts of the delivery benchmarks (bench/run).
//
// Starts the servers a benchmark needs through the e2e harness
// (test/e2e/lib: throwaway PostgreSQL clusters, soketi) plus a minimal HTTP
// sink; reads CPU time and memory of processes from /proc; summarises
// samples (median, min-max, percentiles); fills the outbox through a
// messages table with the rtpush.broadcast() trigger, as an app would.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startPostgres, PGBIN } from '../../test/e2e/lib/pg.mjs';
import { startSoketi } from '../../test/e2e/lib/soketi.mjs';
import { onExit, freePort, sleep, until } from '../../test/e2e/lib/cleanup.mjs';

export { sleep, until, performance };

// wall clock (ms since the epoch) minus performance.now(), read at a tick of
// Date.now(): exact to a few microseconds, and read again for every run so
// that clock adjustments during the benchmark do not creep in
export function wallOffset() {
	const d0 = Date.now();
	let d;
	let p;
	do {
		p = performance.now();
		d = Date.now();
	} while (d === d0);
	return d - p;
}

export const log = (...a) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

// Settings of every benchmark cluster.  fsync stays on (the harness turns it
// off for tests); synchronous_commit is off as in the capture benchmark:
// this machine's fdatasync takes ~2-3 ms, which alone would exceed the
// latency target.
export const PG_CONF = {
	fsync: 'on',
	synchronous_commit: 'off',
	shared_buffers: '256MB',
	max_wal_size: '4GB',
	checkpoint_timeout: '30min',
	max_connections: 50,
	'rtpush.poll_interval': '1000',
};

// The bench messages table and its trigger: one event per row on its
// conversation's private channel.
export const MESSAGES_SQL = `
	CREATE TABLE messages (id bigserial PRIMARY KEY, conversation_id int NOT NULL,
		sender_id int NOT NULL, body text NOT NULL, status text NOT NULL DEFAULT 'sent',
		created_at timestamptz NOT NULL DEFAULT now());
	CREATE TRIGGER message_sent AFTER INSERT ON messages FOR EACH ROW
		EXECUTE FUNCTION rtpush.broadcast('message-sent', 'private-conversation.{conversation_id}')`;

/** A cluster with rtpush, the bench messages table, its trigger. */
export async function startBenchPostgres(conf = {}) {
	const pg = await startPostgres({ dbname: 'bench', conf: { ...PG_CONF, ...conf } });
	await pg.query(MESSAGES_SQL);
	return pg;
}

// The configuration the README recommends for PHI: event ids
// (rtpush.event_id_field) and end-to-end encryption; one messages row in
// four (conversation_id % 4 = 0) goes to its conversation's
// private-encrypted- channel instead of the plain one, still one event per
// row.  Replaces MESSAGES_SQL's trigger (PHI_TRIGGERS_SQL, in each database;
// the settings are the cluster's).
export const PHI_MASTER_KEY = Buffer.alloc(32, 'phi-bench').toString('base64');
export const PHI_TRIGGERS_SQL = `
	DROP TRIGGER message_sent ON messages;
	CREATE TRIGGER message_sent AFTER INSERT ON messages FOR EACH ROW
		WHEN (NEW.conversation_id % 4 <> 0)
		EXECUTE FUNCTION rtpush.broadcast('message-sent', 'private-conversation.{conversation_id}');
	CREATE TRIGGER message_sent_e2e AFTER INSERT ON messages FOR EACH ROW
		WHEN (NEW.conversation_id % 4 = 0)
		EXECUTE FUNCTION rtpush.broadcast('message-sent', 'private-encrypted-conversation.{conversation_id}')`;
export async function configurePhi(pg, eventIdField) {
	await pg.set({ 'rtpush.event_id_field': eventIdField, 'rtpush.encryption_master_key': PHI_MASTER_KEY });
	await pg.query(PHI_TRIGGERS_SQL);
}

/**
 * CREATE DATABASE dbname with rtpush and the bench messages table (PHI
 * triggers with phi); returns pg.database(dbname) (test/e2e/lib/pg.mjs: query,
 * rows, one, connect as pg's own, so fillMessages() and workerStatus() take
 * it; its connections end with pg's).
 */
export async function addBenchDatabase(pg, dbname, { phi = false } = {}) {
	await pg.query(`CREATE DATABASE ${dbname}`);
	const db = pg.database(dbname);
	await db.query(`CREATE EXTENSION rtpush; ${MESSAGES_SQL}; ${phi ? PHI_TRIGGERS_SQL : ''}`);
	return db;
}

// ~200-byte event data: the JSON of a messages row with this body.
export const BODY = 'Your appointment with Dr. Rivera is confirmed for Tuesday at 10:30. '
	+ 'Please arrive 10 minutes early and bring your insurance card.';

/**
 * INSERT n messages on `channels` conversations (round robin), `perTx` rows
 * per transaction (an INSERT ... SELECT), each row one event;
 * progress.done counts the committed rows.
 */
export async function fillMessages(pg, n, { channels = 100, perTx = 1000, clients = 2, progress = {} } = {}) {
	const cs = await Promise.all(Array.from({ length: clients }, () => pg.connect()));
	let next = 0;
	const sql = `INSERT INTO messages (conversation_id, sender_id, body)
		SELECT 1 + (g % ${channels}), 1 + (g % 997), $2 FROM generate_series($1::bigint, $1::bigint + $3 - 1) g`;
	await Promise.all(cs.map(async (c) => {
		while (next < n) {
			const from = next;
			const k = Math.min(perTx, n - from);
			next += k;
			await c.query(sql, [from, BODY, k]);
			progress.done = (progress.done ?? 0) + k;
		}
	}));
	await Promise.all(cs.map((c) => c.end()));
}

/** The outbox's events as the library would publish them: {channel, name, data}. */
export async function outboxEvents(pg) {
	const rows = await pg.rows('SELECT channels[1] AS channel, event, data::text AS data FROM rtpush.outbox ORDER BY id');
	return rows.map((r) => ({ channel: r.channel, name: r.event, data: r.data }));
}

export async function workerStatus(pg) {
	return pg.one('SELECT pid, state, delivered, http_requests, retried, failed, dead_lettered, in_flight, held FROM rtpush.worker_status()');
}

/** Sizes on disk of rtpush.outbox: total (heap + indexes + toast), heap, pkey. */
export async function outboxBytes(pg) {
	const r = await pg.one(`SELECT pg_total_relation_size('rtpush.outbox') AS total,
		pg_relation_size('rtpush.outbox') AS heap, pg_relation_size('rtpush.outbox_pkey') AS index,
		coalesce((SELECT autovacuum_count FROM pg_stat_all_tables WHERE relid = 'rtpush.outbox'::regclass), 0) AS autovacuums,
		coalesce((SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = 'rtpush.outbox'::regclass), 0) AS dead`);
	return { total: Number(r.total), heap: Number(r.heap), index: Number(r.index),
		autovacuums: Number(r.autovacuums), dead: Number(r.dead) };
}

export { startSoketi, freePort, onExit };

/**
 * A minimal HTTP server (child process) that answers every request 200 {};
 * with probeChannel, .probe() returns {id: wall-clock ms} of the events on
 * it that arrived since the last call (sink.mjs).
 */
export async function startSink({ probeChannel } = {}) {
	const port = await freePort();
	const script = new URL('./sink.mjs', import.meta.url).pathname;
	const child = spawn(process.execPath, [script, String(port), ...(probeChannel ? [probeChannel] : [])],
		{ stdio: ['ignore', 'pipe', 'inherit'] });
	const unregister = onExit(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } });
	await new Promise((resolve, reject) => {
		child.stdout.once('data', resolve);
		child.once('exit', (c) => reject(new Error(`sink exited ${c}`)));
	});
	const exited = new Promise((r) => child.once('exit', r));
	return {
		host: '127.0.0.1', port, pid: child.pid,
		probe: async () => (await fetch(`http://127.0.0.1:${port}/probe`)).json(),
		destroy: async () => { child.kill('SIGTERM'); await exited; unregister(); },
	};
}

// ---- /proc ----

const TICK = 100; // USER_HZ

/** utime+stime of a process in seconds, or null when it is gone. */
export function cpuSeconds(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
		return (Number(f[11]) + Number(f[12])) / TICK;
	} catch {
		return null;
	}
}

/** Pids of the children of ppid (the postmaster's backends and workers). */
export function childrenOf(ppid) {
	const out = [];
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
			const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
			if (Number(f[1]) === ppid)
				out.push(Number(d));
		} catch { /* gone */ }
	}
	return out;
}

/** VmRSS of a process in kB (field: VmRSS, or RssAnon: private memory only). */
export function rssKb(pid, field = 'VmRSS') {
	try {
		const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : null;
	} catch {
		return null;
	}
}

/** Whole-machine busy CPU seconds (all cores) from /proc/stat. */
function machineBusy() {
	const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
	const idle = f[3] + f[4];
	const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
	return { busy: (total - idle) / TICK, total: total / TICK };
}

/**
 * CPU accounting over an interval: start() then stop() gives CPU seconds of
 * the rtpush worker, the other PostgreSQL processes, soketi (or the sink),
 * this driver process, and the whole machine (everything, other users too).
 * workerPids instead of workerPid: several workers, their CPU summed.
 */
export function cpuMeter({ pg, workerPid, workerPids, serverPid }) {
	const post = pg.postmasterPid();
	const workers = workerPids ?? [workerPid];
	const snap = () => {
		const pgCpu = new Map([[post, cpuSeconds(post) ?? 0]]);
		for (const p of childrenOf(post))
			if (!workers.includes(p))
				pgCpu.set(p, cpuSeconds(p) ?? 0);
		const u = process.cpuUsage();
		return {
			t: performance.now(), worker: workers.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0), pgCpu,
			server: serverPid ? (cpuSeconds(serverPid) ?? 0) : 0,
			driver: (u.user + u.system) / 1e6, machine: machineBusy().busy,
		};
	};
	let a = snap();
	return {
		restart() { a = snap(); },
		stop() {
			const b = snap();
			// PostgreSQL processes that ended in between are not counted;
			// those that started count in full
			let pgDelta = 0;
			for (const [p, c] of b.pgCpu)
				pgDelta += c - (a.pgCpu.get(p) ?? 0);
			const wall = (b.t - a.t) / 1000;
			const pct = (x) => Math.round(1000 * x / wall) / 10;
			return {
				wall_s: wall,
				worker_pct: pct(b.worker - a.worker),
				postgres_pct: pct(pgDelta),
				server_pct: pct(b.server - a.server),
				driver_pct: pct(b.driver - a.driver),
				machine_pct: pct(b.machine - a.machine),
			};
		},
	};
}

/** Load average and other users' share: noise indicators. */
export function loadavg() {
	return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

// ---- statistics ----

export function quantile(sorted, q) {
	if (sorted.length === 0)
		return NaN;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
	return sorted[i];
}

export function median(xs) {
	const s = [...xs].sort((a, b) => a - b);
	if (s.length === 0)
		return NaN;
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summary(xs) {
	return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
}

// ---- latency from COMMIT ----

// a row's commit time in ms since the epoch (track_commit_timestamp = on)
export const COMMIT_MS = 'extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000';

/**
 * Latencies from COMMIT to the sink's receive of rows [{id, ms}] (ms:
 * COMMIT_MS of the messages row id), by arrived ({id: wall-clock ms}, from
 * the sink's probe()): {lat: sorted ms, lost: rows that never arrived}.
 */
export function fromCommit(rows, arrived) {
	const lat = [];
	let lost = 0;
	for (const r of rows) {
		const t1 = arrived[r.id];
		if (t1 === undefined)
			lost++;
		else
			lat.push(t1 - Number(r.ms));
	}
	lat.sort((a, b) => a - b);
	return { lat, lost };
}

export function writeJson(file, obj) {
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, JSON.stringify(obj, null, 1));
}

// ---- pgbench ----

/** Writes a pgbench script into the cluster's directory (readable by postgres); returns its path. */
export function pgbenchScript(pg, name, text) {
	const file = path.join(pg.dir, name);
	fs.writeFileSync(file, text);
	fs.chmodSync(file, 0o644);
	return file;
}

/** Runs pgbench against the bench database with args; resolves with {tps, out}. */
export function runPgbench(pg, args) {
	const bin = path.join(PGBIN, 'pgbench');
	return new Promise((resolve, reject) => {
		const child = spawn(bin, ['-n', '-M', 'prepared', ...args, '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'bench'],
			{ stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		child.once('exit', (code) => {
			const tps = Number(/tps = ([\d.]+) \(without/.exec(out)?.[1]);
			if (code !== 0 || !Number.isFinite(tps))
				reject(new Error(`pgbench failed (${code}): ${out.slice(-2000)}`));
			else
				resolve({ tps, out });
		});
	});
}

// which rtpush the clusters loaded: the installed library's time and the
// tree's commit then (other engineers reinstall it while they work)
export function build() {
	try {
		const lib = execFileSync('pg_config', ['--pkglibdir']).toString().trim();
		const m = fs.statSync(path.join(lib, 'rtpush.so')).mtime.toISOString().slice(0, 19);
		const head = execFileSync('git', ['-C', new URL('../..', import.meta.url).pathname, 'rev-parse', '--short', 'HEAD']).toString().trim();
		return `rtpush.so of ${m}Z, tree at ${head}`;
	} catch {
		return 'rtpush.so: unknown';
	}
}
