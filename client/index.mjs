// rtpush-client: catch-up for pusher-js (and laravel-echo) clients of rtpush.
//
// rtpush gives every JSON-object event it delivers the members rtpush_id and
// rtpush_position, and keeps delivered events readable with rtpush.history()
// (README "History and catch-up").  catchUp() wraps one pusher-js channel:
//   - handlers are bound through it (bind(event, fn)), never on the channel;
//   - it remembers the last position seen on the channel;
//   - on every subscription success (the first, and each resubscription after
//     the connection came back) it fetches the app's history endpoint from
//     that position, page by page, and hands the missed events to the same
//     handlers, in order; live events arriving meanwhile wait their turn;
//   - it drops events it has already handed over, by id;
//   - it emits "rtpush:expired" when history says the position is older than
//     what is kept (reload the state), and "rtpush:gap" when there is more
//     to fetch than maxPages pages (reload too).
//
//   import { catchUp } from 'rtpush-client';
//   const feed = catchUp(pusher.subscribe('private-user.7.notifications'), {
//     fetchHistory: ({ channel, after }) =>
//       fetch(`/api/v1/broadcasting/history?channel=${encodeURIComponent(channel)}` +
//             (after ? `&after=${after}` : ''), { headers }).then((r) => r.json()).then((j) => j.data),
//   });
//   feed.bind('notification-created', (data) => store.add(data));
//   feed.bind('rtpush:expired', () => store.reload());
//
// With laravel-echo, wrap the pusher-js channel under Echo's:
//   catchUp(Echo.private('user.7.notifications').subscription, {...})
// and bind the raw event names ("notification-created").

/** Parses data the way pusher-js does: JSON when it is JSON, else the string. */
function parseData(s) {
	if (typeof s !== 'string')
		return s;
	try {
		return JSON.parse(s);
	} catch {
		return s;
	}
}

/** The history members of an event's data: {id, position}, or {} when it has none. */
export function historyMembers(data) {
	if (data === null || typeof data !== 'object' || Array.isArray(data))
		return {};
	return {
		id: data.rtpush_id === undefined ? undefined : String(data.rtpush_id),
		position: typeof data.rtpush_position === 'string' ? data.rtpush_position : undefined,
	};
}

/**
 * catchUp(channel, options) -> {bind(event, fn), unbind(event, fn), lastPosition(), catchUpNow(), destroy()}
 *
 * options:
 *   fetchHistory({channel, after})  async; resolves with rtpush.history()'s
 *                    answer {events, more, expired} (after is a position or null)
 *   position         the last position seen before (e.g. kept in localStorage)
 *   onPosition(p)    called with each new last position (to keep it)
 *   fromStart        with no position yet, fetch everything kept (default false:
 *                    a first subscription only starts remembering)
 *   maxPages         pages fetched per catch-up before "rtpush:gap" (default 10)
 *   rememberIds      how many ids are kept to drop duplicates (default 5000)
 */
export function catchUp(channel, options) {
	const o = { maxPages: 10, rememberIds: 5000, fromStart: false, ...options };
	if (typeof o.fetchHistory !== 'function')
		throw new TypeError('catchUp: options.fetchHistory must be a function');
	const handlers = new Map();
	const seen = new Set();
	let last = o.position ?? null;
	let busy = false; // a catch-up is running: live events wait
	let current = null; // its promise
	let waiting = [];
	let destroyed = false;

	function emit(event, data, meta) {
		for (const fn of [...(handlers.get(event) ?? [])])
			fn(data, meta);
	}

	function remember(id) {
		seen.add(id);
		if (seen.size > o.rememberIds)
			seen.delete(seen.values().next().value);
	}

	// hands one event over unless it was already; notes its position
	function deliver(event, data, id, position, source) {
		// a repeat is dropped, but its position still counts: it may be the
		// first one seen for an event that history returned while queued
		if (position !== undefined && position !== null && position !== last) {
			last = position;
			o.onPosition?.(position);
		}
		if (id !== undefined) {
			if (seen.has(id))
				return;
			remember(id);
		}
		emit(event, data, { id, position: position ?? null, source });
	}

	function live(event, data) {
		if (event.startsWith('pusher:') || event.startsWith('pusher_internal:'))
			return;
		const { id, position } = historyMembers(data);
		if (busy)
			waiting.push([event, data, id, position]);
		else
			deliver(event, data, id, position, 'live');
	}

	async function runCatchUp() {
		let after = last;
		for (let page = 0; ; page++) {
			if (page === o.maxPages) {
				emit('rtpush:gap', { channel: channel.name, after }, {});
				return;
			}
			const r = await o.fetchHistory({ channel: channel.name, after });
			if (destroyed)
				return;
			if (r.expired && page === 0)
				emit('rtpush:expired', { channel: channel.name, after }, {});
			let pagePosition = null;
			for (const e of r.events) {
				deliver(e.event, parseData(e.data), String(e.id), e.position ?? undefined, 'history');
				if (e.position)
					pagePosition = e.position;
			}
			if (!r.more || pagePosition === null)
				return;
			after = pagePosition;
		}
	}

	let subscriptions = 0;

	// again: a resubscription (with no position, there is nothing to ask from)
	function run(again) {
		if (busy)
			return current;
		busy = true;
		current = (async () => {
			try {
				if (last !== null || o.fromStart)
					await runCatchUp();
				else if (again) // back after a gap, with no position to ask from
					emit('rtpush:expired', { channel: channel.name, after: null }, {});
			} catch (err) {
				emit('rtpush:error', err, {});
			} finally {
				const queued = waiting;
				waiting = [];
				busy = false;
				for (const [event, data, id, position] of queued)
					deliver(event, data, id, position, 'live');
			}
		})();
		return current;
	}

	function onSubscribed() {
		run(subscriptions++ > 0);
	}

	function catchUpNow() {
		return run(false);
	}

	channel.bind_global(live);
	channel.bind('pusher:subscription_succeeded', onSubscribed);
	if (channel.subscribed)
		onSubscribed();

	return {
		bind(event, fn) {
			if (!handlers.has(event))
				handlers.set(event, []);
			handlers.get(event).push(fn);
			return this;
		},
		unbind(event, fn) {
			const list = handlers.get(event) ?? [];
			const i = list.indexOf(fn);
			if (i >= 0)
				list.splice(i, 1);
			return this;
		},
		lastPosition: () => last,
		catchUpNow,
		destroy() {
			destroyed = true;
			channel.unbind_global(live);
			channel.unbind('pusher:subscription_succeeded', onSubscribed);
		},
	};
}
