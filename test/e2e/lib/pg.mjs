// pg.mjs: throwaway PostgreSQL clusters for the end-to-end tests.
//
// startPostgres() initdb's a fresh cluster in its own directory under /tmp
// (owned by the postgres OS user: initdb and pg_ctl refuse to run as root),
// listening on a free TCP port on 127.0.0.1 and on a unix socket inside that
// directory, with rtpush preloaded and pointed at the test database, and
// returns a handle to query, reconfigure, restart and finally destroy it.
// The cluster is stopped (by its pg_ctl / postmaster pid) and its directory
// removed when the test process exits, whatever happens.

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { pg } from './deps.mjs';
import { onExit, freePort, sleep, until } from './cleanup.mjs';

const execFileP = promisify(execFile);

export const PGBIN = execFileSync('pg_config', ['--bindir']).toString().trim();
const isRoot = process.getuid && process.getuid() === 0;

// The postgres OS user's uid/gid, to hand it the cluster directory.
function postgresIds() {
	const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
	const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
	return { uid, gid };
}

// argv that runs a PostgreSQL binary as the postgres user when we are root.
function asPostgres(bin, args) {
	const exe = path.join(PGBIN, bin);
	return isRoot ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
}

async function runPg(bin, args, opts = {}) {
	const [cmd, argv] = asPostgres(bin, args);
	try {
		return await execFileP(cmd, argv, { maxBuffer: 64 << 20, cwd: '/tmp', ...opts });
	} catch (e) {
		e.message = `${bin} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`;
		throw e;
	}
}

/** Quote a value as an SQL literal (standard_conforming_strings = on). */
export function literal(v) {
	return `'${String(v).replace(/'/g, "''")}'`;
}

function confLine(key, value) {
	return `${key} = ${literal(value)}\n`;
}

/**
 * Start a throwaway cluster.
 *
 * options:
 *   dbname     database created before start; rtpush.database_name (default rtpush_e2e)
 *   conf       extra postgresql.conf settings, e.g. {'rtpush.port': 6001}
 *   preload    preload rtpush (default true)
 *   extension  CREATE EXTENSION rtpush after start (default: preload)
 *
 * Returns a handle:
 *   host, port, dbname, dir, datadir, sockdir, logfile
 *   query(sql, params)      → pg result (rows, rowCount, ...), pooled connection
 *   rows(sql, params)       → result.rows
 *   one(sql, params)        → first row or undefined
 *   connect()               → a new pg.Client (caller ends it; ended by stop())
 *   disconnect()            → end the pool and every connect()ed client
 *   database(name, {user})  → {name, query, rows, one, connect, disconnect} on
 *                             another database of the cluster, as user
 *                             (default postgres; its own pool, also ended by
 *                             disconnect() and stop())
 *   psql(sql, {db})         → stdout of psql -XAt -v ON_ERROR_STOP=1
 *   set(settings, {reload}) → ALTER SYSTEM SET each, then reload() (default)
 *   reload()                → pg_reload_conf(), then a short pause so
 *                             background workers have handled the SIGHUP
 *   workerPid()             → pid of the rtpush background worker, or null
 *   waitForWorker(ms)       → its pid once it shows in pg_stat_activity
 *   postmasterPid()         → from postmaster.pid
 *   stop(mode)              → pg_ctl stop -m mode (fast|smart|immediate), data kept
 *   start()                 → pg_ctl start -w again
 *   restart(mode)           → stop(mode) + start()
 *   log()                   → the server log so far (for diagnostics)
 *   destroy()               → stop (fast, falling back to immediate) and rm -rf dir
 */
