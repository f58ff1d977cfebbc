// clients.mjs: real subscriber clients for the e2e tests.
//
// pusherClient() connects the real pusher-js (its Node build) to a soketi
// started by soketi.mjs, over plain ws on 127.0.0.1.  Private and presence
// channels are authorised either by the official `pusher` server library
// signing with the app secret (until rtpush's SQL authorisation exists), or
// by an HTTP auth endpoint (authEndpoint) speaking Pusher's auth protocol.
// Collectors record every event received with its arrival time.
// echoClient() wraps the same client in laravel-echo, as the guide's app uses.

import { performance } from 'node:perf_hooks';
import { PusherClient, PusherServer, Echo } from './deps.mjs';
import { sleep } from './cleanup.mjs';
import { splitHistory, PositionCheck } from './history.mjs';

PusherClient.logToConsole = false;

/** A list of received events that can be awaited until it has n entries. */
export class Collector {
	constructor(label) {
		this.label = label;
		// {data, receivedAt (performance.now() ms), hrtime (bigint ns), metadata, id, position}:
		// data without the history members, which are in id and position (history.mjs)
		this.events = [];
		this.waiters = [];
		this.positions = new PositionCheck(label);
	}

	push(data, metadata) {
		const h = splitHistory(data);
		this.record(h.data, metadata, h.id, h.position);
	}

	/** collectAll's entries: data is {event, data}. */
	pushNamed(event, data) {
		const h = splitHistory(data);
		this.record({ event, data: h.data }, undefined, h.id, h.position);
	}

	record(data, metadata, id, position) {
		this.positions.note(id, position);
		this.events.push({ data, receivedAt: performance.now(), hrtime: process.hrtime.bigint(), metadata, id, position });
		for (const w of [...this.waiters]) {
			if (this.events.length >= w.n) {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				w.resolve(this.events);
			}
		}
	}

	get data() {
		this.positions.assertOrdered();
		return this.events.map((e) => e.data);
	}

	get length() {
		return this.events.length;
	}

	/** Resolves with the events once at least n arrived; rejects after timeoutMs. */
	waitFor(n, timeoutMs = 60000) {
		if (this.events.length >= n)
			return Promise.resolve(this.events);
		return new Promise((resolve, reject) => {
			const w = { n, resolve: (v) => { clearTimeout(w.timer); resolve(v); } };
			w.timer = setTimeout(() => {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				reject(new Error(`${this.label}: ${this.events.length} of ${n} events after ${timeoutMs} ms`));
			}, timeoutMs);
			this.waiters.push(w);
		});
	}

	/** Waits quietMs more and resolves with the events (to check nothing else comes). */
	async settle(quietMs = 1500) {
		await sleep(quietMs);
		return this.events;
	}
}

/**
 * A connected pusher-js client.
 *
 * options:
 *   soketi        handle from startSoketi() (host, port, key, secret, appId)
 *   authEndpoint  URL of an auth endpoint (POST socket_id, channel_name as a
 *                 form, answers {"auth": ...}); default: sign locally with the
 *                 official `pusher` library and soketi's secret
 *   authHeaders   extra headers for authEndpoint
 *   user          presence data {user_id, user_info} for presence channels
 *                 when signing locally
 *   pusherOptions further pusher-js options
 *
 * Returns {pusher, socketId, connected(), subscribe(name), collect(name, event),
 * collectAll(name), unsubscribe(name), disconnect()}.
 */
