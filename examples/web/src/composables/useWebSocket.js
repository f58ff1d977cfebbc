// composables/useWebSocket.js: the guide's composable on rtpush.  One
// pusher-js connection for the page, configured from
// GET /api/v1/broadcasting/config (rtpush.client_config) with the session's
// bearer token; private and presence channels are authorized by
// POST /api/v1/broadcasting/auth (rtpush.authorize_channel: deny by
// default).  It keeps the Pinia store told of the connection state
// (connected / disconnected / offline ...) and of each channel's state
// (pending, subscribed, refused), and wraps every channel with events in
// rtpush-client's catchUp() (client/index.mjs): on each (re)subscription it
// fetches GET /api/v1/broadcasting/history (rtpush.history) from the last
// position seen and hands the missed events, in order and once each, to the
// same handlers as live ones; when history cannot answer (expired, gap,
// error) it reloads that channel's state over REST (reload.js).
import Pusher from 'pusher-js';
import { catchUp } from 'rtpush-client';
import { api, session } from '../api.js';
import { CHANNELS, EVENTS } from '../channels.js';
import { reloadChannel } from '../reload.js';
import { useRealtimeStore } from '../stores/realtime.js';

let pusher = null; // one connection per page, shared by every component
const feeds = new Map(); // channel name -> catchUp() feed (null: presence, no history)
// where catch-up starts on a channel's first subscription: the history
// position of the page's state snapshot (GET /api/v1/bootstrap, see connect)
let start = { position: null, fromStart: false };

/** rtpush.history()'s answer for rtpush-client: {events, more, expired}. */
function fetchHistory({ channel, after }) {
	const q = new URLSearchParams({ channel, ...(after ? { after } : {}) });
	return api('GET', `/broadcasting/history?${q}`);
}

function trackConnection(store) {
	pusher.connection.bind('state_change', ({ current }) => {
		if (store.connection !== 'offline' || current === 'connected')
			store.setConnection(current);
	});
	pusher.connection.bind('error', (e) => console.warn('pusher connection error', e));
	// The browser says the network is gone: do not wait for pusher-js's
	// activity timeout; drop the socket now and show "offline", and connect
	// again (then every channel resubscribes and catches up) when it is back.
	window.addEventListener('offline', () => {
		store.setConnection('offline');
		pusher.disconnect();
	});
	window.addEventListener('online', () => {
		store.setConnection('connecting');
		pusher.connect();
	});
}

export function useWebSocket() {
	const store = useRealtimeStore();

	/**
	 * connect({position}): position is the history position read with the
	 * page's state (GET /api/v1/bootstrap: rtpush.history_last_position() in
	 * the same snapshot).  Each channel's catch-up starts there: whatever the
	 * snapshot may lack was not in history yet when it was read, so it has a
	 * greater position and rtpush.history(after = position) returns it;
	 * nothing older is fetched.  Events the snapshot already shows and
	 * history returns too are taken again by id by the stores.  "0" (history
	 * was empty) means everything history holds by then, which is all after
	 * the snapshot.
	 */
	async function connect({ position } = {}) {
		if (pusher)
			return pusher;
		start = position && position !== '0' ? { position, fromStart: false } : { position: null, fromStart: true };
		const headers = { Authorization: `Bearer ${session.token}` };
		const r = await fetch('/api/v1/broadcasting/config', { headers });
		if (!r.ok)
			throw new Error(`broadcasting config: HTTP ${r.status}`);
		const { data } = await r.json();
		pusher = new Pusher(data.key, {
			cluster: data.cluster || 'mt1',
			forceTLS: data.forceTLS,
			...(data.wsHost ? { wsHost: data.wsHost, wsPort: data.wsPort, wssPort: data.wssPort } : {}),
			enabledTransports: data.forceTLS ? ['wss'] : ['ws'],
			disableStats: true,
			channelAuthorization: { endpoint: data.auth_endpoint || '/api/v1/broadcasting/auth', transport: 'ajax', headers },
		});
		trackConnection(store);
		return pusher;
	}

	/** The feed of a channel: catch-up through rtpush-client, and a REST reload when it cannot. */
	function feedOf(name, channel) {
		const feed = catchUp(channel, { fetchHistory, ...start });
		const reload = (why) => () => {
			console.warn(`${name}: ${why}, reloading its state`);
			reloadChannel(name).catch((e) => console.warn(`reloading ${name} failed`, e));
		};
		feed.bind('rtpush:expired', reload('history expired'));
		feed.bind('rtpush:gap', reload('too much to catch up'));
		feed.bind('rtpush:error', reload('history failed'));
		return feed;
	}

	/**
	 * Subscribes and binds {event: handler(data, meta)} through catch-up
	 * (meta.source: 'live' or 'history'); the store follows its state.
	 * history: false for a presence channel, whose members pusher-js tracks
	 * itself (member_added/removed are not events rtpush sends or keeps).
	 */
	function subscribe(name, handlers = {}, { history = true } = {}) {
		if (!pusher)
			return null;
		const channel = pusher.subscribe(name);
		if (feeds.has(name))
			return channel;
		store.setChannel(name, 'pending');
		channel.bind('pusher:subscription_succeeded', () => store.setChannel(name, 'subscribed'));
		channel.bind('pusher:subscription_error', (e) => {
			const refused = e?.status === 403;
			store.setChannel(name, refused ? 'refused' : 'error', e?.error ?? `HTTP ${e?.status}`);
			feeds.get(name)?.destroy();
			pusher.unsubscribe(name); // nothing from it may show; do not retry
			feeds.delete(name);
		});
		const feed = history ? feedOf(name, channel) : null;
		feeds.set(name, feed);
		for (const [event, fn] of Object.entries(handlers)) {
			if (!feed) {
				channel.bind(event, (data) => fn(data, { source: 'live' }));
				continue;
			}
			feed.bind(event, (data, meta) => {
				if (meta.source === 'history')
					store.countCaughtUp(name);
				fn(data, meta);
			});
		}
		return channel;
	}

	const subscribeToChannel = subscribe;
	const subscribeToPrivateChannel = subscribe;

	function unsubscribeFromChannel(name) {
		feeds.get(name)?.destroy();
		pusher?.unsubscribe(name);
		feeds.delete(name);
		delete store.channels[name];
	}

	/** A client event (client-typing) on a subscribed private or presence channel. */
	function whisper(name, event, data) {
		const ch = pusher?.channel(name);
		if (ch?.subscribed)
			ch.trigger(event, data);
	}

	function disconnect() {
		pusher?.disconnect();
		pusher = null;
		for (const feed of feeds.values())
			feed?.destroy();
		feeds.clear();
	}

	return {
		connect, subscribe, subscribeToChannel, subscribeToPrivateChannel, unsubscribeFromChannel, whisper,
		disconnect, EVENTS, CHANNELS,
	};
}
