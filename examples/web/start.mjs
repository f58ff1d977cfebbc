// examples/web/start.mjs: starts the web example (stack.mjs) and prints its
// URL; Ctrl-C stops everything.  Run it through examples/web/run, which
// installs dependencies, rtpush and builds the page first.
import { startStack } from './stack.mjs';

const s = await startStack({ port: process.env.PORT ? Number(process.env.PORT) : undefined });
console.log(`rtpush web example: PostgreSQL ${s.pg.host}:${s.pg.port} (db ${s.pg.dbname}), soketi ${s.soketi.url}`);
console.log(`open ${s.url}/?as=patient and ${s.url}/?as=doctor in two windows (Ctrl-C stops everything)`);
for (const sig of ['SIGINT', 'SIGTERM'])
	process.once(sig, () => s.stop().then(() => process.exit(0)));
