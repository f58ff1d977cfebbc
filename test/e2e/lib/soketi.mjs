// soketi.mjs: a real soketi (Pusher-protocol server) for the e2e tests.
//
// startSoketi() runs @soketi/soketi's own command-line entry as a child
// process, on free ports of 127.0.0.1, with one app configured through
// soketi's SOKETI_* environment variables (several apps, option apps:
// through a config file for soketi's array app manager), and waits until
// its HTTP API answers.  stop() and kill() end it by pid and wait for it to exit;
// start() brings it back on the same ports (to simulate an outage).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { soketiBin } from './deps.mjs';
import { onExit, freePort, until } from './cleanup.mjs';

/**
 * options:
 *   appId, key, secret    the app (defaults: rtpush-e2e, e2e-key, e2e-secret)
 *   apps                  further apps on the same soketi, [{appId, key, secret}]:
 *                         with them soketi reads its apps from a config file
 *                         (soketi start --config: appManager.array.apps, the
 *                         array app manager), the first one being the app above
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
 * kill(), restart(), log(), destroy(), server(), apps} where server() is an
 * official `pusher` library client for this app, and apps[i] is each app
 * ({host, port, url, appId, key, secret, server(), rtpushSettings()}, what
 * pusherClient() takes as its soketi), apps[0] the first.
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
	// several apps: soketi's array app manager, from a config file (the
	// SOKETI_DEFAULT_APP_* variables below still set apps[0], the same app)
	const appList = [{ appId: s.appId, key: s.key, secret: s.secret }, ...(options.apps ?? [])];
	const args = ['start'];
	if (options.apps?.length) {
		const ids = new Set(appList.map((a) => a.appId));
		const keys = new Set(appList.map((a) => a.key));
		if (ids.size !== appList.length || keys.size !== appList.length) {
			fs.rmSync(cwd, { recursive: true, force: true });
			throw new Error('startSoketi: every app needs an id and a key of its own');
		}
		const config = {
			'appManager.driver': 'array',
			'appManager.array.apps': appList.map((a, i) => ({
				id: a.appId, key: a.key, secret: a.secret,
				enableClientMessages: options.clientMessages ?? true,
				enableUserAuthentication: options.userAuthentication ?? false,
				enabled: true, maxConnections: -1,
				maxBackendEventsPerSecond: -1, maxClientEventsPerSecond: -1, maxReadRequestsPerSecond: -1,
				webhooks: i === 0 && webhooks ? webhooks : [],
			})),
		};
		fs.writeFileSync(`${cwd}/soketi.json`, JSON.stringify(config));
		args.push('--config', `${cwd}/soketi.json`);
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
		const child = spawn(process.execPath, [soketiBin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
		// a timer cleared once soketi exits: a pending one would keep the
		// test process alive for graceMs after its last test
		let timer;
		const t = new Promise((resolve) => {
			timer = setTimeout(() => resolve('timeout'), graceMs);
		});
		const first = await Promise.race([s.exitedP, t]);
		clearTimeout(timer);
		if (first === 'timeout') {
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

	/** The official server library, configured for this soketi (app: this one, or one of s.apps). */
	const serverFor = (a) => async (extra = {}) => {
		const { PusherServer } = await import('./deps.mjs');
		return new PusherServer({
			appId: a.appId, key: a.key, secret: a.secret,
			host: s.host, port: String(s.port), useTLS: false, ...extra,
		});
	};
	s.server = serverFor(s);

	/** rtpush settings that make the worker deliver to this soketi (app: this one, or one of s.apps). */
	const settingsFor = (a) => () => ({
		'rtpush.app_id': a.appId,
		'rtpush.key': a.key,
		'rtpush.secret': a.secret,
		'rtpush.scheme': 'http',
		'rtpush.host': s.host,
		'rtpush.port': s.port,
	});
	s.rtpushSettings = settingsFor(s);

	// each app as pusherClient() and the tests take a soketi: its credentials
	// on this soketi's host and port
	s.apps = appList.map((a) => {
		const app = { appId: a.appId, key: a.key, secret: a.secret };
		for (const k of ['host', 'port', 'url'])
			Object.defineProperty(app, k, { get: () => s[k], enumerable: true });
		app.server = serverFor(app);
		app.rtpushSettings = settingsFor(app);
		return app;
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
