// examples/auth-server/server.mjs: the guide's BroadcastingController as a
// tiny Node HTTP server that only calls rtpush's SQL functions.
//
//   POST /api/v1/broadcasting/auth       socket_id, channel_name (form or JSON)
//                                        -> rtpush.authorize_channel(): 200 {"auth",...},
//                                           403 (42501), 400 (22023), 401 (no session)
//   POST /api/v1/broadcasting/user-auth  socket_id -> rtpush.authenticate_user()
//   GET  /api/v1/broadcasting/config     -> {"status":"success","data": rtpush.client_config()}
//   GET  /api/v1/broadcasting/history?channel=…&after=…[&max_events=…]
//                                        -> {"status":"success","data": rtpush.history()}:
//                                           403 (42501), 400 (22023, 22004), 503 (history off)
//   POST /api/v1/broadcasting/webhook    Pusher webhooks -> rtpush.handle_webhook():
//                                           200, 401 (bad signature, 28000), 400 (22023)
//
// Who is asking is the app's business: this example resolves the
// "Authorization: Bearer <token>" header with one SQL query (option
// userQuery, default: SELECT user_id, user_info FROM app_sessions WHERE
// token = $1).  Everything else (rules, signatures, secrets) is in the
// database; the server never sees the Pusher secret.
//
// Run: PGHOST=... PGDATABASE=... PORT=8000 node examples/auth-server/server.mjs
// (uses the `pg` package from test/node/node_modules, or NODE_PG_MODULE).

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../test/node/package.json'));
const pg = require(process.env.NODE_PG_MODULE ?? 'pg');

const DEFAULT_USER_QUERY = 'SELECT user_id, user_info FROM app_sessions WHERE token = $1';
const MAX_BODY = 64 * 1024;

// SQLSTATE -> HTTP status
const STATUS = { 42501: 403, 22023: 400, 22004: 400, 28000: 401, 55000: 503, 23502: 400 };

export function send(res, status, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
	res.end(body);
}

