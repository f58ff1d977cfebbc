// section.mjs: the "History and catch-up" section of bench/RESULTS.md and
// its rows of the targets table, from bench/history/run.mjs's history.json
// (called by bench/report.mjs).

/**
 * Appends the section to out(...lines) and its targets to summary (rows of
 * [benchmark, target, measured, verdict]); fmt holds report.mjs's
 * formatters {f0, f1, f2, mm, MB, met}.
 */
export function historySection(h, out, summary, fmt) {
	if (!h)
		return;
	out('## History and catch-up', '',
		'The benchmarks of issue 17 (bench/history/*.mjs, one PostgreSQL and soketi per part). History is on by default',
		'(`rtpush.history_retention` 24 h): the worker gives every event a position and writes a history row before sending it.', '');
	if (h.throughput)
		throughput(h.throughput, out, summary, fmt);
	if (h.read)
		read(h.read, out, summary, fmt);
	if (h.catchup)
		catchup(h.catchup, out, summary, fmt);
	if (h.storage)
		storage(h.storage, out, summary, fmt);
}

const cpuMedian = (runs, k) => Math.round(runs.map((x) => x.cpu[k]).sort((a, b) => a - b)[runs.length >> 1]);

function throughput(t, out, summary, { f0, f1, f2, mm, met }) {
	const r = t.ratio;
	out('### Delivery with history on vs off', '',
		`${f0(t.events)} events on ${t.channels} channels pre-filled in the outbox and drained to soketi (as in "Delivery throughput"),`
		+ ` in the configuration the README recommends for PHI: \`rtpush.event_id_field = '${t.event_id_field}'\`,`,
		`${f0(100 * t.encrypted_share)} % of the events on \`private-encrypted-\` channels (\`rtpush.encryption_master_key\` set).`,
		`history-on: retention 24 h; history-off: retention 0. ${t.rounds} interleaved rounds (the order rotates) after a warm-up;`,
		'each run changes the retention by ALTER SYSTEM and a reload and waits until the worker has made (or freed) the',
		'partitions before the outbox is filled (history-off frees them all, so a history-on run starts from an empty history',
		`unless it follows another; history held ${t.runs['history-on'].map((x) => f0(x.history_events ?? x.history_rows)).join(' / ')} events after each, in ${t.runs['history-on'].map((x) => f0(x.history_rows)).join(' / ')} rows).`, '',
		'| variant | median events/s | min–max | ratio on/off (per round) | batch fill | CPU worker / postgres / soketi | worker CPU ms per 1,000 events |',
		'|---|---:|---:|---:|---:|---|---:|');
	for (const v of ['history-on', 'history-off']) {
		const runs = t.runs[v];
		const ms = runs.map((x) => x.worker_cpu_ms_per_1000).sort((a, b) => a - b);
		out(`| ${v} | ${f0(t.rates[v].median)} | ${mm(t.rates[v])} | ${v === 'history-on' ? `${f2(r.median)}× (${f2(r.min)}–${f2(r.max)})` : '1.00×'} |`
			+ ` ${f1(runs[0].batch_fill)} | ${cpuMedian(runs, 'worker_pct')} / ${cpuMedian(runs, 'postgres_pct')} / ${cpuMedian(runs, 'server_pct')} % |`
			+ ` ${f0(ms[ms.length >> 1])} (${f0(ms[0])}–${f0(ms[ms.length - 1])}) |`);
	}
	out('', `Target history-on ≥ 0.9× history-off: ${f2(r.median)}× (rounds ${r.runs.map(f2).join(', ')}) — ${met(r.median >= 0.9)}.`, '');
	summary.push(['Delivery throughput, history on vs off (PHI configuration)', '≥ 0.9×',
		`${f2(r.median)}× (${f0(t.rates['history-on'].median)} vs ${f0(t.rates['history-off'].median)} events/s)`, met(r.median >= 0.9)]);

	const c = t.capture;
	out('### Capture with history on vs off', '',
		`pgbench (${c.clients} clients, \`-M prepared\`, ${c.secs} s runs, ${c.rounds} interleaved rounds) INSERTs single messages rows on the same`,
		'cluster and configuration; the worker does not deliver meanwhile (`rtpush.app_id` empty), so the figure is the',
		'writer\'s path alone. The writer does not touch history: it reads the retention only to bound the event\'s size as sent',
		'(`rtpush.max_payload_bytes` counts the members history adds). bench/capture/run does not cover this: it runs with the',
		'default retention only.', '',
		'| variant | median TPS | min–max | ratio on/off (per round) |', '|---|---:|---:|---:|',
		`| history-on | ${f0(c.tps['history-on'].median)} | ${mm(c.tps['history-on'])} | ${f2(c.ratio.median)}× (${f2(c.ratio.min)}–${f2(c.ratio.max)}) |`,
		`| history-off | ${f0(c.tps['history-off'].median)} | ${mm(c.tps['history-off'])} | 1.00× |`, '');
	summary.push(['Capture, single-row INSERT with history on vs off', 'unchanged (≥ 0.95×)', `${f2(c.ratio.median)}×`, met(c.ratio.median >= 0.95)]);
}

