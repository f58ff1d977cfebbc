// many_databases_section.mjs: the "Many databases" section of
// bench/RESULTS.md, from bench/delivery/many_databases.mjs's JSON
// (benchmark 9, issue 19).

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pcts = (c) => `${c.worker_pct} / ${c.postgres_pct} / ${c.server_pct} / ${c.machine_pct}`;

// the plain-language reading of (a)
function throughputReading(m, { f0, f1, f2 }) {
	const [one, , many] = m.counts;
	const t = (n) => m.total[n].median;
	const s = m.scaling[many].median;
	const machine = (n) => median(m.runs[n].map((x) => x.cpu.machine_pct));
	const trend = s >= 1.1 ? `grows with more databases: one worker alone left part of the 2 cores unused (machine CPU ${f0(machine(one))} % of 200 %`
		+ ` with one database, ${f0(machine(many))} % with ${many})`
		: s >= 0.9 ? `stays about the same with more databases: the 2 cores (machine CPU ${f0(machine(one))} % with one database,`
			+ ` ${f0(machine(many))} % with ${many}), not the number of workers, set the pace`
			: `falls with more databases (machine CPU ${f0(machine(one))} % with one database, ${f0(machine(many))} % with ${many}): the workers`
			+ ' compete for the 2 cores and the one sink, and each pays its own per-request and per-transaction costs';
	const fair = m.per_db[many].min / m.per_db[many].max;
	return [
		`Reading: with ${m.counts.map((n) => `${n}`).join(', ')} databases draining at once the cluster delivered`
		+ ` ${m.counts.map((n) => f0(t(n))).join(', ')} events/s in total (median of the rounds); ${many} databases`
		+ ` together did ${f2(s)}× what one did alone (per-round ratios ${m.scaling[many].runs.map(f2).join(', ')}),`
		+ ` ${m.counts.slice(1, -1).map((n) => `${n} databases ${f2(m.scaling[n].median)}×`).join(', ')}.`
		+ (median(m.runs[one].map((x) => x.secs)) < 5
			? ` One database's ${f0(m.events)} events drain in ${f1(median(m.runs[one].map((x) => x.secs)))} s, so its rate, the base of these ratios, is the noisiest figure.`
			: '')
		+ ` The total ${trend}. Each database then gets a share: at ${many} databases, ${f0(m.per_db[many].min)} to`
		+ ` ${f0(m.per_db[many].max)} events/s (median ${f0(m.per_db[many].median)}), against ${f0(m.per_db[one].median)} for one database`
		+ ` alone; the slowest database's rate was ${f0(100 * fair)} % of the fastest's`
		+ `${fair >= 0.8 ? ', a fair split' : ', so some databases wait noticeably longer than others for the same backlog'}.`
		+ ' Everything here runs on 2 shared cores (the workers, PostgreSQL, the one Node.js sink and this driver) against a'
		+ ' local sink: CPU-bound figures, which say nothing about more cores or an endpoint with real round trips.',
	];
}

