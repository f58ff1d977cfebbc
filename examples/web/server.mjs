// examples/web/server.mjs: the web example's app backend.  It serves the
// built page (dist/), signs in the demo's users (demo tokens), answers the
// guide's /api/v1/broadcasting/{config,auth} through examples/auth-server
// (rtpush.client_config, rtpush.authorize_channel), and has REST endpoints
// that only read and write the app's rows.  There is no publish call
// anywhere: rtpush's triggers turn each committed write into its event.
//
//   POST /api/v1/demo/sign-in              {"role": "patient"|"doctor"} -> {token, user}
//   GET  /api/v1/bootstrap                 the page's whole state and the history position it
//                                          matches, read in one snapshot (see bootstrap below)
//   GET  /api/v1/me                        the signed-in user, their conversation, doctor
//   GET  /api/v1/conversations/:id/messages          (participants only)
//   POST /api/v1/conversations/:id/messages {body}   INSERT INTO messages
//   GET  /api/v1/appointments                        the user's own
//   POST /api/v1/appointments/:id/:action            confirm|start|end (doctor), reschedule {minutes}
//   GET  /api/v1/prescriptions                       the user's own (patient) or written (doctor)
//   POST /api/v1/prescriptions {appointment_id, medication, dosage, instructions}  (doctor)
//   POST /api/v1/ratings {appointment_id, rating, comment}                         (patient)
//   GET  /api/v1/doctors/:id                         availability
//   POST /api/v1/doctors/me/availability {available}                              (doctor)
//   GET  /api/v1/notifications                       the user's own
//   POST /api/v1/notifications {user_id, type, title, body}  (a demo admin action: self or a contact)
//   GET  /api/v1/users/:id/status                    online / last seen of a contact
//   POST /api/v1/broadcasting/webhook      soketi's presence webhooks -> rtpush.handle_webhook,
//                                          then users.is_online/last_seen_at from rtpush.user_presence
//   GET  /api/v1/broadcasting/{config,history}, POST /api/v1/broadcasting/auth: examples/auth-server's
//                                          (history: rtpush.history() for rtpush-client's catch-up,
//                                          403 / 400 / 503 from its SQLSTATEs)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuthServer, send, readBody } from '../auth-server/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css',
	'.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

class HttpError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

async function json(req) {
	const raw = await readBody(req);
	try {
		return JSON.parse(raw || '{}');
	} catch {
		throw new HttpError(400, 'request body is not JSON');
	}
}

function staticFiles(dist) {
	return (req, res) => {
		if (req.method !== 'GET' && req.method !== 'HEAD')
			return send(res, 404, { error: 'not found' });
		const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
		let file = path.join(dist, path.normalize(p).replace(/^(\.\.[/\\])+/, ''));
		if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory())
			file = path.join(dist, 'index.html'); // the single page
		if (!fs.existsSync(file))
			return send(res, 404, { error: 'page not built: run npm run build in examples/web' });
		const body = fs.readFileSync(file);
		res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
			'content-length': body.length, 'cache-control': 'no-store' });
		res.end(req.method === 'HEAD' ? undefined : body);
	};
}

/**
 * snapshot(pool, fn): fn(q) in one REPEATABLE READ, READ ONLY transaction on
 * one connection, so that every query of fn sees the same snapshot.
 */
async function snapshot(pool, fn) {
	const c = await pool.connect();
	try {
		await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
		const r = await fn(async (sql, params) => (await c.query(sql, params)).rows);
		await c.query('COMMIT');
		return r;
	} catch (e) {
		await c.query('ROLLBACK').catch(() => {});
		throw e;
	} finally {
		await (c.release ? c.release() : c.end());
	}
}

/**
 * createWebServer({pool, port, host, dist}) -> {url, port, close()}
 * pool: anything with query(sql, params) and connect() (-> a client with
 * query() and release() or end()) on the database holding the schema.
 */
