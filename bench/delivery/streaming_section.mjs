// streaming_section.mjs: the "Streaming" section of bench/RESULTS.md, from
// bench/delivery/streaming.mjs's JSON (benchmark 7, issue 22).

export function streamingSection(st, out, summary, { f0, f1, f2, met }) {
	if (!st)
		return;
	const row = (name, r) => `| ${name} | ${f0(r.tps)} | ${r.worker_cpu_us_per_event === undefined ? '' : f1(r.worker_cpu_us_per_event)} | `
		+ `${r.events_per_request === undefined ? '' : f2(r.events_per_request)} | ${r.p50_ms === undefined ? '' : `${f2(r.p50_ms)} / ${f2(r.p99_ms)}`} |`;
	out('## Streaming: the worker\'s cost per event under single-row commits', '',
		`pgbench, ${st.clients} clients (\`-M prepared\`, unthrottled), single-row INSERTs into messages on ${st.channels} conversations for`,
		`${st.secs} s per run, ${st.rounds} interleaved rounds, in the PHI configuration (event ids, 1 in 4 encrypted), history on.`,
		'Variants: **stream**, the worker delivering to a minimal HTTP sink (200 {}) while pgbench writes; **off**, the worker',
		'stopped (SIGSTOP) while pgbench writes, so the writers run without delivery; **drain**, the worker continued',
		`afterwards, delivering the backlog "off" queued; **soketi**, pgbench throttled to ${st.soketi_rate} commits/s and the worker`,
		'delivering to soketi. Worker CPU is utime + stime of its process over the events it counted as delivered.', '',
		'| round / variant | pgbench TPS | worker CPU µs/event | events/request | from COMMIT p50 / p99 ms |',
		'|---|---:|---:|---:|---:|');
	for (let i = 0; i < st.rounds; i++) {
		out(row(`${i + 1} stream (sink)`, st.runs.stream[i]));
		out(row(`${i + 1} soketi at ${st.soketi_rate}/s`, st.runs.soketi[i]));
		out(row(`${i + 1} off`, st.runs.off[i]));
		out(`| ${i + 1} drain (${f0(st.runs.drain[i].backlog)} queued) | | ${f1(st.runs.drain[i].worker_cpu_us_per_event)} | `
			+ `${f2(st.runs.drain[i].events_per_request)} | |`);
	}
	const tpsOk = st.tps_ratio.median >= 0.9;
	const cpuOk = st.cpu_ratio.median <= 1.5;
	out('',
		`Medians: TPS stream / off ${f2(st.tps_ratio.median)}× (rounds ${st.tps_ratio.runs.map(f2).join(', ')}); worker CPU per event`,
		`stream / drain ${f2(st.cpu_ratio.median)}× (${f1(st.cpu_us_stream.median)} vs ${f1(st.cpu_us_drain.median)} µs; rounds`,
		`${st.cpu_ratio.runs.map(f2).join(', ')}); ${f2(st.events_per_request_stream.median)} events per request streaming,`,
		`${f2(st.events_per_request_drain.median)} draining. At ${st.soketi_rate} commits/s to soketi: worker CPU ${f1(st.cpu_us_soketi.median)} µs per event,`,
		`${f2(st.events_per_request_soketi.median)} events per request, from COMMIT (track_commit_timestamp) to the pusher-js receive on one`,
		`conversation's channel p50 ${f2(st.p50_ms.median)} ms, p99 ${f2(st.p99_ms.median)} ms; ${f0(st.lost)} of its events not seen.`, '');
	summary.push(['Streaming: writers\' TPS while delivering vs not (2 clients, single-row INSERT)', '≥ 0.9×',
		`${f2(st.tps_ratio.median)}× (${f0(st.tps_stream.median)} vs ${f0(st.tps_off.median)})`, met(tpsOk)]);
	summary.push(['Streaming: worker CPU per event, streaming vs draining a backlog', '≤ 1.5×',
		`${f2(st.cpu_ratio.median)}× (${f1(st.cpu_us_stream.median)} vs ${f1(st.cpu_us_drain.median)} µs)`, met(cpuOk)]);
}
