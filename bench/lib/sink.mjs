// sink.mjs: the smallest Pusher-API endpoint: answers every request 200 {}
// after reading its body.  Run as its own process: node sink.mjs PORT
// [PROBE_CHANNEL].  bench/run drains the outbox into it to show the worker's
// own ceiling.  With PROBE_CHANNEL, it also notes the wall-clock time (ms,
// fractional) at which each event on that channel arrived, by the "id"
// member of its data, and GET /probe answers them as {id: ms} (and forgets
// them): the latency from COMMIT without a WebSocket server.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2]);
const probe = process.argv[3] || null;
const quoted = probe && JSON.stringify(probe); // how the channel's name shows in a body
let seen = {};

function note(body) {
	const t = performance.timeOrigin + performance.now();
	let msg;
	try {
		msg = JSON.parse(body);
	} catch {
		return;
	}
	for (const e of msg.batch ?? [msg]) {
		if (e.channel !== probe && !(e.channels ?? []).includes(probe))
			continue;
		try {
			const id = JSON.parse(e.data).id;
			if (id !== undefined && seen[id] === undefined)
				seen[id] = t;
		} catch { /* not JSON: not a probe */ }
	}
}

const server = http.createServer((req, res) => {
	if (req.method === 'GET' && req.url === '/probe') {
		const out = JSON.stringify(seen);
		seen = {};
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(out);
		return;
	}
	const chunks = probe ? [] : null;
	req.on('data', (c) => chunks?.push(c));
	req.on('end', () => {
		// only a body that names the probe channel is parsed: other
		// databases' events (bench/delivery/many_databases.mjs) cost no JSON.parse
		if (chunks && chunks.length) {
			const body = Buffer.concat(chunks).toString();
			if (body.includes(quoted))
				note(body);
		}
		res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
		res.end('{}');
	});
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