export async function createWebServer({ pool, port = 0, host = '127.0.0.1', dist = path.join(here, 'dist') }) {
	const q = async (sql, params) => (await pool.query(sql, params)).rows;
	const uid = (user) => Number(user.user_id);
	const role = (user) => user.user_info?.role;
	const needDoctor = (user) => {
		if (role(user) !== 'doctor')
			throw new HttpError(403, 'only a doctor may do that');
	};
	const participant = async (user, conv, qq = q) => {
		const r = await qq('SELECT 1 FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2',
			[conv, uid(user)]);
		if (r.length === 0)
			throw new HttpError(403, 'not a participant of this conversation');
	};
	const ok = (fn) => async (req, res, user, params) => {
		try {
			send(res, 200, { status: 'success', data: await fn(req, user, params) });
		} catch (e) {
			if (!(e instanceof HttpError))
				throw e;
			send(res, e.status, { error: e.message });
		}
	};
	const numeric = (v, what) => {
		if (!/^[0-9]{1,18}$/.test(String(v)))
			throw new HttpError(400, `${what} must be a number`);
		return Number(v);
	};

	const APPT = `SELECT a.id, a.patient_id, a.doctor_id, a.status, a.scheduled_at, a.duration_minutes, a.updated_at,
	                     p.name AS patient_name, d.name AS doctor_name
	                FROM appointments a JOIN users p ON p.id = a.patient_id JOIN users d ON d.id = a.doctor_id`;
	const ACTIONS = {
		confirm: ['pending', 'confirmed'], start: ['confirmed', 'in_progress'], end: ['in_progress', 'completed'],
	};

	// The state reads, each with the query function to run on: the pool's
	// (one endpoint, one statement) or bootstrap's snapshot.
	const reads = {
		me: async (qq, user) => {
			const [me] = await qq(`SELECT u.id, u.name, u.role, u.is_online, u.last_seen_at FROM users u WHERE u.id = $1`, [uid(user)]);
			const [c] = await qq(`SELECT p.conversation_id, o.user_id AS other_id, u.name AS other_name, u.role AS other_role
			                        FROM conversation_participants p
			                        JOIN conversation_participants o ON o.conversation_id = p.conversation_id AND o.user_id <> p.user_id
			                        JOIN users u ON u.id = o.user_id
			                       WHERE p.user_id = $1 ORDER BY p.conversation_id LIMIT 1`, [uid(user)]);
			return { ...me, conversation: c ?? null };
		},
		messages: async (qq, user, id) => {
			await participant(user, numeric(id, 'conversation id'), qq);
			return qq(`SELECT id, conversation_id, sender_id, body, type, created_at FROM messages
			            WHERE conversation_id = $1 ORDER BY created_at, id`, [id]);
		},
		appointments: (qq, user) =>
			qq(`${APPT} WHERE $1 IN (a.patient_id, a.doctor_id) ORDER BY a.scheduled_at, a.id`, [uid(user)]),
		prescriptions: (qq, user) =>
			qq(`SELECT id, appointment_id, patient_id, doctor_id, medication, dosage, instructions, status, created_at
			      FROM prescriptions WHERE $1 IN (patient_id, doctor_id) ORDER BY id`, [uid(user)]),
		notifications: (qq, user) =>
			qq(`SELECT id, user_id, type, title, body, data, created_at FROM notifications
			     WHERE user_id = $1 ORDER BY id DESC LIMIT 50`, [uid(user)]),
		doctor: async (qq, user, id) => {
			const [d] = await qq(`SELECT d.id, u.name, d.specialty, d.is_available, d.updated_at
			                        FROM doctors d JOIN users u USING (id) WHERE d.id = $1`, [numeric(id, 'doctor id')]);
			if (!d)
				throw new HttpError(404, 'no such doctor');
			return d;
		},
		status: async (qq, user, id) => {
			numeric(id, 'user id');
			const [s] = await qq(`SELECT u.id, u.name, u.is_online, u.last_seen_at FROM users u
			                       WHERE u.id = $1 AND (u.id = $2 OR shares_conversation($2::text, jsonb_build_object('user_id', $1::text)))`,
			[id, uid(user)]);
			if (!s)
				throw new HttpError(403, 'not one of your contacts');
			return s;
		},
	};

	/*
	 * The page's state and the history position it matches.  position is
	 * rtpush.history_last_position(), the largest position in history,
	 * read in the same snapshot as the rows: every event of a write this
	 * snapshot shows is either in history at or below it (and the state has
	 * it) or not in history yet (still queued, or not written); the worker
	 * gives each of those, when it reads it, a position above every one it
	 * gave before, so above this one.  The page hands it to rtpush-client's
	 * catchUp() as the channels' starting position: rtpush.history(after =
	 * position) returns exactly what the snapshot may lack (plus events it
	 * already shows, which the stores take again by id), nothing older.
	 * "0" (history empty) means: from the start of what is kept.
	 */
	async function bootstrap(req, user) {
		return snapshot(pool, async (tq) => {
			const [{ position }] = await tq('SELECT rtpush.history_last_position()::text AS position');
			const me = await reads.me(tq, user);
			const conv = me.conversation;
			const doctorId = me.role === 'doctor' ? me.id : conv?.other_id;
			return {
				position, me,
				messages: conv ? await reads.messages(tq, user, conv.conversation_id) : [],
				appointments: await reads.appointments(tq, user),
				prescriptions: await reads.prescriptions(tq, user),
				notifications: await reads.notifications(tq, user),
				contact: conv ? await reads.status(tq, user, conv.other_id) : null,
				doctor: doctorId ? await reads.doctor(tq, user, doctorId).catch((e) => {
					if (e instanceof HttpError) // the contact is not a doctor: no availability
						return null;
					throw e;
				}) : null,
			};
		});
	}

	const routes = {
		'POST /api/v1/demo/sign-in': [ok(async (req) => {
			const { role: r } = await json(req);
			const id = { patient: 1, doctor: 3 }[r];
			if (!id)
				throw new HttpError(400, 'role must be "patient" or "doctor"');
			return { token: `tok-${id}` }; // demo tokens (app_sessions in schema.sql)
		}), false],
		'GET /api/v1/bootstrap': [ok(bootstrap), true],
		'GET /api/v1/me': [ok((req, user) => reads.me(q, user)), true],
		'GET /api/v1/conversations/:id/messages': [ok((req, user, { id }) => reads.messages(q, user, id)), true],
		'POST /api/v1/conversations/:id/messages': [ok(async (req, user, { id }) => {
			await participant(user, numeric(id, 'conversation id'));
			const { body } = await json(req);
			if (typeof body !== 'string' || body.trim() === '')
				throw new HttpError(400, 'body must be a non-empty string');
			const [m] = await q(`INSERT INTO messages (conversation_id, sender_id, body) VALUES ($1, $2, $3)
			                     RETURNING id, conversation_id, sender_id, body, type, created_at`, [id, uid(user), body]);
			return m;
		}), true],
		'GET /api/v1/appointments': [ok((req, user) => reads.appointments(q, user)), true],
		'POST /api/v1/appointments/:id/:action': [ok(async (req, user, { id, action }) => {
			numeric(id, 'appointment id');
			let r;
			if (action === 'reschedule') {
				const { minutes } = await json(req);
				const m = Number.isInteger(minutes) ? minutes : 60;
				r = await q(`UPDATE appointments SET scheduled_at = scheduled_at + make_interval(mins => $3), updated_at = now()
				              WHERE id = $1 AND $2 IN (patient_id, doctor_id) AND status IN ('pending', 'confirmed')
				              RETURNING id`, [id, uid(user), m]);
			} else if (ACTIONS[action]) {
				needDoctor(user);
				const [from, to] = ACTIONS[action];
				r = await q(`UPDATE appointments SET status = $4, updated_at = now()
				              WHERE id = $1 AND doctor_id = $2 AND status = $3 RETURNING id`, [id, uid(user), from, to]);
			} else {
				throw new HttpError(404, `unknown action "${action}"`);
			}
			if (r.length === 0)
				throw new HttpError(409, `appointment ${id} cannot be changed that way now`);
			return (await q(`${APPT} WHERE a.id = $1`, [id]))[0];
		}), true],
		'GET /api/v1/prescriptions': [ok((req, user) => reads.prescriptions(q, user)), true],
		'POST /api/v1/prescriptions': [ok(async (req, user) => {
			needDoctor(user);
			const b = await json(req);
			const r = await q(`INSERT INTO prescriptions (appointment_id, patient_id, doctor_id, medication, dosage, instructions)
			                   SELECT a.id, a.patient_id, a.doctor_id, $3, $4, $5 FROM appointments a
			                    WHERE a.id = $1 AND a.doctor_id = $2 RETURNING id`,
			[numeric(b.appointment_id, 'appointment_id'), uid(user), String(b.medication ?? ''), String(b.dosage ?? ''),
				b.instructions ?? null]);
			if (r.length === 0)
				throw new HttpError(404, 'no such appointment of yours');
			return r[0];
		}), true],
		'POST /api/v1/ratings': [ok(async (req, user) => {
			const b = await json(req);
			const r = await q(`INSERT INTO ratings (doctor_id, patient_id, appointment_id, rating, comment)
			                   SELECT a.doctor_id, a.patient_id, a.id, $3, $4 FROM appointments a
			                    WHERE a.id = $1 AND a.patient_id = $2 RETURNING id`,
			[numeric(b.appointment_id, 'appointment_id'), uid(user), numeric(b.rating, 'rating'), b.comment ?? null]);
			if (r.length === 0)
				throw new HttpError(404, 'no such appointment of yours');
			return r[0];
		}), true],
		'GET /api/v1/doctors/:id': [ok((req, user, { id }) => reads.doctor(q, user, id)), true],
		'POST /api/v1/doctors/me/availability': [ok(async (req, user) => {
			needDoctor(user);
			const { available } = await json(req);
			const [d] = await q(`UPDATE doctors SET is_available = $2, updated_at = now() WHERE id = $1
			                     RETURNING id, is_available, updated_at`, [uid(user), available === true]);
			return d;
		}), true],
		'GET /api/v1/notifications': [ok((req, user) => reads.notifications(q, user)), true],
		'POST /api/v1/notifications': [ok(async (req, user) => {
			const b = await json(req);
			// the demo's "admin panel": to oneself or to someone one shares a conversation with
			const [n] = await q(`INSERT INTO notifications (user_id, type, title, body)
			                     SELECT $1::bigint, $2, $3, $4
			                      WHERE $1::bigint = $5::bigint OR shares_conversation($5::text, jsonb_build_object('user_id', $1::text))
			                     RETURNING id`, [numeric(b.user_id, 'user_id'), String(b.type ?? 'info'),
				String(b.title ?? ''), b.body ?? null, uid(user)]);
			if (!n)
				throw new HttpError(403, 'not one of your contacts');
			return n;
		}), true],
		'GET /api/v1/users/:id/status': [ok((req, user, { id }) => reads.status(q, user, id)), true],
		// soketi's webhooks: presence recorded by rtpush, then copied into the
		// app's users rows (one statement, so one transaction); the UPDATE is
		// what sends user-status-changed and contact-status-changed.
		'POST /api/v1/broadcasting/webhook': [async (req, res) => {
			const raw = await readBody(req);
			const [r] = await q(`WITH h AS (SELECT rtpush.handle_webhook($1, $2, $3) AS r)
			                     SELECT r FROM h`, [req.headers['x-pusher-key'] ?? null,
				req.headers['x-pusher-signature'] ?? null, raw]);
			await q(`UPDATE users u SET is_online = p.online, last_seen_at = p.last_seen, updated_at = now()
			           FROM rtpush.user_presence p
			          WHERE u.id::text = p.user_id
			            AND (u.is_online IS DISTINCT FROM p.online OR u.last_seen_at IS DISTINCT FROM p.last_seen)`);
			send(res, 200, r.r);
		}, false],
	};

	return createAuthServer({ pool, port, host, routes, fallback: staticFiles(dist) });
}
