// examples/web/stack.mjs: everything the web example runs, started
// together: a throwaway PostgreSQL with rtpush preloaded (test/e2e/lib/pg.mjs),
// a local soketi with client events on and presence webhooks pointed at the
// backend (test/e2e/lib/soketi.mjs), the reference schema plus schema.sql,
// and the app backend (server.mjs) serving dist/.  Used by start.mjs and by
// the browser tests (test/web); stop() ends what it started.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../../test/e2e/lib/pg.mjs';
import { startSoketi } from '../../test/e2e/lib/soketi.mjs';
import { freePort } from '../../test/e2e/lib/cleanup.mjs';
import { createWebServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function startStack({ port } = {}) {
	const webPort = port ?? await freePort();
	const webhookUrl = `http://127.0.0.1:${webPort}/api/v1/broadcasting/webhook`;
	const stops = [];
	const stop = async () => {
		for (const f of stops.reverse())
			await f().catch(() => {});
	};
	try {
		const [pg, soketi] = await Promise.all([
			startPostgres({ dbname: 'telemedicine' }),
			startSoketi({
				appId: 'rtpush-web', key: 'web-key', secret: `web-secret-${process.pid}`, clientMessages: true,
				webhooks: [{ url: webhookUrl, event_types: ['member_added', 'member_removed'] }],
			}),
		]);
		stops.push(() => pg.destroy(), () => soketi.destroy());
		await pg.set(soketi.rtpushSettings());
		await pg.query(fs.readFileSync(path.join(here, '../telemedicine/schema.sql'), 'utf8'));
		await pg.query(fs.readFileSync(path.join(here, 'schema.sql'), 'utf8'));
		const web = await createWebServer({
			pool: { query: (...a) => pg.query(...a), connect: () => pg.connect() }, port: webPort,
		});
		stops.push(() => web.close());
		return { pg, soketi, web, url: web.url, stop };
	} catch (e) {
		await stop();
		throw e;
	}
}