// the plain-language reading of (b)
function latencyReading(q, tp1, { f0, f1, f2 }) {
	const on = q.jit_on;
	const off = q.jit_off;
	const fig = (x) => `p50 ${f2(x.p50_ms.alone.median)} → ${f2(x.p50_ms.busy.median)} ms (${f2(x.p50_ratio.median)}×; rounds`
		+ ` ${x.p50_ratio.runs.map(f2).join(', ')}), p99 ${f1(x.p99_ms.alone.median)} → ${f1(x.p99_ms.busy.median)} ms`;
	const maxOf = (v) => Math.max(...q.runs[v].map((x) => x.max_ms));
	const medianSame = on.p50_ratio.median <= 1.25 && off.p50_ratio.median <= 1.25;
	const jitTail = on.p99_ms.alone.median > 10 && on.p99_ms.alone.median > 3 * off.p99_ms.alone.median;
	const offTail = off.p99_ms.busy.median / off.p99_ms.alone.median;
	const onTail = on.p99_ms.busy.median / on.p99_ms.alone.median;
	return [
		`Reading: alone → beside ${q.busy_db}'s drain of ${f0(q.busy_events)} events, the quiet database's latency from COMMIT`
		+ ` (medians of the rounds) went, with \`jit\` on (PostgreSQL's default): ${fig(on)}; with \`jit = off\`: ${fig(off)}.`
		+ (medianSame
			? ' At the median a neighbour\'s backlog barely shows: the quiet database has its own worker, and its events do not'
			+ ' queue behind the other\'s outbox.'
			: ' The median rises beside the drain: the two workers share 2 cores, PostgreSQL and the one sink.')
		+ (jitTail
			? ` The tail with jit on is long even alone (p99 ${f1(on.p99_ms.alone.median)} ms, max ${f1(maxOf('alone'))} ms, against`
			+ ` p99 ${f1(off.p99_ms.alone.median)} ms with jit = off): it comes mostly from the quiet database's own worker, whose`
			+ ' periodic queries are JIT-compiled (tenths of a second of CPU, see Idle workers) while probes wait.'
			: '')
		+ (jitTail
			? (offTail > 1.5
				? ` With jit = off the drain does show in the tail: p99 ${f2(offTail)}× alone's (${f1(off.p99_ms.busy.median)} vs ${f1(off.p99_ms.alone.median)} ms).`
				: ` With jit = off the tail beside the drain stays close to alone's (p99 ${f2(offTail)}×).`)
			: Math.max(onTail, offTail) > 1.5
				? ` The tail does rise beside the drain, p99 ${f2(onTail)}× alone's with jit on and ${f2(offTail)}× with it off,`
				+ ` to ${f1(on.p99_ms.busy.median)} and ${f1(off.p99_ms.busy.median)} ms${Math.max(on.p99_ms.busy.median, off.p99_ms.busy.median) <= 10
					? ' (within the latency benchmark\'s p99 target of 10 ms)' : ''}: the two workers share the 2 cores and the one sink.`
				: ` The tail stays close to alone's (p99 ${f2(onTail)}× with jit on, ${f2(offTail)}× off).`)
		+ ` ${q.lost ? `${f0(q.lost)} probes were **not** seen at the sink.` : 'No probe was lost.'}`
		+ ` Meanwhile ${q.busy_db} drained at ${f0(on.busy_rate.median)} events/s (jit on) and ${f0(off.busy_rate.median)} (jit off)`
		+ (tp1 ? `; one database alone in the throughput runs above: ${f0(tp1)} events/s.` : '.'),
	];
}