export function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let n = 0;
		req.on('data', (c) => {
			n += c.length;
			if (n > MAX_BODY) {
				reject(Object.assign(new Error('request body too large'), { status: 413 }));
				req.destroy();
			} else
				chunks.push(c);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

export function parseForm(req, raw) {
	if ((req.headers['content-type'] ?? '').includes('application/json'))
		return JSON.parse(raw || '{}');
	return Object.fromEntries(new URLSearchParams(raw));
}

/**
 * createAuthServer({pool, port, host, userQuery}) -> Promise<{url, port, server, close()}>
 * pool: a pg.Pool (or anything with query()); default: a new pg.Pool from PG* variables.
 * routes: more routes, {'METHOD /path': [handler(req, res, user, params), needsUser]}; a path
 *         segment ":name" matches one segment (params.name); they win over the built-in ones.
 * fallback: handler(req, res) for requests no route matches (default: 404).
 */
export async function createAuthServer(options = {}) {
	const pool = options.pool ?? new pg.Pool();
	const ownPool = !options.pool;
	const userQuery = options.userQuery ?? DEFAULT_USER_QUERY;

	async function currentUser(req) {
		const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
		if (!m)
			return null;
		const r = await pool.query(userQuery, [m[1]]);
		return r.rows[0] ?? null;
	}

	async function auth(req, res, user) {
		const f = parseForm(req, await readBody(req));
		const info = f.channel_name?.startsWith('presence-') ? user.user_info ?? null : null;
		const r = await pool.query('SELECT rtpush.authorize_channel($1, $2, $3, $4::jsonb) AS r',
			[f.socket_id ?? null, f.channel_name ?? null, String(user.user_id),
				info === null ? null : JSON.stringify(info)]);
		send(res, 200, r.rows[0].r);
	}

	async function userAuth(req, res, user) {
		const f = parseForm(req, await readBody(req));
		const data = { id: String(user.user_id), ...(user.user_info ? { user_info: user.user_info } : {}) };
		const r = await pool.query('SELECT rtpush.authenticate_user($1, $2::jsonb) AS r',
			[f.socket_id ?? null, JSON.stringify(data)]);
		send(res, 200, r.rows[0].r);
	}

	async function config(req, res, user) {
		const r = await pool.query('SELECT rtpush.client_config($1) AS r', [String(user.user_id)]);
		send(res, 200, { status: 'success', data: r.rows[0].r });
	}

	// the channel's events after a position, for rtpush-client's catch-up
	async function history(req, res, user) {
		const q = new URL(req.url, 'http://x').searchParams;
		const max = q.has('max_events') ? Number(q.get('max_events')) : 100;
		const r = await pool.query('SELECT rtpush.history($1, $2, $3, $4) AS r',
			[String(user.user_id), q.get('channel'), q.get('after') || null, Number.isInteger(max) ? max : 0]);
		send(res, 200, { status: 'success', data: r.rows[0].r });
	}

	async function webhook(req, res) {
		const raw = await readBody(req);
		const r = await pool.query('SELECT rtpush.handle_webhook($1, $2, $3) AS r',
			[req.headers['x-pusher-key'] ?? null, req.headers['x-pusher-signature'] ?? null, raw]);
		send(res, 200, r.rows[0].r);
	}

	const routes = {
		'POST /api/v1/broadcasting/auth': [auth, true],
		'POST /api/v1/broadcasting/user-auth': [userAuth, true],
		'GET /api/v1/broadcasting/config': [config, true],
		'GET /api/v1/broadcasting/history': [history, true],
		'POST /api/v1/broadcasting/webhook': [webhook, false],
	};

	const extra = Object.entries(options.routes ?? {}).map(([k, v]) => {
		const [method, p] = k.split(' ');
		return { method, parts: p.split('/'), route: v };
	});
	function findRoute(method, pathname) {
		const parts = pathname.split('/');
		for (const r of extra) {
			if (r.method !== method || r.parts.length !== parts.length)
				continue;
			const params = {};
			if (r.parts.every((seg, i) => (seg.startsWith(':') ? (params[seg.slice(1)] = decodeURIComponent(parts[i])) !== '' : seg === parts[i])))
				return [r.route, params];
		}
		const route = routes[`${method} ${pathname}`];
		return route ? [route, {}] : null;
	}

	const server = http.createServer(async (req, res) => {
		const found = findRoute(req.method, new URL(req.url, 'http://x').pathname);
		if (!found) {
			if (options.fallback)
				return options.fallback(req, res);
			return send(res, 404, { error: 'not found' });
		}
		try {
			const [[handler, needsUser], params] = found;
			let user = null;
			if (needsUser) {
				user = await currentUser(req);
				if (!user)
					return send(res, 401, { error: 'not signed in' });
			}
			await handler(req, res, user, params);
		} catch (e) {
			const status = e.status ?? STATUS[e.code] ?? (e instanceof SyntaxError ? 400 : 500);
			send(res, status, { error: status === 500 ? 'internal error' : e.message });
			if (status === 500)
				console.error(`auth-server: ${e.code ?? ''} ${e.message}`);
		}
	});

	await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
	const port = server.address().port;
	return {
		server,
		port,
		url: `http://${options.host ?? '127.0.0.1'}:${port}`,
		close: async () => {
			server.closeAllConnections?.();
			await new Promise((resolve) => server.close(resolve));
			if (ownPool)
				await pool.end();
		},
	};
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	const s = await createAuthServer({ port: Number(process.env.PORT ?? 8000), host: process.env.HOST ?? '127.0.0.1' });
	console.log(`rtpush auth server on ${s.url}`);
	for (const sig of ['SIGINT', 'SIGTERM'])
		process.once(sig, () => s.close().then(() => process.exit(0)));
}
