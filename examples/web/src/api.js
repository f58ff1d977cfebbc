// api.js: the app backend's REST endpoints (examples/web/server.mjs), with
// the demo session's bearer token.  Writes only write rows; the events come
// back over Pusher from rtpush's triggers.
export const session = {
	get token() {
		return sessionStorage.getItem('token');
	},
	set token(t) {
		if (t)
			sessionStorage.setItem('token', t);
		else
			sessionStorage.removeItem('token');
	},
};

export async function api(method, path, body) {
	const r = await fetch(`/api/v1${path}`, {
		method,
		headers: { authorization: `Bearer ${session.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	// ids are bigint, sent as strings by the backend's driver: numbers, as in
	// rtpush's event payloads, so that the store dedups both by the same id
	const text = await r.text();
	let j = {};
	try {
		j = JSON.parse(text, (k, v) => ((k === 'id' || k.endsWith('_id')) && typeof v === 'string' && /^[0-9]{1,15}$/.test(v) ? Number(v) : v));
	} catch {
		// not JSON: the status says enough
	}
	if (!r.ok)
		throw new Error(j.error ?? `HTTP ${r.status}`);
	return j.data;
}