export async function pusherClient(options) {
	const { soketi } = options;
	const authorizer = options.authEndpoint
		? endpointAuthorizer(options.authEndpoint, options.authHeaders)
		: libraryAuthorizer(soketi, options.user);

	const pusher = new PusherClient(soketi.key, {
		cluster: 'mt1',
		wsHost: soketi.host,
		wsPort: soketi.port,
		forceTLS: false,
		enabledTransports: ['ws'],
		disableStats: true,
		channelAuthorization: { customHandler: authorizer },
		...(options.pusherOptions ?? {}),
	});

	const c = { pusher, subscriptions: new Map() };

	c.connected = (timeoutMs = 30000) => new Promise((resolve, reject) => {
		if (pusher.connection.state === 'connected')
			return resolve(pusher.connection.socket_id);
		const timer = setTimeout(() => reject(new Error(
			`pusher-js not connected after ${timeoutMs} ms (state ${pusher.connection.state})`)), timeoutMs);
		pusher.connection.bind('connected', function onConnected() {
			pusher.connection.unbind('connected', onConnected);
			clearTimeout(timer);
			resolve(pusher.connection.socket_id);
		});
	});

	/** Subscribe; resolves with the channel on pusher:subscription_succeeded. */
	c.subscribe = (name, timeoutMs = 30000) => new Promise((resolve, reject) => {
		// bind before subscribing: a local authorizer can fail synchronously
		const ch = pusher.channels.add(name, pusher);
		if (ch.subscribed)
			return resolve(ch);
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`subscription to ${name} not confirmed after ${timeoutMs} ms`));
		}, timeoutMs);
		const ok = () => {
			cleanup();
			resolve(ch);
		};
		const bad = (err) => {
			cleanup();
			const e = new Error(`subscription to ${name} failed: ${JSON.stringify(err)}`);
			e.status = err?.status;
			e.pusherError = err;
			reject(e);
		};
		function cleanup() {
			clearTimeout(timer);
			ch.unbind('pusher:subscription_succeeded', ok);
			ch.unbind('pusher:subscription_error', bad);
		}
		ch.bind('pusher:subscription_succeeded', ok);
		ch.bind('pusher:subscription_error', bad);
		pusher.subscribe(name);
	});

	/** A Collector of `event` on channel `name` (subscribe first, or after). */
	c.collect = (name, event) => {
		const col = new Collector(`${name} ${event}`);
		const ch = pusher.channel(name) ?? pusher.subscribe(name);
		ch.bind(event, (data, metadata) => col.push(data, metadata));
		return col;
	};

	/** A Collector of every non-internal event on channel `name`: data is {event, data}. */
	c.collectAll = (name) => {
		const col = new Collector(`${name} *`);
		const ch = pusher.channel(name) ?? pusher.subscribe(name);
		ch.bind_global((event, data) => {
			if (!event.startsWith('pusher:') && !event.startsWith('pusher_internal:'))
				col.pushNamed(event, data);
		});
		return col;
	};

	c.unsubscribe = (name) => pusher.unsubscribe(name);

	c.disconnect = async () => {
		pusher.disconnect();
		await sleep(50);
	};

	c.socketId = await c.connected();
	return c;
}

// channelAuthorization handler that signs with the official server library.
function libraryAuthorizer(soketi, user) {
	const server = new PusherServer({ appId: soketi.appId, key: soketi.key, secret: soketi.secret });
	return ({ socketId, channelName }, callback) => {
		try {
			const presence = channelName.startsWith('presence-') ? (user ?? { user_id: socketId }) : undefined;
			callback(null, server.authorizeChannel(socketId, channelName, presence));
		} catch (e) {
			callback(e, null);
		}
	};
}

// channelAuthorization handler that asks an HTTP endpoint, as pusher-js's
// own ajax transport does (form body socket_id and channel_name).
function endpointAuthorizer(endpoint, headers = {}) {
	return async ({ socketId, channelName }, callback) => {
		try {
			const r = await fetch(endpoint, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
				body: new URLSearchParams({ socket_id: socketId, channel_name: channelName }).toString(),
			});
			const text = await r.text();
			if (!r.ok) {
				const e = new Error(`auth endpoint answered ${r.status}: ${text}`);
				e.status = r.status;
				return callback(e, null);
			}
			callback(null, JSON.parse(text));
		} catch (e) {
			callback(e, null);
		}
	};
}

/** Every raw protocol message a client's (clients.pusherClient) connection receives, before decryption. */
export function rawMessages(c) {
	const seen = [];
	c.pusher.connection.bind('message', (m) => seen.push(m));
	return seen;
}

/**
 * laravel-echo over a pusherClient() (same options).  Returns
 * {echo, client, listen(kind, name, event) → Collector, disconnect()} where
 * kind is 'channel' (public), 'private' or 'join' (presence), name is without
 * the Pusher prefix as in Echo, and event is as given to Echo's listen()
 * (a leading '.' means the literal event name).
 */
export async function echoClient(options) {
	const client = await pusherClient(options);
	const echo = new Echo({ broadcaster: 'pusher', key: options.soketi.key, client: client.pusher });
	return {
		echo,
		client,
		listen(kind, name, event) {
			const col = new Collector(`echo ${kind} ${name} ${event}`);
			echo[kind](name).listen(event, (data) => col.push(data));
			return col;
		},
		disconnect: async () => {
			echo.disconnect();
			await sleep(50);
		},
	};
}