function read(x, out, summary, { f0, f1, f2, MB, met }) {
	const ok = x.p50_ms <= 2;
	out('### rtpush.history() with history retained', '',
		`${f0(x.rows)} rows put into rtpush.history by SQL (INSERT … SELECT generate_series, ${f0(x.fill_rate)} rows/s, then VACUUM ANALYZE`,
		`in ${f1(x.vacuum_analyze_secs)} s), positions spread over the last 24 h in ${x.partitions_used} of the ring's partitions (made by`,
		`\`rtpush.history_maintain('24 hours', t)\` for t from 24 h ago to now), on ${f0(x.channels)} public channels (${f0(x.events_per_channel)} events each),`,
		`~250-byte data; ${MB(x.history_bytes)} with indexes (${MB(x.index_bytes)} of it indexes). ${f0(x.calls)} sequential calls`,
		`\`SELECT rtpush.history('u', channel, after, ${x.max_events})\` from one node-postgres client after ${x.warm} warm-up calls,`,
		`each on a random channel after a random event of its middle half (every answer: ${x.max_events} events, more, not expired);`,
		'time from sending the query to its answer, on the same machine. The worker runs in another database.', '',
		'| rows retained | p50 ms | p90 ms | p99 ms | max ms | min ms | calls/s |', '|---:|---:|---:|---:|---:|---:|---:|',
		`| ${f0(x.rows)} | ${f2(x.p50_ms)} | ${f2(x.p90_ms)} | ${f2(x.p99_ms)} | ${f1(x.max_ms)} | ${f2(x.min_ms)} | ${f0(x.calls_per_s)} |`, '',
		...(x.one_event ? [`The same with \`max_events\` 1 (${f0(x.one_event.calls)} calls): p50 ${f2(x.one_event.p50_ms)} ms, what a call costs whatever it returns.`] : []),
		`Target p50 ≤ 2 ms: ${f2(x.p50_ms)} ms — ${met(ok)}.`, '');
	summary.push([`rtpush.history(), 100 events after a position, ${f0(x.rows)} retained`, 'p50 ≤ 2 ms',
		`p50 ${f2(x.p50_ms)} ms, p99 ${f2(x.p99_ms)} ms`, met(ok)]);
}

function catchup(x, out, summary, { f0, f2 }) {
	out('### Catch-up of missed events', '',
		`A real pusher-js client subscribed to \`${x.channel}\` (authorized by examples/auth-server, Bearer token, rule \`owner\`) through`,
		'rtpush-client\'s `catchUp()` (client/index.mjs), which pages the same server\'s `GET /api/v1/broadcasting/history`',
		`(max_events ${x.page}, maxPages ${x.max_pages}). Each round the client disconnects, one transaction commits ${f0(x.events)} events on the channel,`,
		'the worker delivers them (to soketi, no subscriber), then the client connects again: timed from `connect()` until',
		`its handler got all ${f0(x.events)}, once each and in order. ${x.rounds} rounds.`, '',
		'| round | s to all handled | events/s | socket connected ms | subscribed ms | pages | ms per page (median) | from history |',
		'|---:|---:|---:|---:|---:|---:|---:|---:|');
	for (const r of x.runs)
		out(`| ${r.round} | ${f2(r.secs)} | ${f0(r.rate)} | ${f0(r.connected_ms)} | ${f0(r.subscribed_ms)} | ${r.pages} | ${f0(r.page_ms)} | ${f0(r.from_history)} |`);
	out('', `Median: ${f2(x.secs.median)} s for ${f0(x.events)} events (${f0(x.rate.median)} events/s).`, '');
	summary.push([`Catch-up of ${f0(x.events)} missed events (module + example endpoint)`, 'reported',
		`${f2(x.secs.median)} s (${f0(x.rate.median)} events/s)`, '—']);
}

function storage(x, out, summary, { f0, f2, MB, met }) {
	const every = Math.max(1, Math.ceil(x.samples.length / 20));
	out('### History storage over a sustained run', '',
		`pgbench (2 clients, \`-R ${x.rate}\`) INSERTs single messages rows for ${f0(x.secs)} s (${f0(x.pgbench_tps)} TPS achieved, ${f0(x.delivered)} events`,
		`delivered), \`rtpush.history_retention\` = ${x.retention_s} s. Every ${x.sample_s} s: the size of rtpush.history's partitions`,
		'(`pg_total_relation_size` summed over `pg_inherits`), its rows and the partitions in use; no VACUUM FULL, DELETE or',
		`TRUNCATE is run${every > 1 ? `; one sample in ${every} shown, and the last` : ''}.`, '',
		'| s | size | rows | events | partitions | delivered | queued |', '|---:|---:|---:|---:|---:|---:|---:|');
	x.samples.forEach((s, i) => {
		if (i % every === 0 || i === x.samples.length - 1)
			out(`| ${f0(s.t)} | ${MB(s.bytes)} | ${f0(s.rows)} | ${f0(s.events ?? s.rows)} | ${s.partitions} | ${f0(s.delivered)} | ${f0(s.queued)} |`);
	});
	out('', `After the first retention period the size's median is ${MB(x.bytes_median_after_retention)} (${f0(x.rows_median_after_retention)} rows);`
		+ ` the largest in the run's last half ${MB(x.bytes_max_last_half)} (${f0(x.rows_max_last_half)} rows): ${f2(x.flat_ratio)}×`
		+ ` (flat: ≤ ${x.flat_factor}×) — ${met(x.flat)}.`, '');
	summary.push([`History storage, retention ${x.retention_s} s over ${f0(x.secs)} s`, 'flat after the retention',
		`last half max ${f2(x.flat_ratio)}× the median (${MB(x.bytes_max_last_half)} vs ${MB(x.bytes_median_after_retention)})`, met(x.flat)]);
}
