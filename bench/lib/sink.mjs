// sink.mjs: the smallest Pusher-API endpoint: answers every request 200 {}
// after reading its body.  Run as its own process: node sink.mjs PORT.
// bench/run drains the outbox into it to show the worker's own ceiling.
import http from 'node:http';

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
	req.on('data', () => {});
	req.on('end', () => {
		res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
		res.end('{}');
	});
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
