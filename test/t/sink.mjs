// sink.mjs: a Pusher HTTP API endpoint for the TAP tests, driven from Perl.
//
//   node test/t/sink.mjs [--app-id A] [--key K] [--secret S]
//                        [--tls CERT.pem,KEY.pem] [--port N]
//
// Without --tls it runs test/e2e/lib/faults.mjs's fault-injecting server
// (signature checked, per-request fault plan).  With --tls it runs a small
// https recording endpoint of its own (node's https module, the given
// certificate), answering 200 '{}' to correctly signed requests.
//
// Once listening it prints one line "READY <port> <control-port>" and then
// nothing more.  The control port (127.0.0.1, plain HTTP, JSON) answers:
//   GET  /stats   {requests, statuses: {code: n}, actions: {...}, delivered,
//                  badSignatures, overlaps}
//   GET  /events  [[seq, channel, requestNo, id, position, arrivedMs], ...]:
//                 every event of a request answered 2xx, in arrival order (seq
//                 is data.seq; id and position its history members, rtpush_id
//                 and rtpush_position, or null; arrivedMs the wall clock, ms
//                 since the epoch, when its request came in, or null)
//   POST /plan    body: JSON array of faults.mjs rules without `when`
//                 ({status, body, headers, fraction, times, delayMs, hang,
//                 reset}); [] is always 200
//   POST /stop    exits
// SIGTERM/SIGINT also end it; its sockets close with it.

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { startFaultServer, checkSignature } from '../e2e/lib/faults.mjs';

function args() {
	const a = { appId: 'rtpush-tap', key: 'tap-key', secret: 'tap-secret', tls: null, port: 0 };
	const argv = process.argv.slice(2);
	for (let i = 0; i < argv.length; i += 2) {
		const [k, v] = [argv[i], argv[i + 1]];
		if (k === '--app-id') a.appId = v;
		else if (k === '--key') a.key = v;
		else if (k === '--secret') a.secret = v;
		else if (k === '--tls') a.tls = v.split(',');
		else if (k === '--port') a.port = Number(v);
		else throw new Error(`sink.mjs: unknown option ${k}`);
	}
	return a;
}

// The https endpoint: records requests like faults.mjs does, always 200 when
// the signature is right.
async function startTlsSink(o) {
	const s = { requests: [] };
	const sockets = new Set();
	const server = https.createServer({
		cert: fs.readFileSync(o.tls[0]),
		key: fs.readFileSync(o.tls[1]),
	}, (req, res) => {
		req.socket.rtpushRequests = (req.socket.rtpushRequests ?? 0) + 1;
		const url = new URL(req.url, 'https://127.0.0.1');
		const rec = { n: s.requests.length + 1, path: url.pathname };
		s.requests.push(rec);
		const chunks = [];
		req.on('data', (d) => chunks.push(d));
		req.on('end', () => {
			rec.body = Buffer.concat(chunks).toString('utf8');
			let json = null;
			try {
				json = JSON.parse(rec.body);
			} catch {
				// recorded as no events
			}
			const batch = rec.path.endsWith('/batch_events') ? (json?.batch ?? []) : (json ? [json] : []);
			rec.events = batch.map((e) => ({ channels: e.channels ?? [e.channel], data: e.data }));
			rec.signatureError = checkSignature({
				method: req.method, path: rec.path, query: Object.fromEntries(url.searchParams),
				body: rec.body, key: o.key, secret: o.secret,
			});
			rec.status = rec.signatureError ? 401 : 200;
			rec.responseBody = rec.signatureError ? JSON.stringify({ error: rec.signatureError }) : '{}';
			rec.action = 'tls';
			res.writeHead(rec.status, { 'content-type': 'application/json' });
			res.end(rec.responseBody);
		});
	});
	server.on('connection', (sock) => {
		sockets.add(sock);
		sock.on('close', () => sockets.delete(sock));
	});
	// Handshakes the client refused: a failed handshake, or (TLS 1.3, where
	// the server's side completes before the client checks the certificate;
	// Node.js 24 reports it so) a connection closed without one request.
	server.on('tlsClientError', () => {
		s.tlsClientErrors = (s.tlsClientErrors ?? 0) + 1;
	});
	server.on('secureConnection', (tls) => {
		tls.on('close', () => {
			if (!tls.rtpushRequests)
				s.tlsClientErrors = (s.tlsClientErrors ?? 0) + 1;
		});
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(o.port, '127.0.0.1', resolve);
	});
	s.port = server.address().port;
	s.overlaps = [];
	s.plan = () => {
		throw new Error('the TLS sink has no fault plan');
	};
	s.delivered = () => s.requests
		.filter((r) => r.status === 200)
		.flatMap((r) => r.events.map((e) => {
			let data = e.data;
			try {
				data = JSON.parse(e.data);
			} catch {
				// keep the string
			}
			return { ...e, data, request: r.n };
		}));
	s.stop = async () => {
		for (const sock of sockets)
			sock.destroy();
		await new Promise((resolve) => server.close(resolve));
	};
	return s;
}

const o = args();
const sink = o.tls
	? await startTlsSink(o)
	: await startFaultServer({ appId: o.appId, key: o.key, secret: o.secret, port: o.port || undefined });

function stats() {
	const st = { requests: sink.requests.length, statuses: {}, actions: {}, badSignatures: 0 };
	for (const r of sink.requests) {
		const code = r.status ?? 'none';
		st.statuses[code] = (st.statuses[code] ?? 0) + 1;
		if (r.action)
			st.actions[r.action] = (st.actions[r.action] ?? 0) + 1;
		if (r.signatureError)
			st.badSignatures++;
	}
	st.delivered = sink.delivered().length;
	st.overlaps = sink.overlaps.length;
	st.tlsClientErrors = sink.tlsClientErrors ?? 0;
	return st;
}

let stopping = false;
async function stop() {
	if (stopping)
		return;
	stopping = true;
	control.close();
	await sink.stop();
	process.exit(0);
}

const control = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (d) => chunks.push(d));
	req.on('end', () => {
		let out;
		try {
			if (req.method === 'GET' && req.url === '/stats')
				out = stats();
			else if (req.method === 'GET' && req.url === '/events') {
				const wall = new Map(sink.requests.map((r) => [r.n, r.startedWall ?? null]));
				out = sink.delivered().map((e) => [e.data?.seq ?? null, e.channels?.[0] ?? null, e.request,
					e.id ?? null, e.position ?? null, wall.get(e.request) ?? null]);
			}
			else if (req.method === 'POST' && req.url === '/plan') {
				sink.plan(JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]'));
				out = { ok: true };
			} else if (req.method === 'POST' && req.url === '/stop') {
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end('{"ok":true}', () => stop());
				return;
			} else {
				res.writeHead(404);
				res.end();
				return;
			}
		} catch (e) {
			res.writeHead(500, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ error: e.message }));
			return;
		}
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(JSON.stringify(out));
	});
});
await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve));
for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => stop());
process.stdout.write(`READY ${sink.port} ${control.address().port}\n`);
