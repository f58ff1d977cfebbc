// run.mjs: bench/history, the benchmarks of issue 17 (history and catch-up),
// in one run; holds the sizes of each mode and writes DIR/history.json
// (bench/run makes the report: bench/history/section.mjs).
//
//   node bench/history/run.mjs --mode quick|default|full --out DIR [--only throughput,read,catchup,storage]
//
// Parts, each on its own PostgreSQL (and soketi where it delivers):
//   throughput  delivery with history on vs off, and the writer's capture
//               cost on vs off (throughput.mjs)
//   read        rtpush.history() for 100 events with R events retained (read.mjs)
//   catchup     10,000 missed events through rtpush-client and the example
//               endpoint (catchup.mjs)
//   storage     history's size over a sustained run longer than the
//               retention (storage.mjs)

import { parseArgs } from 'node:util';
import path from 'node:path';
import { writeJson, log, build } from '../lib/common.mjs';

const { values: opt } = parseArgs({
	options: {
		mode: { type: 'string', default: 'default' },
		out: { type: 'string' },
		only: { type: 'string', default: 'throughput,read,catchup,storage' },
	},
});

const MODES = {
	quick: {
		throughput: { events: 20000, rounds: 1, warm: 2000, captureSecs: 4, captureRounds: 1 },
		read: { rows: 200000, channels: 200, calls: 500 },
		catchup: { events: 10000, rounds: 1 },
		storage: { secs: 30, rate: 1000, retention: 5 },
	},
	default: {
		throughput: { events: 200000, rounds: 5, warm: 20000, captureSecs: 10, captureRounds: 3 },
		read: { rows: 10000000, channels: 1000, calls: 2000 },
		catchup: { events: 10000, rounds: 3 },
		storage: { secs: 180, rate: 2000, retention: 20 },
	},
	full: {
		throughput: { events: 200000, rounds: 7, warm: 20000, captureSecs: 10, captureRounds: 5 },
		read: { rows: 10000000, channels: 1000, calls: 5000 },
		catchup: { events: 10000, rounds: 5 },
		storage: { secs: 2000, rate: 5000, retention: 120 },
	},
};

const cfg = MODES[opt.mode];
if (!cfg || !opt.out)
	throw new Error('usage: run.mjs --mode quick|default|full --out DIR [--only throughput,read,catchup,storage]');
const t0 = Date.now();
const res = { mode: opt.mode };
for (const name of opt.only.split(',')) {
	const t = Date.now();
	const mod = await import(`./${name}.mjs`);
	res[name] = await mod.run(cfg[name]);
	res[name].elapsed_s = (Date.now() - t) / 1000;
	log(`history ${name} done in ${res[name].elapsed_s.toFixed(0)} s`);
}
res.elapsed_s = (Date.now() - t0) / 1000;
res.ran_at = `${new Date(t0).toISOString().slice(0, 16)}Z (bench/run${opt.mode === 'default' ? '' : ` --${opt.mode}`}), ${build()}`;
writeJson(path.join(opt.out, 'history.json'), res);
process.exit(0);
