// deps.mjs: the npm packages of test/node, loaded for the e2e tests.
//
// The tests live in test/e2e but their packages are installed in
// test/node/node_modules, which Node's ESM resolver does not search from
// here; every package we use ships CommonJS, so load them with a require()
// rooted at test/node.

import { createRequire } from 'node:module';
import path from 'node:path';

export const nodeDir = new URL('../../node/', import.meta.url).pathname;
export const require = createRequire(path.join(nodeDir, 'package.json'));

export const pg = require('pg');
export const PusherServer = require('pusher');
export const PusherClient = require('pusher-js');
const echoModule = require('laravel-echo');
export const Echo = echoModule.default ?? echoModule;

/** Absolute path of soketi's command-line entry point. */
export const soketiBin = path.join(path.dirname(require.resolve('@soketi/soketi/package.json')), 'bin', 'server.js');
