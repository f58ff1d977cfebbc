// soketi.mjs: a real soketi (Pusher-protocol server) for the e2e tests.
//
// startSoketi() runs @soketi/soketi's own command-line entry as a child
// process, on free ports of 127.0.0.1, with one app configured through
// soketi's SOKETI_* environment variables, and waits until its HTTP API
// answers.  stop() and kill() end it by pid and wait for it to exit;
// start() brings it back on the same ports (to simulate an outage).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { soketiBin } from './deps.mjs';
import { onExit, freePort, sleep, until } from './cleanup.mjs';

/**
 * options:
 *   appId, key, secret    the app (defaults: rtpush-e2e, e2e-key, e2e-secret)
 *   port                  WebSocket and HTTP API port (default: a free one)
 *   webhooks              array of soketi webhook objects, e.g.
 *                         [{url, event_types: ['channel_occupied', 'member_added']}]
 *                         (SOKETI_DEFAULT_APP_WEBHOOKS), or a webhookUrl string
 *                         for all event types
 *   clientMessages        allow client- events (default true)
 *   userAuthentication    require pusher:signin (default false)
 *   env                   further SOKETI_* variables
 *   debug                 SOKETI_DEBUG=1 (its log is kept: log())
 *
 * Returns {host, port, appId, key, secret, pid, url, start(), stop(),
 * kill(), restart(), log(), destroy(), server()} where server() is an
 * official `pusher` library client for this app.
 */
export async function startSoketi(options = {}) {
	const s = {
		host: '127.0.0.1',
		appId: options.appId ?? 'rtpush-e2e',
		key: options.key ?? 'e2e-key',
		secret: options.secret ?? 'e2e-secret',
		port: options.port ?? await freePort(),
		metricsPort: await freePort(),
		clusterPort: await freePort(),
		pid: null,
		child: null,
	};
	s.url = `http://${s.host}:${s.port}`;
	const cwd = fs.mkdtempSync('/tmp/rtpush-e2e-soketi-'); // soketi reads ./.env
	let logbuf = '';

	let webhooks = options.webhooks;
	if (!webhooks && options.webhookUrl) {
		webhooks = [{
			url: options.webhookUrl,
			event_types: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'],
		}];
	}
	const env = {
		PATH: process.env.PATH,
		HOME: cwd,
		SOKETI_HOST: s.host,
		SOKETI_PORT: String(s.port),
		SOKETI_DEFAULT_APP_ID: s.appId,
		SOKETI_DEFAULT_APP_KEY: s.key,
		SOKETI_DEFAULT_APP_SECRET: s.secret,
		SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: String(options.clientMessages ?? true),
		SOKETI_DEFAULT_APP_USER_AUTHENTICATION: String(options.userAuthentication ?? false),
		SOKETI_METRICS_ENABLED: 'false',
		SOKETI_METRICS_HOST: s.host,
		SOKETI_METRICS_SERVER_PORT: String(s.metricsPort),
		// its node discovery: loopback only, a port of its own
		SOKETI_CLUSTER_HOST: s.host,
		SOKETI_CLUSTER_PORT: String(s.clusterPort),
		SOKETI_CLUSTER_BROADCAST_ADDRESS: s.host,
		SOKETI_SHUTDOWN_GRACE_PERIOD: '200',
		...(options.debug ? { SOKETI_DEBUG: '1' } : {}),
		...(webhooks ? { SOKETI_DEFAULT_APP_WEBHOOKS: JSON.stringify(webhooks) } : {}),
		...(options.env ?? {}),
	};

	const killSync = () => {
		if (s.child && s.child.exitCode === null && s.child.signalCode === null) {
			try {
				process.kill(s.pid, 'SIGKILL');
			} catch {
				// already gone
			}
		}
	};
	const unregister = onExit(() => {
		killSync();
		fs.rmSync(cwd, { recursive: true, force: true });
	});

	const exited = (child) => child.exitCode !== null || child.signalCode !== null;

	s.start = async () => {
		if (s.child && !exited(s.child))
			throw new Error('soketi is already running');
		const child = spawn(process.execPath, [soketiBin, 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
		s.child = child;
		s.pid = child.pid;
		const keep = (d) => {
			logbuf += d.toString();
			if (logbuf.length > 200000)
				logbuf = logbuf.slice(-100000);
		};
		child.stdout.on('data', keep);
		child.stderr.on('data', keep);
		s.exitedP = new Promise((resolve) => child.once('exit', resolve));
		await until('soketi to answer HTTP', async () => {
			if (exited(child))
				throw new Error(`soketi exited (${child.exitCode ?? child.signalCode}): ${logbuf.slice(-2000)}`);
			const r = await fetch(`${s.url}/`, { signal: AbortSignal.timeout(2000) });
			return r.ok;
		}, { timeoutMs: 60000, intervalMs: 100 }).catch((e) => {
			if (exited(child))
				throw new Error(`soketi exited (${child.exitCode ?? child.signalCode}): ${logbuf.slice(-2000)}`);
			throw e;
		});
	};

	async function end(signal, graceMs) {
		const child = s.child;
		if (!child || exited(child))
			return;
		child.kill(signal);
		const t = sleep(graceMs).then(() => 'timeout');
		if (await Promise.race([s.exitedP, t]) === 'timeout') {
			child.kill('SIGKILL');
			await s.exitedP;
		}
	}

	/** SIGTERM (soketi closes its sockets, then exits), SIGKILL after 20 s. */
	s.stop = () => end('SIGTERM', 20000);
	/** SIGKILL: a crash. */
	s.kill = () => end('SIGKILL', 20000);
	s.restart = async () => {
		await s.stop();
		await s.start();
	};
	s.log = () => logbuf;
	s.running = () => s.child && !exited(s.child);
	s.destroy = async () => {
		await s.stop();
		unregister();
		fs.rmSync(cwd, { recursive: true, force: true });
	};

	/** The official server library, configured for this soketi. */
	s.server = async (extra = {}) => {
		const { PusherServer } = await import('./deps.mjs');
		return new PusherServer({
			appId: s.appId, key: s.key, secret: s.secret,
			host: s.host, port: String(s.port), useTLS: false, ...extra,
		});
	};

	/** rtpush settings that make the worker deliver to this soketi. */
	s.rtpushSettings = () => ({
		'rtpush.app_id': s.appId,
		'rtpush.key': s.key,
		'rtpush.secret': s.secret,
		'rtpush.scheme': 'http',
		'rtpush.host': s.host,
		'rtpush.port': s.port,
	});

	try {
		await s.start();
	} catch (e) {
		killSync();
		unregister();
		fs.rmSync(cwd, { recursive: true, force: true });
		throw e;
	}
	return s;
}
