// web.test.mjs: the web example (examples/web) in a real browser.  The whole
// stack (examples/web/stack.mjs: PostgreSQL with rtpush, soketi, the app
// backend serving the built page) and Debian's Chromium driven by
// playwright-core, with two browser contexts, a patient and a doctor, and
// every assertion on the DOM.  The six cases of issue 18 (5: the catch-up of
// rtpush-client, client/, delivers what an offline period missed); screenshots of both
// windows go to RTPUSH_WEB_OUT (default build/web).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startStack } from '../../examples/web/stack.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const require = createRequire(path.join(ROOT, 'examples/web/package.json'));
const { chromium } = require('playwright-core');
const OUT = process.env.RTPUSH_WEB_OUT ?? path.join(ROOT, 'build/web');
const CHROMIUM = process.env.RTPUSH_CHROMIUM ?? '/usr/bin/chromium';
const WAIT = 15000; // DOM waits; every event normally shows in well under a second

let stack, browser;
const ctx = {}; // role -> {context, page}

async function open(role) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
	const page = await context.newPage();
	page.on('pageerror', (e) => console.log(`# ${role} page error: ${e.message}`));
	await page.goto(`${stack.url}/?as=${role}`);
	await page.getByTestId('connection').and(page.locator('[data-state="connected"]')).waitFor({ timeout: WAIT });
	// every channel of the page answered (none left pending)
	await page.waitForFunction(() => {
		const cs = [...document.querySelectorAll('[data-testid="channel"]')];
		return cs.length >= 7 && cs.every((c) => c.dataset.state === 'subscribed');
	}, null, { timeout: WAIT });
	ctx[role] = { context, page };
	return page;
}

const text = (page, id) => page.getByTestId(id).innerText();
async function expectText(page, testId, re) {
	await page.waitForFunction(([id, src]) => {
		const el = document.querySelector(`[data-testid="${id}"]`);
		return el && new RegExp(src).test(el.innerText);
	}, [testId, re.source], { timeout: WAIT }).catch(async () => {
		assert.fail(`${testId}: expected ${re}, shows "${await text(page, testId).catch(() => '(missing)')}"`);
	});
}
const messagesWith = (page, body) => page.getByTestId('message').filter({ hasText: body });
const status = (page, id) => page.locator(`[data-testid="appointment"][data-id="${id}"] [data-testid="appointment-status"]`);

before(async () => {
	fs.mkdirSync(OUT, { recursive: true });
	stack = await startStack();
	browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
	await open('doctor');
});

after(async () => {
	await browser?.close();
	await stack?.stop();
});

test('4. the patient comes online and the doctor sees it; last seen updates when the patient leaves', async () => {
	const doctor = ctx.doctor.page;
	await expectText(doctor, 'presence-state', /^offline$/);
	await open('patient');
	await expectText(doctor, 'presence-state', /^online$/);
	const seen1 = await doctor.getByTestId('last-seen').getAttribute('data-at');
	assert.ok(seen1, 'last seen is set once the patient came online');
	await new Promise((r) => setTimeout(r, 1100)); // a later second
	await ctx.patient.context.close();
	await expectText(doctor, 'presence-state', /^offline$/);
	await doctor.waitForFunction((before) => {
		const at = document.querySelector('[data-testid="last-seen"]').dataset.at;
		return at && Date.parse(at) > Date.parse(before);
	}, seen1, { timeout: WAIT });
	await open('patient');
	await expectText(doctor, 'presence-state', /^online$/);
});

test('1. a message sent by one appears in the other\'s conversation without reload, and the typing indicator shows', async () => {
	const { patient, doctor } = { patient: ctx.patient.page, doctor: ctx.doctor.page };
	await patient.evaluate(() => (window.__noReload = 1));
	await patient.getByTestId('message-input').pressSequentially('Hello doctor, ', { delay: 30 });
	await expectText(doctor, 'typing', /Pat Patient is typing/);
	await patient.getByTestId('message-input').pressSequentially('is tomorrow fine?');
	await patient.getByTestId('message-send').click();
	await messagesWith(doctor, 'Hello doctor, is tomorrow fine?').waitFor({ timeout: WAIT });
	await doctor.getByTestId('message-input').fill('Yes, see you then.');
	await doctor.getByTestId('message-send').click();
	await messagesWith(patient, 'Yes, see you then.').waitFor({ timeout: WAIT });
	assert.equal(await patient.evaluate(() => window.__noReload), 1, 'the patient page was not reloaded');
});

test('2. a notification created for the doctor appears as a toast', async () => {
	const { patient, doctor } = { patient: ctx.patient.page, doctor: ctx.doctor.page };
	await patient.getByTestId('notify-input').fill('Lab results uploaded');
	await patient.getByTestId('notify-input').press('Enter');
	await doctor.getByTestId('toast').filter({ hasText: 'Lab results uploaded' }).waitFor({ timeout: WAIT });
	await doctor.getByTestId('notification').filter({ hasText: 'Lab results uploaded' }).waitFor({ timeout: WAIT });
	assert.equal(await patient.getByTestId('toast').filter({ hasText: 'Lab results uploaded' }).count(), 0,
		'the patient does not get the doctor\'s notification');
});

