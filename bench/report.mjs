// report.mjs: writes bench/RESULTS.md and the gnuplot PNGs from the JSON
// results of bench/delivery/main.mjs and bench/history/run.mjs (run by
// bench/run).
//
//   node bench/report.mjs --data DIR --results FILE --plots DIR --command "..." [--capture FILE]
//
// Sections "## Capture overhead" (bench/capture/run's, passed with
// --capture or kept from FILE) and "## Notes" (hand-written) are kept.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { historySection } from './history/section.mjs';
import { streamingSection, idleXidSection } from './delivery/streaming_section.mjs';
import { manyDatabasesSection } from './delivery/many_databases_section.mjs';

const { values: opt } = parseArgs({
	options: {
		data: { type: 'string' }, results: { type: 'string' }, plots: { type: 'string' },
		command: { type: 'string' }, capture: { type: 'string' }, started: { type: 'string' },
		load: { type: 'string', default: '' },
	},
});
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const load = (name) => {
	const f = path.join(opt.data, `${name}.json`);
	return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null;
};
const tp = load('throughput');
const lat = load('latency');
const bl = load('backlog');
const su = load('sustained');
const cx = load('capture_extra');
const hi = load('history');
const st = load('streaming');
const ix = load('idle_xid');
const mdb = load('many_databases');

const old = fs.existsSync(opt.results) ? fs.readFileSync(opt.results, 'utf8') : '';
function section(text, title) {
	const i = text.indexOf(`\n## ${title}`);
	const s = text.startsWith(`## ${title}`) ? 0 : i < 0 ? -1 : i + 1;
	if (s < 0)
		return null;
	const j = text.indexOf('\n## ', s + 3);
	return text.slice(s, j < 0 ? text.length : j + 1).trimEnd() + '\n';
}
const capture = opt.capture && fs.existsSync(opt.capture)
	? section(fs.readFileSync(opt.capture, 'utf8'), 'Capture overhead') : section(old, 'Capture overhead');
const notes = section(old, 'Notes');

const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const mm = (s, f = f0) => `${f(s.min)}–${f(s.max)}`;
const MB = (b) => `${(b / 1048576).toFixed(1)} MB`;
const met = (ok) => (ok ? '**met**' : '**missed**');
const ver = (p) => JSON.parse(fs.readFileSync(path.join(root, 'test/node/node_modules', p, 'package.json'), 'utf8')).version;

const md = [];
const summary = [];
const out = (...l) => md.push(...l);

// ---- capture, extra variants ----
function captureExtraSection() {
	if (!cx)
		return;
	const s = cx.single;
	out('## Capture overhead: pg_notify, bulk INSERT … SELECT and COPY', '',
		`The variants issue 7 adds to the table above (bench/capture_extra/run.mjs): the same single-row pgbench INSERT`,
		`(2 clients, \`-M prepared\`, ${cx.secs} s runs, ${cx.rounds} interleaved rounds) with a plpgsql trigger that calls`,
		'`pg_notify(channel, row_to_json(NEW)::text)` beside rtpush and the plpgsql outbox trigger; and one statement writing',
		`${f0(cx.rows)} rows (INSERT … SELECT generate_series, and COPY from a CSV file) with each variant, a warm-up then`,
		`${cx.rounds} interleaved rounds, rows/s. The worker is in another database, as in bench/capture/run. Note that pg_notify`,
		'is not durable, not ordered per channel across sessions, and needs a listener connection per database; it is the',
		'"what else would users do" baseline, not an equivalent.', '',
		'| single-row pgbench | median TPS | min–max | rtpush ratio (per round) |', '|---|---:|---:|---:|',
		`| plpgsql outbox trigger | ${f0(s.plpgsql.median)} | ${mm(s.plpgsql)} | ${f2(cx.single_ratios['rtpush/plpgsql'].median)}× |`,
		`| pg_notify trigger | ${f0(s.notify.median)} | ${mm(s.notify)} | ${f2(cx.single_ratios['rtpush/notify'].median)}× |`,
		`| rtpush.broadcast() | ${f0(s.rtpush.median)} | ${mm(s.rtpush)} | 1.00× |`, '');
	const label = { none: 'no trigger', cte: 'CTE writing the outbox rows by hand (floor)', plpgsql: 'plpgsql outbox trigger',
		notify: 'pg_notify trigger', rtpush: 'rtpush.broadcast()' };
	for (const kind of ['insert-select', 'copy']) {
		out(`| ${f0(cx.rows)}-row ${kind === 'copy' ? 'COPY' : 'INSERT … SELECT'} | median rows/s | min–max | rtpush ratio (per round) |`,
			'|---|---:|---:|---:|');
		for (const [v, x] of Object.entries(cx.bulk[kind])) {
			const r = cx.bulk_ratios[kind][`rtpush/${v}`];
			out(`| ${label[v]} | ${f0(x.median)} | ${mm(x)} | ${r ? `${f2(r.median)}×` : '1.00×'} |`);
		}
		out('');
	}
	const floor = cx.bulk_ratios['insert-select']['rtpush/cte'].median;
	const pl = cx.bulk_ratios['insert-select']['rtpush/plpgsql'].median;
	summary.push([`Capture, ${f0(cx.rows)}-row INSERT … SELECT vs CTE floor / plpgsql`, '≥ 0.95× / ≥ 1.15×', `${f2(floor)}× / ${f2(pl)}×`,
		met(floor >= 0.95 && pl >= 1.15)]);
	const cpl = cx.bulk_ratios.copy['rtpush/plpgsql'].median;
	summary.push([`Capture, ${f0(cx.rows)}-row COPY vs plpgsql`, '≥ 1.15×', `${f2(cpl)}×`, met(cpl >= 1.15)]);
}

