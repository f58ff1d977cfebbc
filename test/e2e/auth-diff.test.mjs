// auth-diff.test.mjs: randomized differential test (issue 8) of
// rtpush.authorize_channel / rtpush.authenticate_user against the official
// `pusher` npm library's authorizeChannel / authenticateUser with the same
// key and secret: many random socket ids, channel names and presence
// payloads (unicode, escapes, nesting), plus random invalid inputs that both
// must refuse.  The seed is printed so a failure can be replayed
// (RTPUSH_DIFF_SEED=<n>).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres } from './lib/pg.mjs';
import { PusherServer } from './lib/deps.mjs';

const KEY = 'diff-key';
const SECRET = 'diff-secret';
const N = Number(process.env.RTPUSH_DIFF_N ?? 3000);
const SEED = Number(process.env.RTPUSH_DIFF_SEED ?? (Date.now() % 1e9));

// mulberry32: small seeded PRNG
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6D2B79F5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];

const SEG_CHARS = 'ABCXYZabcxyz0123456789_-=@,;';
const STR_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\r', '\b', '\f', '\u0001', '\u001f',
	'\u007f', 'é', 'ß', '€', '☃', '\u2028', '\u00a0', '😀', '中', ':', '{', '}', '[', ']', ','];

const segment = () => Array.from({ length: 1 + int(12) }, () => pick(SEG_CHARS)).join('');
const str = (max = 16) => Array.from({ length: int(max) }, () => pick(STR_CHARS)).join('');
const socketId = () => `${int(1e9)}.${int(1e9)}`;

function value(depth) {
	switch (int(depth > 2 ? 4 : 6)) {
		case 0: return str();
		case 1: return int(2e9) - 1e9;
		case 2: return rand() < 0.5;
		case 3: return null;
		case 4: return Array.from({ length: int(4) }, () => value(depth + 1));
		default: return object(depth + 1);
	}
}
function object(depth = 0) {
	const o = {};
	for (let i = int(5); i > 0; i--)
		o[str(8) || 'k'] = value(depth);
	return o;
}

function channel() {
	const kind = pick(['private-diff.', 'presence-diff.', 'private-diff.']);
	let name = kind + segment();
	for (let i = int(3); i > 0; i--)
		name += `.${segment()}`;
	return name.slice(0, 164);
}

