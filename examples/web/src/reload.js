// reload.js: a channel's state read again over REST, for when catch-up
// cannot say what was missed (rtpush-client's rtpush:expired and rtpush:gap,
// or the history endpoint failing).  The store's upserts drop what they
// already hold by id; what is read here is marked via 'rest'.
import { api } from './api.js';
import { CHANNELS } from './channels.js';
import { useRealtimeStore } from './stores/realtime.js';

export async function reloadChannel(channelName) {
	const store = useRealtimeStore();
	const me = store.me;
	if (!me)
		return;
	const conv = me.conversation;
	const via = 'rest';
	if (conv && channelName === CHANNELS.conversation(conv.conversation_id)) {
		for (const m of await api('GET', `/conversations/${conv.conversation_id}/messages`))
			store.addMessage(m, via);
	} else if (channelName === CHANNELS.appointments(me.id)) {
		for (const a of await api('GET', '/appointments'))
			store.upsertAppointment(a, via);
	} else if (channelName === CHANNELS.prescriptions(me.id)) {
		for (const p of await api('GET', '/prescriptions'))
			store.upsertPrescription(p, via);
	} else if (channelName === CHANNELS.notifications(me.id)) {
		for (const n of await api('GET', '/notifications'))
			store.addNotification(n, { toast: false, via });
	} else if (channelName === CHANNELS.status(me.id)) {
		Object.assign(store.me, await api('GET', `/users/${me.id}/status`));
	} else if (conv && channelName === CHANNELS.contactStatus(conv.other_id)) {
		store.setContact(await api('GET', `/users/${conv.other_id}/status`));
	} else if (channelName.startsWith('doctor.') && channelName.endsWith('.availability')) {
		store.setDoctor(await api('GET', `/doctors/${channelName.split('.')[1]}`));
	}
}