export function manyDatabasesSection(m, out, summary, { f0, f1, f2 }) {
	if (!m)
		return;
	const many = Math.max(...m.counts);
	out('## Many databases: a delivery worker per database', '',
		`One cluster with ${many} databases with rtpush, each with its own delivery worker started by the launcher`,
		`(\`rtpush.database_name = ''\`, \`rtpush.max_databases\` ${m.settings.max_databases}, \`max_worker_processes\``,
		`${m.settings.max_worker_processes}); ${m.configuration}; per worker \`rtpush.max_in_flight\` ${m.settings.max_in_flight},`,
		`\`rtpush.batch_size\` ${m.settings.batch_size}. Every database delivers to the same app (the cluster-wide settings).`, '',
		`**Throughput.** The outboxes of the first N databases are filled with ${f0(m.events)} events each (${m.channels} conversations,`,
		'1,000-row INSERT … SELECTs) while no worker may deliver (`rtpush.app_id` empty), then one `pg_reload_conf()` gives',
		'every worker its app id: timed from there until each database\'s `delivered` in `rtpush.databases` grew by its backlog',
		`(per database: its own time) and every outbox is empty. N = ${m.counts.join(', ')}, the order rotating over ${m.rounds}`,
		`interleaved rounds${m.warm ? ` after a warm-up (${many} databases × ${f0(m.warm)} events)` : ''}. Per database: its events / its`,
		'own time, min / median / max across the N databases.',
		'CPU is % of one core over the run: the N workers, the other PostgreSQL processes, the sink, the whole machine (200 % =',
		'both cores, other users included).', '',
		'| databases | round | total events/s | per database events/s min / median / max | first / last database done | batch fill | CPU workers / postgres / sink / machine % |',
		'|---:|---:|---:|---|---:|---:|---|');
	for (let r = 0; r < m.rounds; r++)
		for (const n of m.counts) {
			const x = m.runs[n][r];
			out(`| ${n} | ${r + 1} | ${f0(x.rate)} | ${f0(x.per_db_rate.min)} / ${f0(x.per_db_rate.median)} / ${f0(x.per_db_rate.max)} |`
				+ ` ${f1(x.first_done_s)} / ${f1(x.last_done_s)} s | ${f2(x.batch_fill)} | ${pcts(x.cpu)} |`);
		}
	out('', '| databases | total events/s, median (min–max) | total / one database\'s (per round) | per database events/s: medians of min / median / max |',
		'|---:|---:|---:|---|');
	for (const n of m.counts) {
		const t = m.total[n];
		const s = m.scaling[n];
		out(`| ${n} | ${f0(t.median)} (${f0(t.min)}–${f0(t.max)}) | ${f2(s.median)}× (${f2(s.min)}–${f2(s.max)}) |`
			+ ` ${f0(m.per_db[n].min)} / ${f0(m.per_db[n].median)} / ${f0(m.per_db[n].max)} |`);
	}
	out('', ...throughputReading(m, { f0, f1, f2 }), '');
	const on = m.idle?.jit_on;
	const off = m.idle?.jit_off;
	if (on && off)
		out(`**Idle workers.** With nothing to deliver (every outbox empty, app id set), the ${many} workers used`
			+ ` ${f1(on.cpu.worker_pct)} % of one core in all over ${m.idle_secs} s (${f1(on.per_worker_ms_per_s)} ms of CPU per worker per second)`
			+ ` with \`jit\` on, PostgreSQL's default and that of every run in this section, and ${f1(off.cpu.worker_pct)} %`
			+ ` (${f1(off.per_worker_ms_per_s)} ms per worker per second) with \`jit = off\`.`
			+ (on.cpu.worker_pct > 3 * Math.max(off.cpu.worker_pct, 0.5)
				? ' Most of an idle worker\'s CPU is the JIT compilation of the queries it runs now and then; a cluster of'
				+ ' many quiet databases pays it for each of them.'
				: ' An idle worker costs next to nothing either way.'), '');

	const q = m.quiet;
	out(`**A quiet database beside a busy one.** ${q.quiet_db} gets a probe INSERT (one row, autocommit, on its own channel`,
		`${q.channel}) every ${q.probe_gap_ms[0]}–${q.probe_gap_ms[1]} ms; latency from its COMMIT (\`track_commit_timestamp\`) to the sink's`,
		`receive. **busy**: meanwhile ${q.busy_db} drains a backlog of ${f0(q.busy_events)} events (filled while no worker delivered),`,
		`probes from its start until its outbox is empty; **alone**: nothing else drains, probes for ${q.quiet_secs} s. Both also with`,
		'`jit = off` for the cluster (ALTER SYSTEM, reload): JIT compilation of the workers\' own queries held up a quiet database',
		'before the worker set `jit = off` in its session (3e76ba2); with it the two should match.',
		`${q.rounds} interleaved rounds (the order rotates). CPU: the two workers, the other PostgreSQL processes, the sink, the machine.`, '',
		'| round / variant | probes | p50 ms | p99 ms | max ms | lost | busy database drained events/s | CPU workers / postgres / sink / machine % |',
		'|---|---:|---:|---:|---:|---:|---:|---|');
	const label = { alone: 'alone', busy: 'busy', alone_jit_off: 'alone, jit off', busy_jit_off: 'busy, jit off' };
	for (let r = 0; r < q.rounds; r++)
		for (const v of q.variants.map((_, i) => q.variants[(i + r) % q.variants.length])) {
			const x = q.runs[v][r];
			out(`| ${r + 1} ${label[v]} | ${f0(x.probes)} | ${f2(x.p50_ms)} | ${f2(x.p99_ms)} | ${f1(x.max_ms)} | ${f0(x.lost)} |`
				+ ` ${x.busy_drain ? f0(x.busy_drain.rate) : ''} | ${pcts(x.cpu)} |`);
		}
	out('', ...latencyReading(q, m.total[m.counts[0]]?.median, { f0, f1, f2 }), '');

	summary.push([`Many databases: total delivery with ${m.counts.join(' / ')} databases draining at once (PHI configuration, to a sink)`,
		'reported', `${m.counts.map((n) => f0(m.total[n].median)).join(' / ')} events/s (${many} vs 1: ${f2(m.scaling[many].median)}×);`
		+ ` per database at ${many}: ${f0(m.per_db[many].min)}–${f0(m.per_db[many].max)}`, '—']);
	if (on && off)
		summary.push([`Many databases: ${many} idle workers' CPU, jit on / off`, 'reported',
			`${f1(on.cpu.worker_pct)} % / ${f1(off.cpu.worker_pct)} % of one core`, '—']);
	const j = (x) => `p50 ${f2(x.p50_ms.busy.median)} vs ${f2(x.p50_ms.alone.median)} ms, p99 ${f1(x.p99_ms.busy.median)} vs ${f1(x.p99_ms.alone.median)} ms`;
	summary.push([`Many databases: a quiet database's latency from COMMIT while another drains ${f0(q.busy_events)} vs alone`, 'reported',
		`jit on: ${j(q.jit_on)}; jit off: ${j(q.jit_off)}; ${f0(q.lost)} lost`, '—']);
}