// ---- throughput ----
// CPU of the publisher per 1,000 events: the worker for rtpush, the driver
// process (where the library runs) for the library
function cpuPer(runs, lib) {
	const xs = runs.map((x) => (lib ? x.cpu.driver_pct : x.cpu.worker_pct) / 100 * x.secs * 1000 / (x.rate * x.secs / 1000));
	const s = [...xs].sort((a, b) => a - b);
	return `${f0(s[s.length >> 1])} (${f0(s[0])}–${f0(s[s.length - 1])})`;
}

function throughputSection() {
	if (!tp)
		return;
	const names = { 'rtpush-soketi': 'rtpush worker → soketi', 'lib-batched': '`pusher` library, triggerBatch (10/request) → soketi',
		'lib-unbatched': '`pusher` library, trigger (1/request) → soketi', 'rtpush-sink': 'rtpush worker → local HTTP sink (200 {})' };
	const base = tp.rates['lib-batched'];
	out('## Delivery throughput', '',
		`${f0(tp.events)} events on ${tp.channels} private channels, ~${tp.avg_data_bytes}-byte data, the same events for every variant`
		+ (tp.unbatched_events < tp.events ? ` (the unbatched library, ~10× slower, publishes the first ${f0(tp.unbatched_events)} of them);` : ';'),
		`${tp.rounds} interleaved rounds (the order rotates each round) after a warm-up; concurrency ${tp.concurrency}`,
		`(\`rtpush.max_in_flight\` = the library's requests at once), \`rtpush.batch_size\` 10. rtpush is timed from`,
		'`pg_reload_conf()` that gives the worker its `rtpush.app_id` (the outbox was filled while it had none) until',
		'`rtpush.status.delivered` grew by N and the outbox is empty; the library from its first request to its last answer.',
		'CPU is % of one core over the run: the worker, the other PostgreSQL processes, the HTTP server (soketi or the sink),',
		'the bench driver (where the library runs), and the whole machine (200 % = both cores, other users included).', '',
		'| variant | median events/s | min–max | ratio to batched library (median, min–max of per-round ratios) | requests/s | batch fill | CPU worker / postgres / server / driver / machine | publisher CPU ms per 1,000 events: worker / library process (min–max) |',
		'|---|---:|---:|---:|---:|---:|---|---:|');
	for (const v of Object.keys(names)) {
		const r = tp.rates[v];
		const runs = tp.runs[v];
		const ratios = runs.map((x, i) => x.rate / tp.runs['lib-batched'][i].rate);
		const sr = [...ratios].sort((a, b) => a - b);
		const med = sr.length % 2 ? sr[sr.length >> 1] : (sr[sr.length / 2 - 1] + sr[sr.length / 2]) / 2;
		const c = (k) => Math.round(runs.map((x) => x.cpu[k]).sort((a, b) => a - b)[runs.length >> 1]);
		out(`| ${names[v]} | ${f0(r.median)} | ${mm(r)} | ${f2(med)}× (${f2(sr[0])}–${f2(sr[sr.length - 1])}) |`
			+ ` ${f0(runs.map((x) => x.req_rate).sort((a, b) => a - b)[runs.length >> 1])} | ${f1(runs[0].batch_fill)} |`
			+ ` ${c('worker_pct')} / ${c('postgres_pct')} / ${c('server_pct')} / ${c('driver_pct')} / ${c('machine_pct')} % |`
			+ ` ${cpuPer(runs, v.startsWith('lib'))} |`);
	}
	const ratio = tp.ratios['rtpush-soketi/lib-batched'];
	out('', `Target rtpush ≥ 1.0× the batched library: ${f2(ratio.median)}× (rounds ${ratio.runs.map(f2).join(', ')}) — ${met(ratio.median >= 1.0)}.`,
		...(tp.runs['rtpush-soketi'][0].worker_xacts !== undefined
			? [`Worker transactions per drain of ${f0(tp.events)} events (≈, from pg_stat_database less the driver's own): `
				+ `${['rtpush-soketi', 'rtpush-sink'].map((v) => `${v} ${tp.runs[v].map((x) => f0(x.worker_xacts)).join(' / ')}`).join('; ')}.`]
			: []),
		`Every run: ${Object.keys(names).map((v) => `${v} ${tp.runs[v].map((x) => f0(x.rate)).join(' / ')}`).join('; ')} events/s.`, '');
	if (fs.existsSync(path.join(opt.plots, 'throughput-drain.png')))
		out('![drain rate](plots/throughput-drain.png)', '');
	summary.push(['Delivery throughput vs batched `pusher` library', '≥ 1.0×', `${f2(ratio.median)}× (${f0(tp.rates['rtpush-soketi'].median)} vs ${f0(base.median)} events/s)`, met(ratio.median >= 1.0)]);
}