test('3. the doctor confirms, starts and ends the appointment; the patient\'s view follows each status', async () => {
	const { patient, doctor } = { patient: ctx.patient.page, doctor: ctx.doctor.page };
	await status(patient, 10).filter({ hasText: /^pending$/ }).waitFor({ timeout: WAIT });
	for (const [action, shown] of [['confirm', 'confirmed'], ['start', 'in_progress'], ['end', 'completed']]) {
		await doctor.locator(`[data-testid="appointment"][data-id="10"] [data-testid="appointment-${action}"]`).click();
		await status(patient, 10).filter({ hasText: new RegExp(`^${shown}$`) }).waitFor({ timeout: WAIT });
	}
	await doctor.getByTestId('prescribe-input').fill('Aspirin');
	await doctor.getByTestId('prescribe-input').press('Enter');
	await patient.getByTestId('prescription').filter({ hasText: 'Aspirin' }).waitFor({ timeout: WAIT });
	await doctor.getByTestId('availability-toggle').click();
	await expectText(patient, 'availability-state', /^available$/);
	// the patient rates the completed appointment; the doctor sees it (rating-received)
	await patient.getByTestId('rate-5').click();
	await doctor.getByTestId('rating').filter({ hasText: '5★' }).waitFor({ timeout: WAIT });
	// the patient moves appointment 12 by an hour; the doctor's view follows (scheduled_at)
	const row12 = (page) => page.locator('[data-testid="appointment"][data-id="12"] [data-testid="appointment-time"]');
	const before12 = await row12(doctor).getAttribute('data-at');
	await patient.locator('[data-testid="appointment"][data-id="12"] [data-testid="appointment-reschedule"]').click();
	await doctor.waitForFunction((b) => {
		const at = document.querySelector('[data-testid="appointment"][data-id="12"] [data-testid="appointment-time"]').dataset.at;
		return Date.parse(at) - Date.parse(b) === 3600e3;
	}, before12, { timeout: WAIT });
	await patient.screenshot({ path: path.join(OUT, 'patient.png') });
	await doctor.screenshot({ path: path.join(OUT, 'doctor.png') });
});

test('5. offline: the doctor confirms and sends two messages; back online, the patient shows them once each, without reload', async () => {
	const { patient, doctor } = { patient: ctx.patient.page, doctor: ctx.doctor.page };
	await patient.evaluate(() => (window.__noReload = 5));
	await status(patient, 12).filter({ hasText: /^pending$/ }).waitFor({ timeout: WAIT });
	await ctx.patient.context.setOffline(true);
	await patient.getByTestId('connection').and(patient.locator('[data-state="offline"]')).waitFor({ timeout: WAIT });
	await doctor.locator('[data-testid="appointment"][data-id="12"] [data-testid="appointment-confirm"]').click();
	await status(doctor, 12).filter({ hasText: /^confirmed$/ }).waitFor({ timeout: WAIT });
	for (const body of ['While you were away (1)', 'While you were away (2)']) {
		await doctor.getByTestId('message-input').fill(body);
		await doctor.getByTestId('message-send').click();
		await messagesWith(doctor, body).waitFor({ timeout: WAIT });
	}
	// The doctor's page shows both messages only from their live events: soketi
	// sent them while the patient's socket was closed (the page drops it on
	// "offline"), and soketi keeps nothing for a later connection.
	await new Promise((r) => setTimeout(r, 1500));
	assert.equal(await messagesWith(patient, 'While you were away').count(), 0, 'nothing arrived while offline');
	assert.equal(await patient.getByTestId('connection').getAttribute('data-state'), 'offline', 'still offline after all three');
	await ctx.patient.context.setOffline(false);
	await patient.getByTestId('connection').and(patient.locator('[data-state="connected"]')).waitFor({ timeout: WAIT });
	const log = await patient.getByTestId('connection').getAttribute('title');
	assert.match(log, /offline( → [a-z]+)* → connected$/, `indicator went offline → connected (${log})`);
	await messagesWith(patient, 'While you were away (2)').waitFor({ timeout: WAIT });
	await status(patient, 12).filter({ hasText: /^confirmed$/ }).waitFor({ timeout: WAIT });
	await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show by now
	assert.equal(await messagesWith(patient, 'While you were away (1)').count(), 1);
	assert.equal(await messagesWith(patient, 'While you were away (2)').count(), 1);
	// what the page held before going offline and read again on catch-up shows once too
	assert.equal(await messagesWith(patient, 'Hello doctor, is tomorrow fine?').count(), 1);
	assert.equal(await messagesWith(patient, 'Yes, see you then.').count(), 1);
	assert.equal(await patient.locator('[data-testid="appointment"][data-id="12"]').count(), 1);
	assert.equal(await patient.evaluate(() => window.__noReload), 5, 'the patient page was not reloaded');
	// and rtpush-client's catch-up (rtpush.history) is what delivered the three:
	// not live (missed), not a REST reload (that would mark them "rest")
	for (const body of ['While you were away (1)', 'While you were away (2)'])
		assert.equal(await messagesWith(patient, body).getAttribute('data-via'), 'history', `"${body}" came by catch-up`);
	assert.equal(await patient.locator('[data-testid="appointment"][data-id="12"]').getAttribute('data-via'), 'history',
		'the confirmation came by catch-up');
	const caughtUp = async (name) => Number(await patient.locator(`[data-testid="channel"][data-name="${name}"]`).getAttribute('data-caught-up'));
	assert.ok(await caughtUp('private-conversation.5') >= 2, 'the conversation caught up the two messages');
	assert.ok(await caughtUp('private-user.1.appointments') >= 1, 'the appointments caught up the confirmation');
});

