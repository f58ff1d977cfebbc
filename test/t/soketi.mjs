// soketi.mjs: a real soketi and a real pusher-js subscriber for the TAP tests.
//
//   node test/t/soketi.mjs --app-id A --key K --secret S --channels c1,c2
//
// Starts soketi (test/e2e/lib/soketi.mjs: @soketi/soketi's own entry, on
// free ports of 127.0.0.1) with that one app, connects pusher-js to it and
// subscribes to the given public channels.  Once subscribed it prints one
// line "READY <soketi-port> <control-port>".  The control port (127.0.0.1,
// plain HTTP, JSON) answers:
//   GET /events  [[seq, channel], ...]: every event received, in arrival
//                order (seq is data.seq)
// SIGTERM/SIGINT stop the client and soketi.

import http from 'node:http';
import { startSoketi } from '../e2e/lib/soketi.mjs';
import { pusherClient } from '../e2e/lib/clients.mjs';

const o = { appId: 'rtpush-tap', key: 'tap-key', secret: 'tap-secret', channels: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
	const [k, v] = [argv[i], argv[i + 1]];
	if (k === '--app-id') o.appId = v;
	else if (k === '--key') o.key = v;
	else if (k === '--secret') o.secret = v;
	else if (k === '--channels') o.channels = v.split(',');
	else throw new Error(`soketi.mjs: unknown option ${k}`);
}

const soketi = await startSoketi({ appId: o.appId, key: o.key, secret: o.secret });
const client = await pusherClient({ soketi });
await client.connected();
const events = [];
for (const name of o.channels) {
	const ch = await client.subscribe(name);
	ch.bind_global((event, data) => {
		if (event.startsWith('pusher:'))
			return;
		const d = typeof data === 'string' ? JSON.parse(data) : data;
		events.push([d?.seq ?? null, name]);
	});
}

const ctl = http.createServer((req, res) => {
	if (req.method === 'GET' && req.url === '/events') {
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(JSON.stringify(events));
	} else {
		res.writeHead(404);
		res.end('{}');
	}
});
await new Promise((resolve) => ctl.listen(0, '127.0.0.1', resolve));

let stopping = false;
async function stop() {
	if (stopping)
		return;
	stopping = true;
	ctl.close();
	client.pusher.disconnect();
	await soketi.destroy();
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`READY ${soketi.port} ${ctl.address().port}\n`);
