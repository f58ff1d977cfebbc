// composables/useWebSocket.js: the guide's composable on rtpush.  One
// pusher-js connection for the page, configured from
// GET /api/v1/broadcasting/config (rtpush.client_config) with the session's
// bearer token; private and presence channels are authorized by
// POST /api/v1/broadcasting/auth (rtpush.authorize_channel: deny by
// default).  It keeps the Pinia store told of the connection state
// (connected / disconnected / offline ...) and of each channel's state
// (pending, subscribed, refused), and after every (re)subscription it runs
// catchUp(), the one place that recovers what an offline period missed.
import Pusher from 'pusher-js';
import { api, session } from '../api.js';
import { CHANNELS, EVENTS } from '../channels.js';
import { useRealtimeStore } from '../stores/realtime.js';

let pusher = null; // one connection per page, shared by every component
const bound = new Map(); // channel name -> {event: handler}

/**
 * catchUp(channelName): what the page may have missed on a channel while it
 * was not subscribed (offline, reconnecting, before the first subscription),
 * read again through the backend's REST endpoints and merged into the store,
 * which drops duplicates by id.  Runs on every subscription success, so a
 * reconnect misses nothing that the REST reads can show.
 *
 * This is the stand-in for rtpush's history/catch-up module (issue 17,
 * rtpush-client + rtpush.history): when that exists it replaces this
 * function, replaying the missed events themselves, in order, through the
 * same handlers.
 */
export async function catchUp(channelName) {
	const store = useRealtimeStore();
	const me = store.me;
	if (!me)
		return;
	const conv = me.conversation;
	if (conv && channelName === CHANNELS.conversation(conv.conversation_id)) {
		for (const m of await api('GET', `/conversations/${conv.conversation_id}/messages`))
			store.addMessage(m);
	} else if (channelName === CHANNELS.appointments(me.id)) {
		for (const a of await api('GET', '/appointments'))
			store.upsertAppointment(a);
	} else if (channelName === CHANNELS.prescriptions(me.id)) {
		for (const p of await api('GET', '/prescriptions'))
			store.upsertPrescription(p);
	} else if (channelName === CHANNELS.notifications(me.id)) {
		for (const n of await api('GET', '/notifications'))
			store.addNotification(n, { toast: false });
	} else if (conv && channelName === CHANNELS.contactStatus(conv.other_id)) {
		store.setContact(await api('GET', `/users/${conv.other_id}/status`));
	} else if (channelName.startsWith('doctor.') && channelName.endsWith('.availability')) {
		store.setDoctor(await api('GET', `/doctors/${channelName.split('.')[1]}`));
	}
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

	async function connect() {
		if (pusher)
			return pusher;
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

	/** Subscribes and binds {event: handler}; the store follows its state. */
	function subscribe(name, handlers = {}) {
		if (!pusher)
			return null;
		const channel = pusher.subscribe(name);
		if (bound.has(name))
			return channel;
		bound.set(name, handlers);
		store.setChannel(name, 'pending');
		channel.bind('pusher:subscription_succeeded', () => {
			store.setChannel(name, 'subscribed');
			catchUp(name).catch((e) => console.warn(`catch-up of ${name} failed`, e));
		});
		channel.bind('pusher:subscription_error', (e) => {
			const refused = e?.status === 403;
			store.setChannel(name, refused ? 'refused' : 'error', e?.error ?? `HTTP ${e?.status}`);
			pusher.unsubscribe(name); // nothing from it may show; do not retry
			bound.delete(name);
		});
		for (const [event, fn] of Object.entries(handlers))
			channel.bind(event, fn);
		return channel;
	}

	const subscribeToChannel = subscribe;
	const subscribeToPrivateChannel = subscribe;

	function unsubscribeFromChannel(name) {
		pusher?.unsubscribe(name);
		bound.delete(name);
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
		bound.clear();
	}

	return {
		connect, subscribe, subscribeToChannel, subscribeToPrivateChannel, unsubscribeFromChannel, whisper,
		disconnect, EVENTS, CHANNELS,
	};
}