export async function startPostgres(options = {}) {
	const dbname = options.dbname ?? 'rtpush_e2e';
	const preload = options.preload ?? true;
	const extension = options.extension ?? preload;

	const dir = fs.mkdtempSync('/tmp/rtpush-e2e-pg-');
	const datadir = path.join(dir, 'data');
	const sockdir = dir;
	const logfile = path.join(dir, 'server.log');
	if (isRoot) {
		const { uid, gid } = postgresIds();
		fs.chownSync(dir, uid, gid);
	}
	fs.chmodSync(dir, 0o700);

	const h = {
		host: '127.0.0.1', dbname, dir, datadir, sockdir, logfile,
		port: null, running: false,
	};
	const unregister = onExit(() => destroySync(h));

	try {
		await runPg('initdb', ['-D', datadir, '-U', 'postgres', '--auth=trust',
			'-E', 'UTF8', '--locale=C', '--no-sync']);
		h.port = options.port ?? await freePort();

		let conf = '\n# rtpush end-to-end harness\n';
		conf += confLine('listen_addresses', '127.0.0.1');
		conf += confLine('port', h.port);
		conf += confLine('unix_socket_directories', sockdir);
		conf += confLine('fsync', 'off');
		conf += confLine('max_connections', 50);
		conf += confLine('log_line_prefix', '%m [%p] %b ');
		if (preload) {
			conf += confLine('shared_preload_libraries', 'rtpush');
			conf += confLine('rtpush.database_name', dbname);
		}
		for (const [k, v] of Object.entries(options.conf ?? {}))
			conf += confLine(k, v);
		fs.appendFileSync(path.join(datadir, 'postgresql.conf'), conf);

		// Create the database before the first start, in single-user mode
		// without preloading, so the worker finds it the first time.
		if (dbname !== 'postgres') {
			const [cmd, argv] = asPostgres('postgres', ['--single', '-D', datadir,
				'-c', 'shared_preload_libraries=', '-c', 'log_min_messages=warning', 'postgres']);
			const r = spawnSync(cmd, argv, { input: `CREATE DATABASE ${dbname};\n`, cwd: '/tmp' });
			if (r.status !== 0)
				throw new Error(`creating database ${dbname} failed: ${r.stderr}`);
		}
	} catch (e) {
		unregister();
		destroySync(h);
		throw e;
	}

	let pool = null;
	const clients = new Set();
	const others = new Map(); // database name -> pool of database()

	function getPool() {
		if (!pool) {
			pool = new pg.Pool({ host: h.host, port: h.port, user: 'postgres', database: dbname, max: 4 });
			pool.on('error', () => {}); // server shut down under an idle client
		}
		return pool;
	}

	async function endClients() {
		const p = pool;
		pool = null;
		const cs = [...clients];
		clients.clear();
		const ps = [...others.values()];
		others.clear();
		await Promise.allSettled([p?.end(), ...ps.map((x) => x.end()), ...cs.map((c) => c.end())]);
	}

	h.query = (sql, params) => getPool().query(sql, params);
	h.rows = async (sql, params) => (await h.query(sql, params)).rows;
	h.one = async (sql, params) => (await h.query(sql, params)).rows[0];

	h.connect = async () => {
		const c = new pg.Client({ host: h.host, port: h.port, user: 'postgres', database: dbname });
		c.on('error', () => {});
		await c.connect();
		clients.add(c);
		c.on('end', () => clients.delete(c));
		return c;
	};

	/** Another database of this cluster: queries through a pool of its own. */
	h.database = (name, { user = 'postgres' } = {}) => {
		const id = `${user}@${name}`;
		const poolOf = () => {
			let p = others.get(id);
			if (!p) {
				p = new pg.Pool({ host: h.host, port: h.port, user, database: name, max: 4 });
				p.on('error', () => {});
				others.set(id, p);
			}
			return p;
		};
		const d = { name };
		d.query = (sql, params) => poolOf().query(sql, params);
		d.rows = async (sql, params) => (await d.query(sql, params)).rows;
		d.one = async (sql, params) => (await d.query(sql, params)).rows[0];
		d.connect = async () => {
			const c = new pg.Client({ host: h.host, port: h.port, user, database: name });
			c.on('error', () => {});
			await c.connect();
			clients.add(c);
			c.on('end', () => clients.delete(c));
			return c;
		};
		/** Ends this pool (before DROP DATABASE, say). */
		d.disconnect = async () => {
			const p = others.get(id);
			others.delete(id);
			await p?.end();
		};
		return d;
	};

	/** Ends the pooled and connect()ed sessions (e.g. before DROP DATABASE). */
	h.disconnect = endClients;

	h.psql = async (sql, { db = dbname } = {}) => {
		const { stdout } = await execFileP(path.join(PGBIN, 'psql'),
			['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', sockdir, '-p', String(h.port),
				'-U', 'postgres', '-d', db, '-c', sql], { maxBuffer: 64 << 20 });
		return stdout;
	};

	h.reload = async ({ pauseMs = 1000 } = {}) => {
		await h.query('SELECT pg_reload_conf()');
		await sleep(pauseMs);
	};

	h.set = async (settings, { reload = true } = {}) => {
		for (const [k, v] of Object.entries(settings)) {
			if (v === null)
				await h.query(`ALTER SYSTEM RESET ${k}`);
			else
				await h.query(`ALTER SYSTEM SET ${k} = ${literal(v)}`);
		}
		if (reload)
			await h.reload();
	};

	h.workerPid = async () => {
		const r = await h.one(
			"SELECT pid FROM pg_stat_activity WHERE backend_type ILIKE '%rtpush%' ORDER BY backend_start DESC LIMIT 1");
		return r ? r.pid : null;
	};

	h.waitForWorker = (timeoutMs = 30000) => until('the rtpush worker in pg_stat_activity', h.workerPid, { timeoutMs });

	h.postmasterPid = () => {
		try {
			return Number(fs.readFileSync(path.join(datadir, 'postmaster.pid'), 'utf8').split('\n')[0]);
		} catch {
			return null;
		}
	};

	h.log = () => {
		try {
			return fs.readFileSync(logfile, 'utf8');
		} catch {
			return '';
		}
	};

	h.start = async () => {
		await runPg('pg_ctl', ['-D', datadir, '-l', logfile, '-w', '-t', '120', 'start']);
		h.running = true;
	};

	h.stop = async (mode = 'fast') => {
		await endClients();
		if (!h.running)
			return;
		await runPg('pg_ctl', ['-D', datadir, '-m', mode, '-w', '-t', '120', 'stop']);
		h.running = false;
	};

	h.restart = async (mode = 'fast') => {
		await h.stop(mode);
		await h.start();
	};

	h.destroy = async () => {
		unregister();
		try {
			await h.stop('fast');
		} catch {
			try {
				await h.stop('immediate');
			} catch {
				// destroySync below kills the postmaster by pid
			}
		}
		destroySync(h);
	};

	try {
		await h.start();
		if (extension)
			await h.query('CREATE EXTENSION rtpush');
	} catch (e) {
		e.message += `\n--- server log ---\n${h.log().slice(-4000)}`;
		await h.destroy();
		throw e;
	}
	return h;
}

// Synchronous teardown for exit hooks: stop by pg_ctl, make sure the
// postmaster (by its pid) is gone, then remove the directory.
function destroySync(h) {
	const pidfile = path.join(h.datadir, 'postmaster.pid');
	if (fs.existsSync(pidfile)) {
		const [cmd, argv] = asPostgres('pg_ctl', ['-D', h.datadir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
		spawnSync(cmd, argv, { stdio: 'ignore', cwd: '/tmp' });
		let pid = null;
		try {
			pid = Number(fs.readFileSync(pidfile, 'utf8').split('\n')[0]);
		} catch {
			// gone: stopped
		}
		if (pid) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {
				// not running
			}
		}
	}
	h.running = false;
	fs.rmSync(h.dir, { recursive: true, force: true });
}
