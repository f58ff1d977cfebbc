// main.mjs: runs the delivery benchmarks 2-5 of issue 7, 7 (streaming) and 8 (idle_xid) of issue 22 and 9
// (many_databases) of issue 19, and writes their results as JSON into an output directory (bench/run makes the report).
//
//   node bench/delivery/main.mjs --mode quick|default|full --out DIR [--only throughput,latency,...]

import { parseArgs } from 'node:util';
import path from 'node:path';
import { writeJson, log, build } from '../lib/common.mjs';

const { values: opt } = parseArgs({
	options: {
		mode: { type: 'string', default: 'default' },
		out: { type: 'string' },
		only: { type: 'string', default: 'throughput,latency,backlog,sustained' },
	},
});

const MODES = {
	quick: {
		throughput: { events: 20000, rounds: 1, unbatchedEvents: 5000, warm: 1000 },
		latency: { rates: [100, 1000], secs: 2, rounds: 1 },
		backlog: { events: 100000, rounds: 1, settleSecs: 3 },
		sustained: { events: 30000, rate: 3000 },
		streaming: { secs: 3, rounds: 1 },
		idle_xid: { events: 30000, rate: 3000, segment: 10000, rounds: 1 },
		many_databases: { events: 5000, rounds: 1, warm: 0, busyEvents: 50000, quietSecs: 3, latencyRounds: 1, idleSecs: 3 },
	},
	default: {
		throughput: { events: 200000, rounds: 3, unbatchedEvents: 50000 },
		latency: { rates: [100, 1000], secs: 10, rounds: 3 },
		backlog: { events: 1000000, rounds: 1 },
		sustained: { events: 1000000, rate: 3000 },
		streaming: { secs: 15, rounds: 5 },
		idle_xid: { events: 1000000, rate: 5000, segment: 200000, rounds: 1 },
		many_databases: { events: 100000, rounds: 5, warm: 10000, busyEvents: 1000000, quietSecs: 20, latencyRounds: 3, idleSecs: 20 },
	},
	full: {
		throughput: { events: 200000, rounds: 5, unbatchedEvents: 50000 },
		latency: { rates: [100, 1000], secs: 20, rounds: 5 },
		backlog: { events: 1000000, rounds: 2 },
		sustained: { events: 10000000, rate: 5000 },
		streaming: { secs: 30, rounds: 5 },
		idle_xid: { events: 2000000, rate: 5000, segment: 400000, rounds: 2 },
		many_databases: { events: 200000, rounds: 7, warm: 10000, busyEvents: 1000000, quietSecs: 30, latencyRounds: 5, idleSecs: 30 },
	},
};

const cfg = MODES[opt.mode];
if (!cfg || !opt.out)
	throw new Error('usage: main.mjs --mode quick|default|full --out DIR');
for (const name of opt.only.split(',')) {
	const t0 = Date.now();
	const ranAt = `${new Date().toISOString().slice(0, 16)}Z (bench/run${opt.mode === 'default' ? '' : ` --${opt.mode}`})`;
	// the library the benchmark's cluster loads when it starts; another
	// engineer may install a newer one while it runs
	const built = build();
	const mod = await import(`./${name}.mjs`);
	const res = await mod.run({ ...cfg[name], dataDir: opt.out });
	res.elapsed_s = (Date.now() - t0) / 1000;
	const lib = (b) => b.replace(/, tree at .*/, '');
	const after = lib(build());
	res.ran_at = `${ranAt}, ${built}${after === lib(built) ? '' : ` (installed meanwhile: ${after})`}`;
	writeJson(path.join(opt.out, `${name}.json`), res);
	log(`${name} done in ${res.elapsed_s.toFixed(0)} s`);
}
process.exit(0);
