// history.mjs: the members rtpush adds to JSON-object events while history
// is on (README "History and catch-up"): "rtpush_id" (the outbox id) and
// "rtpush_position" (an opaque string; per channel, positions increase in
// the order events are delivered).  The e2e tests compare events with what
// was written, so collectors take the two members off and keep them aside;
// every collector also checks that its channel's positions increase (a
// repeat of an event already seen, same id, may come again: at least once).

/** Splits an event's data: {data without the members, id, position}, or {data} when it has none. */
export function splitHistory(data) {
	if (data === null || typeof data !== 'object' || Array.isArray(data) || !('rtpush_position' in data))
		return { data };
	const { rtpush_id: id, rtpush_position: position, ...rest } = data;
	return { data: rest, id: String(id), position };
}

/** Positions as BigInt: opaque to clients, but the tests may compare them. */
export function positionValue(p) {
	return BigInt(p);
}

/** Tracks one channel's positions; returns a message for each out-of-order one. */
export class PositionCheck {
	constructor(label) {
		this.label = label;
		this.last = null;
		this.seen = new Set();
		this.errors = [];
		this.count = 0;
	}

	note(id, position) {
		if (position === undefined)
			return;
		this.count++;
		const p = positionValue(position);
		if (this.last !== null && p <= this.last && !this.seen.has(id))
			this.errors.push(`${this.label}: event ${id} at position ${position} after position ${this.last}`);
		if (this.last === null || p > this.last)
			this.last = p;
		this.seen.add(id);
	}

	/** Throws if any position went backwards. */
	assertOrdered() {
		if (this.errors.length)
			throw new Error(`history positions out of order: ${this.errors.slice(0, 5).join('; ')}`);
	}
}