describe(`rtpush auth vs the official pusher library (seed ${SEED}, ${N} cases)`, () => {
	let pg;
	const lib = new PusherServer({ appId: '1', key: KEY, secret: SECRET });

	before(async () => {
		pg = await startPostgres({ conf: { 'rtpush.key': KEY, 'rtpush.secret': SECRET } });
		await pg.query(`
			CREATE FUNCTION allow_all(user_id text, captures jsonb) RETURNS boolean
			  LANGUAGE sql AS $$ SELECT true $$;
			CREATE FUNCTION try_authorize(s text, c text, u text) RETURNS text LANGUAGE plpgsql AS $$
			BEGIN
			  RETURN rtpush.authorize_channel(s, c, u)::text;
			EXCEPTION WHEN others THEN
			  RETURN SQLSTATE || ' ' || SQLERRM;
			END $$;
			INSERT INTO rtpush.channel_rules (pattern, rule) VALUES
			  ('private-diff.{x}', 'allow_all'), ('private-diff.{x}.*', 'allow_all'),
			  ('presence-diff.{x}', 'allow_all'), ('presence-diff.{x}.*', 'allow_all');`);
	});
	after(async () => {
		await pg?.destroy();
	});

	test('authorize_channel: identical auth and channel_data', async () => {
		const cases = Array.from({ length: N }, () => {
			const ch = channel();
			const presence = ch.startsWith('presence-');
			const uid = str(20).replace(/^$/, 'u').slice(0, 100);
			const info = presence && rand() < 0.8 ? object() : null;
			return { sid: socketId(), ch, uid, info };
		});
		const r = await pg.query(`
			SELECT rtpush.authorize_channel(s, c, u, i::jsonb) AS r
			  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(s, c, u, i, n)
			 ORDER BY n`,
		[cases.map((c) => c.sid), cases.map((c) => c.ch), cases.map((c) => c.uid),
			cases.map((c) => (c.info === null ? null : JSON.stringify(c.info)))]);
		assert.equal(r.rows.length, N);
		let presence = 0;
		let reordered = 0;
		r.rows.forEach(({ r: ours }, k) => {
			const c = cases[k];
			if (c.ch.startsWith('presence-')) {
				presence++;
				// what we signed means what was asked (key order aside)
				const parsed = JSON.parse(ours.channel_data);
				assert.deepEqual(parsed, c.info === null ? { user_id: c.uid } : { user_id: c.uid, user_info: c.info },
					`case ${k} (seed ${SEED}): channel_data ${ours.channel_data}`);
				const theirs = lib.authorizeChannel(c.sid, c.ch, parsed);
				if (theirs.channel_data === ours.channel_data) {
					assert.equal(ours.auth, theirs.auth, `case ${k} (seed ${SEED})`);
				} else {
					// JS objects put integer-like keys ("0") first, so
					// JSON.stringify cannot reproduce our key order; sign our
					// exact bytes with the library's own token instead
					reordered++;
					assert.equal(ours.auth, `${KEY}:${lib.config.token.sign(`${c.sid}:${c.ch}:${ours.channel_data}`)}`,
						`case ${k} (seed ${SEED})`);
				}
			} else {
				assert.deepEqual(ours, lib.authorizeChannel(c.sid, c.ch), `case ${k} (seed ${SEED}): ${c.ch}`);
			}
		});
		assert.ok(presence > N / 5, `enough presence cases (${presence})`);
		assert.ok(reordered < presence / 2, `most cases compared whole (${reordered} of ${presence} re-signed)`);
	});

	test('authenticate_user: identical auth and user_data', async () => {
		const cases = Array.from({ length: N }, () => {
			const data = { id: str(20).replace(/^$/, 'u').slice(0, 100) };
			if (rand() < 0.7)
				data.user_info = object();
			if (rand() < 0.3)
				data.watchlist = Array.from({ length: int(4) }, () => String(int(1000)));
			return { sid: socketId(), data };
		});
		const r = await pg.query(`
			SELECT rtpush.authenticate_user(s, d::jsonb) AS r
			  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(s, d, n) ORDER BY n`,
		[cases.map((c) => c.sid), cases.map((c) => JSON.stringify(c.data))]);
		r.rows.forEach(({ r: ours }, k) => {
			const c = cases[k];
			const parsed = JSON.parse(ours.user_data);
			assert.deepEqual(parsed, c.data, `case ${k} (seed ${SEED})`);
			const theirs = lib.authenticateUser(c.sid, parsed);
			if (theirs.user_data === ours.user_data)
				assert.deepEqual(ours, theirs, `case ${k} (seed ${SEED})`);
			else	/* integer-like keys: see above */
				assert.equal(ours.auth, `${KEY}:${lib.config.token.sign(`${c.sid}::user::${ours.user_data}`)}`,
					`case ${k} (seed ${SEED})`);
		});
	});

	test('random invalid socket ids: both refuse; rtpush with 22023', async () => {
		const bad = Array.from({ length: 300 }, () => {
			const s = socketId();
			switch (int(6)) {
				case 0: return s.replace('.', '');
				case 1: return `${s}.${int(9)}`;
				case 2: return `${s}:${pick(['private-diff.a', 'x'])}`;
				case 3: return ` ${s}`;
				case 4: return s.replace(/\d/, pick(['a', '-', '１', '%']));
				default: return `.${s}`;
			}
		});
		for (const sid of bad)
			assert.throws(() => lib.authorizeChannel(sid, 'private-diff.a'), /Invalid socket id/, sid);
		const r = await pg.query(`SELECT s, try_authorize(s, 'private-diff.a', 'u') AS outcome
			FROM unnest($1::text[]) AS s`, [bad]);
		for (const { s, outcome } of r.rows)
			assert.match(outcome, /^22023 invalid socket id/, s);
	});
});
