// read.mjs: bench/history's catch-up read (issue 17): the latency of
// rtpush.history(user, channel, after, 100) with R events retained.
//
// rtpush.history is filled directly by SQL, as the superuser: the ring's
// partitions are made by rtpush.history_maintain('24 hours', t) for t from
// 24 h ago to now in 3-h steps (so the rows spread over the partitions a
// day of history has), then R rows with positions evenly spread over those
// 24 h, on C public channels round robin (R/C events each), ~250-byte data
// shaped as the worker stores it.  VACUUM ANALYZE, a warm-up, then `calls`
// sequential calls from one node-postgres client, each on a random channel
// after the position of a random event in the middle half of that channel;
// every answer must hold 100 events, "more": true and "expired": false.
// Then a quarter as many calls asking for one event: the cost of a call
// whatever it returns.
// The worker runs in another database (rtpush.database_name = postgres):
// nothing else writes or maintains this history meanwhile.

import { startPostgres } from '../../test/e2e/lib/pg.mjs';
import { PG_CONF, BODY, quantile, median, performance, log } from '../lib/common.mjs';

const MAX_EVENTS = 100;
const FILL_CHUNK = 500000; // rows per INSERT ... SELECT
const STEP_HOURS = 3; // rtpush.history_maintain's partition width for 24 h

// One history row per event: what the worker writes for a stream as thin as
// this one (about 115 events/s over 1,000 channels: one event per channel
// in a fetch), the most rows 10M events can take.
const FILL_SQL = `INSERT INTO rtpush.history (position, positions, ids, channel, events, data)
	SELECT p, ARRAY[p], ARRAY[g + 1], 'public-ch-' || (g % $4), '{message-sent}',
		ARRAY['{"rtpush_id":' || (g + 1) || ',"rtpush_position":"' || p || '","id":' || (g + 1) || ',"conversation_id":'
		|| (g % $4) || ',"sender_id":' || (g % 997) || ',"body":"' || $5::text || '","status":"sent"}']
	FROM generate_series($1::bigint, $2::bigint) g, LATERAL (SELECT $3::bigint + 1 + g * $6::bigint AS p) x`;

/** The partitions a day of history has; returns the positions [lo, hi) the rows go into. */
async function makePartitions(pg) {
	const t = await pg.one("SELECT now() - interval '24 hours' AS base, now() AS top");
	for (let k = 0; k * STEP_HOURS <= 24; k++)
		await pg.query(`SELECT rtpush.history_maintain('24 hours', $1::timestamptz + $2 * interval '${STEP_HOURS} hours')`, [t.base, k]);
	const r = await pg.one('SELECT rtpush.history_position_at($1) AS lo, rtpush.history_position_at($2) AS hi,'
		+ ' (SELECT count(*)::int FROM rtpush.history_slots WHERE in_use) AS parts', [t.base, t.top]);
	return { lo: BigInt(r.lo), hi: BigInt(r.hi), partitions: r.parts };
}

async function fill(pg, rows, channels, lo, step) {
	const t0 = performance.now();
	for (let g = 0; g < rows; g += FILL_CHUNK) {
		const to = Math.min(rows, g + FILL_CHUNK) - 1;
		await pg.query(FILL_SQL, [g, to, String(lo), channels, BODY, String(step)]);
		if ((g / FILL_CHUNK) % 4 === 3 || to === rows - 1)
			log(`history read: ${to + 1} of ${rows} rows (${Math.round((to + 1) / ((performance.now() - t0) / 1000))}/s)`);
	}
	return (performance.now() - t0) / 1000;
}

export async function run({ rows, channels, calls, warm = 200 }) {
	log(`history read: ${rows} rows on ${channels} channels, ${calls} calls of rtpush.history(..., ${MAX_EVENTS})`);
	const pg = await startPostgres({ dbname: 'bench', conf: { ...PG_CONF, 'rtpush.database_name': 'postgres' } });
	try {
		const perChannel = Math.floor(rows / channels);
		if (perChannel / 4 <= MAX_EVENTS)
			throw new Error(`history read: ${perChannel} events per channel is too few for ${MAX_EVENTS} after its middle half`);
		const { lo, hi, partitions } = await makePartitions(pg);
		const step = (hi - lo - 1n) / BigInt(rows);
		const fillSecs = await fill(pg, rows, channels, lo, step);
		const t1 = performance.now();
		await pg.query('VACUUM ANALYZE rtpush.history');
		const vacuumSecs = (performance.now() - t1) / 1000;
		const size = await pg.one(`SELECT count(*) FILTER (WHERE n > 0)::int AS used, sum(t)::bigint AS total, sum(i)::bigint AS index
			FROM (SELECT pg_total_relation_size(inhrelid) AS t, pg_indexes_size(inhrelid) AS i,
			             (SELECT reltuples FROM pg_class WHERE oid = inhrelid) AS n
			        FROM pg_inherits WHERE inhparent = 'rtpush.history'::regclass) p`);

		const db = await pg.connect();
		const call = async (max) => {
			const k = Math.floor(Math.random() * channels);
			const j = Math.floor(perChannel / 4 + Math.random() * (perChannel / 2));
			const after = lo + 1n + BigInt(j * channels + k) * step;
			const t = performance.now();
			const r = await db.query('SELECT rtpush.history($1, $2, $3, $4) AS h', ['u', `public-ch-${k}`, String(after), max]);
			const ms = performance.now() - t;
			const h = r.rows[0].h;
			if (h.events.length !== max || !h.more || h.expired || BigInt(h.events[0].position) <= after)
				throw new Error(`history read: unexpected answer for public-ch-${k} after ${after}: ${h.events.length} events,`
					+ ` more ${h.more}, expired ${h.expired}`);
			return ms;
		};
		for (let i = 0; i < warm; i++)
			await call(MAX_EVENTS);
		const ms = [];
		const t2 = performance.now();
		for (let i = 0; i < calls; i++)
			ms.push(await call(MAX_EVENTS));
		const secs = (performance.now() - t2) / 1000;
		// the same with one event per call: what a call costs whatever it returns
		const one = [];
		for (let i = 0; i < Math.ceil(calls / 4); i++)
			one.push(await call(1));
		await db.end();
		const s = [...ms].sort((a, b) => a - b);
		const res = {
			rows, channels, events_per_channel: perChannel, partitions, partitions_used: size.used,
			max_events: MAX_EVENTS, calls, warm,
			fill_secs: fillSecs, fill_rate: rows / fillSecs, vacuum_analyze_secs: vacuumSecs,
			history_bytes: Number(size.total), index_bytes: Number(size.index),
			p50_ms: median(ms), p90_ms: quantile(s, 0.90), p99_ms: quantile(s, 0.99), max_ms: s[s.length - 1],
			min_ms: s[0], calls_per_s: calls / secs, one_event: { calls: one.length, p50_ms: median(one) },
		};
		log(`history read: p50 ${res.p50_ms.toFixed(2)} ms, p99 ${res.p99_ms.toFixed(2)} ms, max ${res.max_ms.toFixed(1)} ms`
			+ ` (${res.partitions_used} partitions used, ${Math.round(res.history_bytes / 1048576)} MB)`);
		return res;
	} finally {
		await pg.destroy();
	}
}