test('6. the patient cannot subscribe to the doctor\'s private channels (refused, shown as such)', async () => {
	const { patient, doctor } = { patient: ctx.patient.page, doctor: ctx.doctor.page };
	for (const name of ['private-user.3.notifications', 'private-doctor.3.ratings', 'private-conversation.6']) {
		await patient.getByTestId('channel-input').fill(name);
		await patient.getByTestId('channel-try').click();
		await patient.locator(`[data-testid="channel"][data-name="${name}"][data-state="refused"]`).waitFor({ timeout: WAIT });
	}
	// a notification for the doctor still reaches the doctor only
	await doctor.getByTestId('notify-input').fill('ping');
	await stack.pg.query(`INSERT INTO notifications (user_id, type, title) VALUES (3, 'info', 'For the doctor only')`);
	await doctor.getByTestId('toast').filter({ hasText: 'For the doctor only' }).waitFor({ timeout: WAIT });
	await new Promise((r) => setTimeout(r, 500));
	assert.equal(await patient.getByText('For the doctor only').count(), 0);
	await patient.screenshot({ path: path.join(OUT, 'patient-refused.png') });
});

test('the backend\'s REST endpoints keep to the signed-in user\'s own data too', async () => {
	const call = async (method, p, body) => (await fetch(`${stack.url}/api/v1${p}`, {
		method, headers: { authorization: 'Bearer tok-1', 'content-type': 'application/json' },
		body: body ? JSON.stringify(body) : undefined,
	})).status;
	assert.equal(await call('GET', '/conversations/6/messages'), 403, 'another conversation');
	assert.equal(await call('POST', '/conversations/6/messages', { body: 'x' }), 403, 'writing into it');
	assert.equal(await call('POST', '/appointments/10/confirm'), 403, 'a patient confirming');
	assert.equal(await call('POST', '/notifications', { user_id: 4, title: 'spam' }), 403, 'notifying a stranger');
	assert.equal(await call('GET', '/users/4/status'), 403, 'a stranger\'s status');
	assert.equal(await call('GET', '/appointments'), 200);
	const r = await fetch(`${stack.url}/api/v1/appointments`, { headers: { authorization: 'Bearer tok-1' } });
	assert.deepEqual([...new Set((await r.json()).data.map((a) => Number(a.patient_id)))], [1], 'only the patient\'s own');
	assert.equal((await fetch(`${stack.url}/api/v1/appointments`)).status, 401, 'no token');
});

test('the bootstrap snapshot\'s position: history after it holds what came later, nothing the snapshot shows', async () => {
	const get = async (p, token = 'tok-1') => {
		const r = await fetch(`${stack.url}/api/v1${p}`, { headers: { authorization: `Bearer ${token}` } });
		return { status: r.status, data: (await r.json()).data };
	};
	// nothing queued: every event so far is in history at or below the position
	for (let i = 0; i < 50 && Number((await stack.pg.one('SELECT count(*) AS n FROM rtpush.outbox')).n) > 0; i++)
		await new Promise((r) => setTimeout(r, 100));
	const { data: boot } = await get('/bootstrap');
	assert.match(boot.position, /^[1-9][0-9]*$/, 'a history position');
	assert.ok(boot.messages.some((m) => m.body === 'While you were away (2)'), 'the state holds the earlier messages');
	await stack.pg.query(`INSERT INTO messages (conversation_id, sender_id, body) VALUES (5, 3, 'After the snapshot')`);
	const channel = 'private-conversation.5';
	let h;
	for (let i = 0; i < 50; i++) {
		h = (await get(`/broadcasting/history?channel=${channel}&after=${boot.position}`)).data;
		if (h.events.some((e) => e.position !== null))
			break;
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.equal(h.expired, false);
	assert.deepEqual(h.events.map((e) => JSON.parse(e.data).body), ['After the snapshot'], 'only what came after the snapshot');
	assert.ok(BigInt(h.events[0].position) > BigInt(boot.position), 'at a greater position');
	// the history endpoint is the subscription's authorization: another conversation is refused
	assert.equal((await get(`/broadcasting/history?channel=private-conversation.6&after=${boot.position}`)).status, 403);
	assert.equal((await get(`/broadcasting/history?channel=${channel}&after=x`)).status, 400);
});
