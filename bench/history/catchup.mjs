// catchup.mjs: bench/history's catch-up of missed events through the
// module and the example endpoint (issue 17).
//
// One real pusher-js client (test/e2e/lib/clients.mjs) subscribes to
// private-user.1.feed (rtpush.channel_rules: 'owner'), authorized by
// examples/auth-server with a Bearer token, and wraps the channel with
// rtpush-client's catchUp() (client/index.mjs; maxPages 20, fromStart: see
// subscriber()), which fetches the same server's
// GET /api/v1/broadcasting/history?max_events=1000.  One live event gives
// it a position.  Then, each round: the client
// disconnects, one transaction commits N events on the channel
// (rtpush.send(), ~200-byte data), the worker delivers them to soketi (no
// subscriber there), and the client connects again: timed from connect()
// until its handler got all N, each once and in order, with no
// rtpush:gap, rtpush:expired or rtpush:error.  Also when the socket was
// connected, the subscription succeeded, and the pages fetched.

import { pusherClient } from '../../test/e2e/lib/clients.mjs';
import { createAuthServer } from '../../examples/auth-server/server.mjs';
import { catchUp } from '../../client/index.mjs';
import { startBenchPostgres, startSoketi, summary, until, performance, log, BODY } from '../lib/common.mjs';

const CHANNEL = 'private-user.1.feed';
const TOKEN = 'tok-1';
const PAGE = 1000; // max_events the endpoint is asked for
const MAX_PAGES = 20;
const SCHEMA = `
	CREATE TABLE app_sessions (token text PRIMARY KEY, user_id text NOT NULL, user_info jsonb);
	INSERT INTO app_sessions VALUES ('${TOKEN}', '1', NULL);
	INSERT INTO rtpush.channel_rules (pattern, rule) VALUES ('private-user.{user_id}.feed', 'owner')`;

/** The client, its catchUp() feed and what its handlers got. */
async function subscriber(soketi, server) {
	const pages = [];
	const fetchHistory = async ({ channel, after }) => {
		const q = new URLSearchParams({ channel, max_events: String(PAGE) });
		if (after)
			q.set('after', after);
		const t = performance.now();
		const r = await fetch(`${server.url}/api/v1/broadcasting/history?${q}`, { headers: { authorization: `Bearer ${TOKEN}` } });
		if (r.status !== 200)
			throw new Error(`history: HTTP ${r.status} ${await r.text()}`);
		const data = (await r.json()).data;
		pages.push({ ms: performance.now() - t, events: data.events.length });
		return data;
	};
	const c = await pusherClient({
		soketi,
		pusherOptions: {
			channelAuthorization: {
				endpoint: `${server.url}/api/v1/broadcasting/auth`, transport: 'ajax',
				headers: { authorization: `Bearer ${TOKEN}` },
			},
		},
	});
	const channel = c.pusher.subscribe(CHANNEL);
	// fromStart: the first subscription fetches what history keeps (nothing
	// yet); the live event below then gives the client its position
	const feed = catchUp(channel, { fetchHistory, maxPages: MAX_PAGES, fromStart: true });
	const got = [];
	const trouble = [];
	feed.bind('e', (data, meta) => got.push({ round: data.round, n: data.n, source: meta.source }));
	for (const e of ['rtpush:gap', 'rtpush:expired', 'rtpush:error'])
		feed.bind(e, (x) => trouble.push(`${e} ${String(x?.message ?? JSON.stringify(x))}`));
	await until(`${CHANNEL} subscribed`, () => channel.subscribed, { timeoutMs: 30000 });
	return { c, channel, got, trouble, pages };
}

async function round(pg, sub, n, r) {
	const { c, channel, got, trouble, pages } = sub;
	c.pusher.disconnect();
	await until('the client disconnected', () => c.pusher.connection.state === 'disconnected', { timeoutMs: 10000, intervalMs: 20 });
	await pg.query(`SELECT rtpush.send($1, 'e', jsonb_build_object('round', $2::int, 'n', g, 'body', $3::text))
		FROM generate_series(1, $4) g`, [CHANNEL, r, BODY, n]);
	await until('the events delivered', async () => (await pg.one('SELECT NOT EXISTS (SELECT FROM rtpush.outbox) AS e')).e,
		{ timeoutMs: 120000, intervalMs: 50 });
	const from = got.length;
	const p0 = pages.length;
	const marks = {};
	const onConnected = () => { marks.connected ??= performance.now(); };
	const onSubscribed = () => { marks.subscribed ??= performance.now(); };
	c.pusher.connection.bind('connected', onConnected);
	channel.bind('pusher:subscription_succeeded', onSubscribed);
	const t0 = performance.now();
	c.pusher.connect();
	await until(`${n} events handled`, () => got.length - from >= n || trouble.length > 0, { timeoutMs: 300000, intervalMs: 5 });
	const secs = (performance.now() - t0) / 1000;
	c.pusher.connection.unbind('connected', onConnected);
	channel.unbind('pusher:subscription_succeeded', onSubscribed);
	if (trouble.length)
		throw new Error(`catch-up: ${trouble.join('; ')}`);
	const mine = got.slice(from);
	if (mine.length !== n || mine.some((e, i) => e.round !== r || e.n !== i + 1))
		throw new Error(`catch-up round ${r}: ${mine.length} events handled, not 1..${n} of round ${r} once each in order`);
	const pg_ = pages.slice(p0);
	return {
		secs, rate: n / secs, from_history: mine.filter((e) => e.source === 'history').length,
		connected_ms: marks.connected - t0, subscribed_ms: marks.subscribed - t0,
		pages: pg_.length, fetch_ms: pg_.reduce((a, p) => a + p.ms, 0), page_ms: summary(pg_.map((p) => p.ms)).median,
	};
}

export async function run({ events: n, rounds }) {
	log(`history catch-up: ${n} missed events, ${rounds} rounds`);
	const [pg, soketi] = await Promise.all([startBenchPostgres({ 'rtpush.event_id_field': 'rtpush_id' }),
		startSoketi({ appId: 'bench', key: 'bench-key', secret: 'bench-secret' })]);
	let server;
	let sub;
	try {
		await pg.query(SCHEMA);
		await pg.set(soketi.rtpushSettings());
		server = await createAuthServer({ pool: { query: (...a) => pg.query(...a) } });
		sub = await subscriber(soketi, server);
		await pg.query("SELECT rtpush.send($1, 'e', '{\"round\": 0, \"n\": 1}')", [CHANNEL]);
		await until('the first live event', () => sub.got.length === 1, { timeoutMs: 30000 });
		const runs = [];
		for (let r = 1; r <= rounds; r++) {
			const res = await round(pg, sub, n, r);
			log(`history catch-up round ${r}: ${n} events in ${res.secs.toFixed(2)} s (${Math.round(res.rate)}/s),`
				+ ` ${res.pages} pages of ${Math.round(res.page_ms)} ms, subscribed after ${Math.round(res.subscribed_ms)} ms`);
			runs.push({ ...res, round: r });
		}
		return {
			events: n, rounds, page: PAGE, max_pages: MAX_PAGES, channel: CHANNEL, runs,
			secs: summary(runs.map((x) => x.secs)), rate: summary(runs.map((x) => x.rate)),
		};
	} finally {
		await sub?.c.disconnect();
		await server?.close();
		await soketi.destroy();
		await pg.destroy();
	}
}
