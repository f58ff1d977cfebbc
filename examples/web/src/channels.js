// channels.js: the channel and event names of rtpush's telemedicine
// catalogue (SELECT * FROM rtpush.telemedicine_catalogue(), extension
// rtpush_telemedicine in extensions/rtpush_telemedicine/), plus the web
// example's presence and contact-status channels (examples/web/schema.sql).
export const EVENTS = {
	messageSent: 'message-sent',
	notificationCreated: 'notification-created',
	appointmentUpdated: 'appointment-updated',
	prescriptionCreated: 'prescription-created',
	prescriptionUpdated: 'prescription-updated',
	userStatusChanged: 'user-status-changed',
	contactStatusChanged: 'contact-status-changed',
	availabilityChanged: 'doctor-availability-changed',
	ratingReceived: 'rating-received',
	typing: 'client-typing', // a client event: browser to browser, through soketi
};

export const CHANNELS = {
	notifications: (userId) => `private-user.${userId}.notifications`,
	appointments: (userId) => `private-user.${userId}.appointments`,
	prescriptions: (userId) => `private-user.${userId}.prescriptions`,
	status: (userId) => `private-user.${userId}.status`,
	conversation: (id) => `private-conversation.${id}`,
	presence: (conversationId) => `presence-conversation.${conversationId}`,
	contactStatus: (userId) => `private-contact.${userId}.status`,
	availability: (doctorId) => `doctor.${doctorId}.availability`,
	ratings: (doctorId) => `private-doctor.${doctorId}.ratings`,
};
