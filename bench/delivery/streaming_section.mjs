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

// the idle run's last stretch against its first: what grew while the transaction stayed open
function growth(ix, f0, f2) {
	const r = ix.runs.idle[0];
	const g = r.cpu_segments.at(-1).cpu_us_per_event / r.cpu_segments[0].cpu_us_per_event;
	const l = r.latency_segments.at(-1).p50_ms / r.latency_segments[0].p50_ms;
	return `With the transaction open, the last stretch (after ${f0(ix.events - ix.segment)} events) cost ${f2(g)}× the first's CPU per event`
		+ ` and had ${f2(l)}× its p50${g <= 1.2 && l <= 1.2 ? ': nothing grows with it.' : '.'}`;
}

// The "With a session idle in transaction" part, from bench/delivery/idle_xid.mjs's JSON (benchmark 8).
export function idleXidSection(ix, out, summary, { f0, f1, f2, met }) {
	if (!ix)
		return;
	const segs = (r) => r.cpu_segments.map((c) => f1(c.cpu_us_per_event)).join(' / ');
	const lats = (r, k) => r.latency_segments.map((l) => f2(l[k])).join(' / ');
	out('### With a session idle in transaction for the whole run', '',
		`pgbench, ${ix.clients} clients throttled to ${f0(ix.rate)} commits/s, single-row INSERTs into messages on ${ix.channels} conversations`,
		`until ${f0(ix.events)} rows are written; ${ix.configuration}. **idle**: before the run a session BEGINs, INSERTs a`,
		'row (an xid and an event of its own, queued before all others) and stays idle in that transaction until the run is over,',
		'so VACUUM removes none of the outbox rows deleted meanwhile; then it COMMITs. **clean**: the same without it. Figures per',
		`${f0(ix.segment)} events delivered, in order: worker CPU per event; latency from COMMIT (track_commit_timestamp) to the sink's`,
		'receive of one conversation\'s events committed in that stretch.', '',
		'| round / variant | pgbench TPS | worker CPU µs/event by stretch | p50 ms by stretch | p99 ms by stretch | lost | outbox after | its own event |',
		'|---|---:|---|---|---|---:|---:|---|');
	for (let i = 0; i < ix.rounds; i++)
		for (const v of ['clean', 'idle']) {
			const r = ix.runs[v][i];
			out(`| ${i + 1} ${v} | ${f0(r.tps)} | ${segs(r)} | ${lats(r, 'p50_ms')} | ${lats(r, 'p99_ms')} | ${f0(r.lost)} | `
				+ `${f1(r.outbox_bytes_after / 1048576)} MB | ${v === 'idle' ? (r.idle_event_delivered ? 'delivered after COMMIT' : '**not delivered**') : ''} |`);
		}
	// idle / clean per stretch (same round, same stretch): does any cost grow with the open transaction?
	const stretch = (k, pick) => ix.runs.idle.flatMap((r, i) => r[k].map((x, s) => {
		const c = ix.runs.clean[i][k][s];
		return c && pick(c) ? pick(x) / pick(c) : NaN;
	})).filter(Number.isFinite);
	const cpu = stretch('cpu_segments', (x) => x.cpu_us_per_event);
	const p50 = stretch('latency_segments', (x) => x.p50_ms);
	const p99 = stretch('latency_segments', (x) => x.p99_ms);
	const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
	const p99clean = ix.runs.clean.flatMap((r) => r.latency_segments.map((l) => l.p99_ms));
	const cpuOk = Math.max(...cpu) <= 1.5;
	const p50Ok = Math.max(...p50) <= 1.5;
	const p99Ok = med(p99) <= 1.5;
	const drained = ix.runs.idle.every((r) => r.idle_event_delivered && r.lost === 0);
	out('',
		`Idle / clean, stretch by stretch: worker CPU per event ${cpu.map(f2).join(', ')} (at most ${f2(Math.max(...cpu))}×);`,
		`latency p50 ${p50.map(f2).join(', ')} (at most ${f2(Math.max(...p50))}×); p99 ${p99.map(f2).join(', ')} (median ${f2(med(p99))}×).`,
		`The p99 of a stretch swings in the clean run alone (${p99clean.map(f1).join(', ')} ms): the p99 verdict is the median`,
		`of the stretches' ratios, CPU and p50 must stay within 1.5× in every stretch. Whole run: CPU ${f2(ix.cpu_ratio.median)}×.`,
		growth(ix, f0, f2)
		+ ` The outbox's table and index do grow (${f1(ix.runs.idle[0].outbox_bytes_after / 1048576)} MB against`
		+ ` ${f1(ix.runs.clean[0].outbox_bytes_after / 1048576)} MB): VACUUM may not remove what the open transaction may still see.`, '');
	summary.push([`Idle transaction open for ${f0(ix.events)} events: worker CPU and latency vs without, per stretch`, '≤ 1.5×',
		`CPU ≤ ${f2(Math.max(...cpu))}×, p50 ≤ ${f2(Math.max(...p50))}×, p99 median ${f2(med(p99))}×`, met(cpuOk && p50Ok && p99Ok && drained)]);
}
