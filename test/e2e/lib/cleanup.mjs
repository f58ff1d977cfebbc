// cleanup.mjs: last-resort teardown for the end-to-end harness.
//
// Every server the harness starts (PostgreSQL clusters, soketi, fault
// endpoints) registers a synchronous undo function here.  They run when the
// test process exits or is interrupted, so nothing started by a test outlives
// it even when the test fails or is killed with SIGINT/SIGTERM.  Normal
// teardown (await x.destroy()) unregisters first and does the same work
// asynchronously.

const undos = new Map();
let nextId = 1;
let hooked = false;

function runAll() {
	for (const [id, fn] of [...undos].reverse()) {
		undos.delete(id);
		try {
			fn();
		} catch (e) {
			process.stderr.write(`e2e cleanup: ${e.message}\n`);
		}
	}
}

function hook() {
	if (hooked)
		return;
	hooked = true;
	process.on('exit', runAll);
	for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.once(sig, () => {
			runAll();
			process.kill(process.pid, sig);
		});
	}
}

/** Register a synchronous undo; returns a function that unregisters it. */
export function onExit(fn) {
	hook();
	const id = nextId++;
	undos.set(id, fn);
	return () => undos.delete(id);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll an async predicate until it returns a truthy value (which is
 * returned) or timeoutMs passes (then throws, naming what was awaited and
 * the last value or error seen).
 */
export async function until(what, fn, { timeoutMs = 60000, intervalMs = 100 } = {}) {
	const end = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > end) {
			const detail = last instanceof Error ? last.message : JSON.stringify(last);
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
		}
		await sleep(intervalMs);
	}
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export async function freePort() {
	const net = await import('node:net');
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}