// ---- latency ----
function latencySection() {
	if (!lat)
		return;
	const fromCommit = lat.variants[`rtpush@${lat.rates[0]}`].from_commit;
	out('## Latency', '',
		`COMMIT → pusher-js receive. ${lat.rounds} interleaved rounds of ${lat.secs} s per rate and variant (after a warm-up), events on`,
		`${lat.channels} private channels, one pusher-js client subscribed to all of them in the driver process. rtpush: a`,
		'node-postgres client in autocommit INSERTs a messages row (the `rtpush.broadcast()` trigger queues the event;',
		'4 connections, an INSERT waits for a free one).',
		...(fromCommit ? [
			'"from COMMIT" starts at the transaction\'s commit timestamp on the server (`track_commit_timestamp`), compared',
			'with the receive time on the same machine\'s wall clock; "from sending" starts just before the client sends the',
			'INSERT, so it adds the INSERT\'s own execution and round trip. The clocks are checked: a commit timestamp must',
			'fall between the client sending the INSERT and the INSERT returning.'] : [
			't0 is taken just before the statement is sent.']),
		'Floor: the official `pusher` library publishes the same event straight to soketi (t0 just before `trigger()`).',
		'p50/p99/max are per run; the table shows the median over rounds and the min–max; "pooled" is over all rounds\'',
		'events. "INSERT returned" is when the autocommit INSERT (or the library\'s request) came back.', '',
		'| rate | variant | p50 ms (min–max) | p99 ms (min–max) | max ms | pooled p50 / p99 / max ms | p50 / p99 ratio to floor | INSERT returned p50 / p99 ms | events (lost) | achieved events/s |',
		'|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
	for (const rate of lat.rates) {
		const fl = lat.variants[`floor@${rate}`];
		for (const v of ['rtpush', 'floor']) {
			const x = lat.variants[`${v}@${rate}`];
			const ratio = x.ratio_p50 ? `${f2(x.ratio_p50.median)}× / ${f2(x.ratio_p99.median)}×` : '—';
			if (x.from_commit) {
				const c = x.from_commit;
				out(`| ${rate}/s | rtpush, from COMMIT | ${f2(c.p50.median)} (${mm(c.p50, f2)}) | ${f2(c.p99.median)} (${mm(c.p99, f2)}) |`
					+ ` ${f1(c.max.max)} | ${f2(c.pooled.p50)} / ${f2(c.pooled.p99)} / ${f1(c.pooled.max)} |`
					+ ` ${f2(c.p50.median / fl.p50.median)}× / ${f2(c.p99.median / fl.p99.median)}× | | ${f0(x.n)} (${x.lost}) | ${f0(x.achieved_rate)} |`);
			}
			const name = v === 'rtpush' ? (x.from_commit ? 'rtpush, from sending the INSERT' : 'rtpush') : 'floor: library → soketi';
			out(`| ${rate}/s | ${name} | ${f2(x.p50.median)} (${mm(x.p50, f2)}) |`
				+ ` ${f2(x.p99.median)} (${mm(x.p99, f2)}) | ${f1(x.max.max)} | ${f2(x.pooled.p50)} / ${f2(x.pooled.p99)} / ${f1(x.pooled.max)} |`
				+ ` ${ratio} | ${f2(x.commit_p50)} / ${f2(x.commit_p99)} | ${f0(x.n)} (${x.lost}) | ${f0(x.achieved_rate)} |`);
		}
	}
	out('');
	for (const rate of lat.rates) {
		const x = lat.variants[`rtpush@${rate}`];
		const fl = lat.variants[`floor@${rate}`];
		const m = x.from_commit ?? x;
		const ok50 = m.p50.median <= 2;
		const ok99 = m.p99.median <= 10;
		const also = x.from_commit ? ` (from sending the INSERT: p50 ${f2(x.p50.median)}, p99 ${f2(x.p99.median)} ms)` : '';
		out(`At ${rate}/s${x.from_commit ? ', from COMMIT' : ''}: p50 ${f2(m.p50.median)} ms (target ≤ 2) ${met(ok50)}; p99 ${f2(m.p99.median)} ms (target ≤ 10) ${met(ok99)}${also};`
			+ ` floor p50 ${f2(fl.p50.median)} ms.`
			+ (x.from_commit ? ` Clock check: ${f0(x.from_commit.in_bracket)} of ${f0(x.from_commit.events)} commit timestamps between send and return.` : ''));
		const label = x.from_commit ? ' from COMMIT' : '';
		summary.push([`Latency p50 at ${rate}/s`, '≤ 2 ms', `${f2(m.p50.median)} ms${label}${x.from_commit ? ` (${f2(x.p50.median)} from sending the INSERT)` : ''} (floor ${f2(fl.p50.median)})`, met(ok50)]);
		summary.push([`Latency p99 at ${rate}/s`, '≤ 10 ms', `${f2(m.p99.median)} ms${label}${x.from_commit ? ` (${f2(x.p99.median)} from sending the INSERT)` : ''} (floor ${f2(fl.p99.median)})`, met(ok99)]);
	}
	out('');
	if (fs.existsSync(path.join(opt.plots, 'latency.png')))
		out('![latency distribution](plots/latency.png)', '');
}

// ---- backlog ----
function backlogSection() {
	if (!bl)
		return;
	out('## Backlog', '',
		`${f0(bl.events)} events written (through the messages table's trigger, 1,000-row INSERT … SELECTs, 2 connections) while`,
		'soketi is stopped (connections refused; the worker retries), then soketi is started again and the worker drains the',
		`outbox. \`rtpush.retry_max\` = ${bl.retry_max} so the first retry after soketi is back comes soon; that wait is shown apart.`,
		'Sizes are `pg_total_relation_size(\'rtpush.outbox\')` (heap + primary key + TOAST); no VACUUM of any kind is run by the',
		`benchmark, only autovacuum (autovacuum_naptime ${bl.naptime}; the table's settings: ${bl.autovacuum_settings.join(', ')}).`, '',
		'| round | fill events/s | wait for first delivery s | drain events/s (from soketi up) | drain events/s (from first delivery) | batch fill | outbox before | full | drained | after autovacuum (heap / pkey) | autovacuum runs | CPU worker / postgres / soketi |',
		'|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
	for (const r of bl.rounds_) {
		out(`| ${r.round} | ${f0(r.fill_rate)} | ${f1(r.wait_first_secs)} | ${f0(r.drain_rate)} | ${f0(r.drain_rate_after_first)} | ${f1(r.batch_fill)} |`
			+ ` ${MB(r.size_before)} | ${MB(r.size_full)} | ${MB(r.size_drained)} | ${MB(r.size_after)} (${MB(r.heap_after)} / ${MB(r.index_after)}) after ${r.settle_secs} s |`
			+ ` ${r.autovacuums} | ${r.cpu.worker_pct} / ${r.cpu.postgres_pct} / ${r.cpu.server_pct} % |`);
	}
	const last = bl.rounds_[bl.rounds_.length - 1];
	const down = last.size_after < last.size_full / 4;
	out('', `The outbox ${down ? 'came back down' : 'did **not** come back down'} without VACUUM FULL: ${MB(last.size_full)} full → ${MB(last.size_after)}`
		+ ` ${last.settle_secs} s after the drain. Worker VmRSS ${f0(bl.worker_rss_kb.start)} kB before, ${f0(bl.worker_rss_kb.end)} kB after`
		+ ` (RssAnon ${f0(bl.worker_anon_kb.start)} → ${f0(bl.worker_anon_kb.end)} kB).`, '');
	if (fs.existsSync(path.join(opt.plots, 'backlog.png')))
		out('![backlog: outbox size and queue over time](plots/backlog.png)', '');
	summary.push(['Backlog drain', 'outbox shrinks without VACUUM FULL',
		`${f0(bl.events)} events at ${f0(last.drain_rate_after_first)}/s; ${MB(last.size_full)} → ${MB(last.size_after)}`, down ? '**met**' : '**missed**']);
}

// ---- sustained ----
// The same run in the PHI configuration (event ids, a quarter encrypted).
function phiRows(p) {
	const o = p.worker_own_kb;
	const a = p.worker_anon_kb;
	const flat = Math.abs(o.end / o.start - 1) <= 0.10;
	summary.push(['Sustained worker RSS, PHI configuration', 'flat ±10 %',
		`without shared memory ${f0(o.start)} → ${f0(o.end)} kB; RssAnon ${f0(a.start)} → ${f0(a.end)} kB`, met(flat)]);
	return ['', `The same run in the configuration the README recommends for PHI: \`rtpush.event_id_field = '${p.event_id_field}'\`,`,
		`${f0(100 * p.encrypted_share)} % of the rows on \`private-encrypted-\` channels (${f0(p.events)} events):`, '',
		'| measure (PHI configuration) | value | target |', '|---|---:|---|',
		`| pgbench TPS (whole run) | ${f0(p.pgbench_tps)} | |`,
		`| delivery rate decay, first → last bucket | ${f1(100 * p.delivery_decay)} % | |`,
		`| worker RSS without shared memory idle / start (10 s in) / end / max | ${f0(o.idle)} / ${f0(o.start)} / ${f0(o.end)} / ${f0(o.max)} kB | start→end ±10 % ${met(flat)} |`,
		`| worker RssAnon (private) idle / start / end / max | ${f0(a.idle)} / ${f0(a.start)} / ${f0(a.end)} / ${f0(a.max)} kB | |`,
		`| events queued, max | ${f0(p.queued_max)} | |`,
		`| batch fill (delivered / requests) | ${f1(p.batch_fill)} | |`,
		`| CPU worker / postgres / soketi / machine | ${p.cpu.worker_pct} / ${p.cpu.postgres_pct} / ${p.cpu.server_pct} / ${p.cpu.machine_pct} % | |`];
}

function sustainedSection() {
	if (!su)
		return;
	const r = su.worker_rss_kb;
	const a = su.worker_anon_kb;
	const o = su.worker_own_kb;
	const flat = o ? Math.abs(o.end / o.start - 1) <= 0.10 : Math.abs(r.end / r.start - 1) <= 0.10;
	const flatAnon = Math.abs(a.end / a.start - 1) <= 0.10;
	const decayOk = su.delivery_decay < 0.10;
	out('## Sustained', '',
		`pgbench (2 clients, \`-M prepared\`, throttled with \`-R ${su.target_rate}\`) INSERTs single messages rows for`,
		`${f0(Math.ceil(su.target_events / su.target_rate))} s; each row's trigger queues one event and the worker delivers to soketi as they commit.`,
		`${f0(su.events)} events written (target ${f0(su.target_events)}; \`bench/run --full\` writes 10,000,000). Rates per ${su.bucket_s}-s bucket:`, '',
		'| bucket | written events/s | delivered events/s |', '|---|---:|---:|');
	for (const b of su.buckets)
		out(`| ${b.from}–${b.to} s | ${f0(b.write_rate)} | ${f0(b.delivery_rate)} |`);
	out('',
		'| measure | value | target |', '|---|---:|---|',
		`| pgbench TPS (whole run) | ${f0(su.pgbench_tps)} | (throttled at ${su.target_rate}) |`,
		`| pgbench max schedule lag | ${f0(su.max_lag_ms)} ms | |`,
		`| delivery rate decay, first → last bucket | ${f1(100 * su.delivery_decay)} % | < 10 % ${met(decayOk)} |`,
		`| write rate decay, first → last bucket | ${f1(100 * su.write_decay)} % | |`,
		...(o ? [`| worker RSS without shared memory (VmRSS − RssShmem) idle / start (10 s in) / end / max | ${f0(o.idle)} / ${f0(o.start)} / ${f0(o.end)} / ${f0(o.max)} kB | start→end ±10 % ${met(flat)} |`] : []),
		`| worker VmRSS idle / start (10 s in) / end / max | ${f0(r.idle)} / ${f0(r.start)} / ${f0(r.end)} / ${f0(r.max)} kB | ${o ? 'includes shared buffers' : `start→end ±10 % ${met(flat)}`} |`,
		`| worker RssAnon (private) idle / start / end / max | ${f0(a.idle)} / ${f0(a.start)} / ${f0(a.end)} / ${f0(a.max)} kB | ±10 % ${met(flatAnon)} |`,
		`| events queued, max | ${f0(su.queued_max)} | |`,
		`| outbox size max / end | ${MB(su.outbox_bytes.max)} / ${MB(su.outbox_bytes.end)} | |`,
		`| batch fill (delivered / requests) | ${f1(su.batch_fill)} | |`,
		`| written → all delivered | ${f1(su.secs_writing)} s → ${f1(su.secs_to_delivered)} s | |`,
		`| CPU worker / postgres / soketi / machine | ${su.cpu.worker_pct} / ${su.cpu.postgres_pct} / ${su.cpu.server_pct} / ${su.cpu.machine_pct} % | |`,
		...(su.steady ? [
			`| steady state (medians after the first bucket): queued / held by the worker | ${f0(su.steady.queued)} / ${f0(su.steady.held)} | |`,
			`| steady state: worker CPU | ${f0(su.steady.worker_cpu_pct)} % | |`,
			`| steady state: outbox primary-key entries read / index scans per second | ${f0(su.steady.pkey_tuples_read_per_s)} / ${f0(su.steady.pkey_scans_per_s)} | |`,
			`| steady state: dead tuples in the outbox (pg_stat) | ${f0(su.steady.dead_tuples)} | |`] : []),
		'',
		...(su.phi ? phiRows(su.phi) : []),
		'',
		'VmRSS counts every page of the shared buffer pool the worker has touched (RssShmem): it climbs towards',
		'`shared_buffers` as outbox pages move through the pool, whatever the worker holds. The target is judged on',
		'VmRSS without RssShmem, the memory the worker itself holds (private memory and mapped files); RssAnon is the',
		'private part alone.', '');
	if (fs.existsSync(path.join(opt.plots, 'sustained.png')))
		out('![sustained: rates, outbox size, worker RSS](plots/sustained.png)', '');
	summary.push(['Sustained delivery-rate decay', '< 10 %', `${f1(100 * su.delivery_decay)} % over ${f0(su.events)} events`, met(decayOk)]);
	summary.push(['Sustained worker RSS', 'flat ±10 %', (o ? `without shared memory ${f0(o.start)} → ${f0(o.end)} kB; ` : '')
		+ `VmRSS ${f0(r.start)} → ${f0(r.end)} kB (shared buffers included); RssAnon ${f0(a.start)} → ${f0(a.end)} kB`, met(flat)]);
}

captureExtraSection();
const extra = md.splice(0);
throughputSection();
latencySection();
backlogSection();
sustainedSection();
streamingSection(st, out, summary, { f0, f1, f2, met });
idleXidSection(ix, out, summary, { f0, f1, f2, met });
manyDatabasesSection(mdb, out, summary, { f0, f1, f2 });
historySection(hi, out, summary, { f0, f1, f2, mm, MB, met });

// ---- header ----
const cpu = os.cpus();
const pgv = execFileSync('pg_config', ['--version']).toString().trim();
const head = [
	'# rtpush benchmarks', '',
	`Command: \`${opt.command}\` (${opt.started ?? new Date().toISOString()}).`,
	`Machine: ${cpu[0].model} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()};`
	+ ` ${pgv}; soketi ${ver('@soketi/soketi')}; \`pusher\` ${ver('pusher')}; pusher-js ${ver('pusher-js')}; Node ${process.version}.`,
	`Load average (1 min) at start / end: ${opt.load}. The machine is shared with other engineers' builds and tests, so`,
	'absolute figures drift from run to run; rounds are interleaved and the ratios are per round.',
	'Every benchmark starts its own PostgreSQL (fsync on, `synchronous_commit = off`, shared_buffers 256MB) and soketi.', '',
	'See bench/README.md or `bench/run --help`. CI may run `bench/run --quick` as a smoke test, never as a timing gate.', '',
];
// the single-row pgbench ratios of bench/capture/run's own section
const cm = capture && /d\/b = ([\d.]+)\*\*.*?d\/c = ([\d.]+)\*\*/.exec(capture);
if (cm) {
	// the pg_notify section's single-row pgbench makes the same rtpush /
	// plpgsql comparison on another cluster (TCP, longer body): both count
	const xr = cx?.single_ratios?.['rtpush/plpgsql']?.median;
	const floor = Number(cm[1]) >= 0.95;
	const pl = [Number(cm[2]) >= 1.15, ...(xr === undefined ? [] : [xr >= 1.15])];
	const plAll = pl.every(Boolean), plNone = !pl.some(Boolean);
	const verdict = floor && plAll ? '**met**' : !floor && plNone ? '**missed**'
		: `**mixed**: the CTE floor ${floor ? 'met' : 'missed'}, plpgsql ${plAll ? 'met' : plNone ? 'missed' : 'met in one run, missed in the other'}`;
	summary.unshift(['Capture, single-row pgbench INSERT vs CTE floor / plpgsql (bench/capture/run; and vs plpgsql in the pg_notify section\'s pgbench)',
		'≥ 0.95× / ≥ 1.15×', `${cm[1]}× / ${cm[2]}×` + (xr === undefined ? '' : `; ${f2(xr)}×`), verdict]);
}
const ran = [['capture_extra', cx], ['throughput', tp], ['latency', lat], ['backlog', bl], ['sustained', su], ['streaming', st], ['idle_xid', ix], ['many_databases', mdb], ['history', hi]]
	.filter(([, x]) => x?.ran_at).map(([k, x]) => `${k} ${x.ran_at}`);
if (ran.length)
	head.splice(3, 0, `Sections from \`--only\` runs keep the other benchmarks' figures from bench/data; each ran at: ${ran.join(', ')}.`);
if (summary.length)
	head.push('## Targets', '', '| benchmark | target | measured (median) | |', '|---|---|---|---|',
		...summary.map((s) => `| ${s.join(' | ')} |`), '');
const text = [...head, ...(capture ? [capture] : []), ...extra, ...md, ...(notes ? [notes] : [])].join('\n');
fs.writeFileSync(opt.results, text.replace(/\n{3,}/g, '\n\n'));
process.stderr.write(`wrote ${opt.results}\n`);
