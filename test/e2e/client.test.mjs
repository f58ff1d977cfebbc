// client.test.mjs: rtpush-client's catch-up rules (client/index.mjs), on real
// pusher-js channel objects fed the protocol messages a server sends
// (channel.handleEvent, as pusher-js's connection does).  No server: the
// fetchHistory function answers as rtpush.history() would, from a list.
// history.test.mjs runs the same module against soketi and PostgreSQL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PusherClient } from './lib/deps.mjs';
import { catchUp } from '../../client/index.mjs';

const pusher = new PusherClient('k', { cluster: 'mt1', wsHost: '127.0.0.1', wsPort: 9, forceTLS: false,
	enabledTransports: ['ws'], disableStats: true });
pusher.disconnect();
after(() => pusher.disconnect());

let nchannel = 0;
const channel = () => pusher.channels.add(`private-t.${++nchannel}`, pusher);
const subscribed = (ch) => ch.handleEvent({ event: 'pusher_internal:subscription_succeeded', data: {} });
const live = (ch, id, pos, extra = {}) => ch.handleEvent({ event: 'e', data: { rtpush_id: id, rtpush_position: String(pos), ...extra } });
const entry = (id, pos, extra = {}) => ({ id: String(id), position: pos === null ? null : String(pos), event: 'e',
	data: JSON.stringify(pos === null ? { n: id, ...extra } : { rtpush_id: id, rtpush_position: String(pos), n: id, ...extra }) });

// a history endpoint answering from `events`, pages of `size`
function historyOf(events, size = 100, calls = []) {
	return async ({ channel: name, after }) => {
		calls.push(after);
		const from = after === null ? 0 : events.findIndex((e) => e.position !== null && BigInt(e.position) > BigInt(after));
		const rest = from < 0 ? [] : events.slice(from);
		return { events: rest.slice(0, size), more: rest.length > size, expired: false };
	};
}

function collect(feed) {
	const got = [];
	for (const ev of ['e', 'rtpush:expired', 'rtpush:gap', 'rtpush:error'])
		feed.bind(ev, (data, meta) => got.push(ev === 'e' ? [meta.source, meta.id, data.n ?? null] : [ev]));
	return got;
}

test('live events reach the handlers once each, by id, and their position is remembered', async () => {
	const ch = channel();
	const feed = catchUp(ch, { fetchHistory: historyOf([]) });
	const got = collect(feed);
	subscribed(ch);
	live(ch, 1, 10, { n: 1 });
	live(ch, 1, 10, { n: 1 });
	live(ch, 2, 11, { n: 2 });
	await feed.catchUpNow();
	assert.deepEqual(got.filter((g) => g[0] === 'live'), [['live', '1', 1], ['live', '2', 2]]);
	assert.equal(feed.lastPosition(), '11');
});

test('a resubscription asks from the last position; events live meanwhile follow, repeats dropped', async () => {
	const ch = channel();
	const calls = [];
	const hist = [entry(1, 10), entry(2, 11), entry(3, 12), entry(4, null)];
	let release;
	const gate = new Promise((r) => { release = r; });
	const fetchHistory = async (q) => { await gate; return historyOf(hist, 100, calls)(q); };
	const feed = catchUp(ch, { fetchHistory });
	const got = collect(feed);
	subscribed(ch);
	live(ch, 1, 10, { n: 1 });
	subscribed(ch); // the connection came back
	live(ch, 3, 12, { n: 3 }); // arrives while the history request is out
	live(ch, 5, 13, { n: 5 });
	release();
	await feed.catchUpNow();
	await new Promise((r) => setTimeout(r, 10));
	assert.deepEqual(calls, ['10']);
	assert.deepEqual(got, [['live', '1', 1], ['history', '2', 2], ['history', '3', 3], ['history', '4', 4], ['live', '5', 5]]);
	assert.equal(feed.lastPosition(), '13');
	live(ch, 4, 14, { n: 4 }); // the queued one arrives live later: dropped, its position kept
	assert.equal(got.length, 5);
	assert.equal(feed.lastPosition(), '14');
});

test('more than one page is fetched page by page; more than maxPages is a gap', async () => {
	const hist = Array.from({ length: 25 }, (_, i) => entry(i + 1, 100 + i));
	const ch = channel();
	const calls = [];
	const feed = catchUp(ch, { fetchHistory: historyOf(hist, 10, calls), position: '99' });
	const got = collect(feed);
	subscribed(ch);
	await feed.catchUpNow();
	assert.deepEqual(calls, ['99', '109', '119']);
	assert.equal(got.length, 25);
	const ch2 = channel();
	const feed2 = catchUp(ch2, { fetchHistory: historyOf(hist, 10), position: '99', maxPages: 2 });
	const got2 = collect(feed2);
	subscribed(ch2);
	await feed2.catchUpNow();
	assert.equal(got2.filter((g) => g[0] === 'history').length, 20);
	assert.deepEqual(got2.at(-1), ['rtpush:gap']);
});

test('expired history, a failed request and a resubscription with no position are told to the app', async () => {
	const ch = channel();
	const feed = catchUp(ch, { fetchHistory: async () => ({ events: [entry(7, 70)], more: false, expired: true }), position: '5' });
	const got = collect(feed);
	subscribed(ch);
	await feed.catchUpNow();
	assert.deepEqual(got, [['rtpush:expired'], ['history', '7', 7]]);

	const ch2 = channel();
	const feed2 = catchUp(ch2, { fetchHistory: async () => { throw new Error('HTTP 503'); }, position: '5' });
	const got2 = collect(feed2);
	subscribed(ch2);
	await feed2.catchUpNow();
	assert.deepEqual(got2, [['rtpush:error']]);

	const ch3 = channel();
	const calls = [];
	const feed3 = catchUp(ch3, { fetchHistory: historyOf([], 10, calls) });
	const got3 = collect(feed3);
	subscribed(ch3);
	await feed3.catchUpNow();
	assert.deepEqual([got3, calls], [[], []], 'a first subscription only starts remembering');
	subscribed(ch3);
	await feed3.catchUpNow();
	assert.deepEqual(got3, [['rtpush:expired']], 'back with no position: reload');
});
