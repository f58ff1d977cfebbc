// stores/realtime.js: the page's state (Pinia).  Every update arrives here
// live (a Pusher event from rtpush), from rtpush-client's catch-up (the
// events missed, from rtpush.history), or over REST (the page's bootstrap
// snapshot, a reload when history cannot answer); all go through the same
// upserts, which take what they already hold by id, so an item seen twice
// shows once.  Messages, appointments, prescriptions and notifications note
// how their last update came (via: 'live', 'history' or 'rest'), and
// caughtUp counts, per channel, the events catch-up handed over.
import { defineStore } from 'pinia';

const byId = (list, item, via) => {
	const i = list.findIndex((x) => x.id === item.id);
	const next = via ? { ...item, via } : item;
	if (i === -1)
		list.push(next);
	else
		list[i] = { ...list[i], ...next };
	return i === -1;
};

export const useRealtimeStore = defineStore('realtime', {
	state: () => ({
		me: null,
		connection: 'initialized', // pusher-js state, or 'offline' (the browser is)
		connectionLog: [], // states as they happened, for the indicator's title
		channels: {}, // name -> 'pending' | 'subscribed' | 'refused' | 'error'
		channelErrors: {},
		messages: [],
		typing: null, // {name, until}
		notifications: [],
		toasts: [],
		appointments: [],
		prescriptions: [],
		ratings: [],
		doctor: null,
		contact: null, // {id, name, is_online, last_seen_at}
		presentIds: [],
		caughtUp: {}, // channel name -> events delivered by catch-up
	}),
	getters: {
		sortedMessages: (s) => [...s.messages].sort((a, b) => (Date.parse(a.created_at) - Date.parse(b.created_at)) || a.id - b.id),
	},
	actions: {
		setConnection(state) {
			this.connection = state;
			if (this.connectionLog.at(-1) !== state)
				this.connectionLog.push(state);
			if (state !== 'connected') {
				// nothing is live any more: say so instead of showing stale "subscribed"
				for (const n of Object.keys(this.channels))
					if (this.channels[n] === 'subscribed')
						this.channels[n] = 'pending';
				this.presentIds = [];
				this.typing = null;
			}
		},
		setChannel(name, state, error) {
			this.channels[name] = state;
			if (error)
				this.channelErrors[name] = error;
			else
				delete this.channelErrors[name];
		},
		/** The page's state as GET /api/v1/bootstrap read it (one snapshot). */
		load(b) {
			this.me = b.me;
			for (const m of b.messages)
				this.addMessage(m, 'rest');
			for (const a of b.appointments)
				this.upsertAppointment(a, 'rest');
			for (const p of b.prescriptions)
				this.upsertPrescription(p, 'rest');
			for (const n of b.notifications)
				this.addNotification(n, { toast: false, via: 'rest' });
			if (b.contact)
				this.setContact(b.contact);
			if (b.doctor)
				this.setDoctor(b.doctor);
		},
		countCaughtUp(name) {
			this.caughtUp[name] = (this.caughtUp[name] ?? 0) + 1;
		},
		addMessage(m, via) {
			byId(this.messages, m, via);
		},
		addNotification(n, { toast = true, via } = {}) {
			const isNew = !this.notifications.some((x) => x.id === n.id);
			byId(this.notifications, n, via);
			this.notifications.sort((a, b) => b.id - a.id);
			if (isNew && toast) {
				this.toasts.push(n);
				setTimeout(() => {
					this.toasts = this.toasts.filter((t) => t.id !== n.id);
				}, 8000);
			}
		},
		upsertAppointment(a, via) {
			byId(this.appointments, a, via);
		},
		upsertPrescription(p, via) {
			byId(this.prescriptions, p, via);
		},
		addRating(r) {
			byId(this.ratings, r);
		},
		setDoctor(d) {
			this.doctor = { ...(this.doctor ?? {}), ...d };
		},
		setContact(c) {
			this.contact = { ...(this.contact ?? {}), ...c };
		},
		showTyping(name) {
			const until = Date.now() + 3000;
			this.typing = { name, until };
			setTimeout(() => {
				if (this.typing && this.typing.until <= Date.now())
					this.typing = null;
			}, 3100);
		},
		clearTyping() {
			this.typing = null;
		},
		reset() {
			this.$reset();
		},
	},
});
