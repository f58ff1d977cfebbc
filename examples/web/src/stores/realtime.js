// stores/realtime.js: the page's state (Pinia).  Every update arrives here
// either live (a Pusher event from rtpush) or from the REST catch-up; both
// go through the same upserts, which drop what they already hold by id, so
// an event seen twice (live and catch-up) shows once.
import { defineStore } from 'pinia';

const byId = (list, item) => {
	const i = list.findIndex((x) => x.id === item.id);
	if (i === -1)
		list.push(item);
	else
		list[i] = { ...list[i], ...item };
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
		addMessage(m) {
			byId(this.messages, m);
		},
		addNotification(n, { toast = true } = {}) {
			const isNew = !this.notifications.some((x) => x.id === n.id);
			byId(this.notifications, n);
			this.notifications.sort((a, b) => b.id - a.id);
			if (isNew && toast) {
				this.toasts.push(n);
				setTimeout(() => {
					this.toasts = this.toasts.filter((t) => t.id !== n.id);
				}, 8000);
			}
		},
		upsertAppointment(a) {
			byId(this.appointments, a);
		},
		upsertPrescription(p) {
			byId(this.prescriptions, p);
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
