// envelope.mjs: the e2e tests' own view of Pusher's end-to-end encryption,
// computed without rtpush or the pusher library: a master key, a channel's
// shared secret (base64 SHA256(channel || master key)) and the opening of a
// {"nonce","ciphertext"} envelope with tweetnacl's secretbox.

import crypto from 'node:crypto';
import { require } from './deps.mjs';

const nacl = require('tweetnacl');

/** A fresh base64 32-byte master key. */
export const newKey = () => crypto.randomBytes(32).toString('base64');

/** base64(SHA256(channel || master)). */
export function sharedSecret(channel, masterB64) {
	return crypto.createHash('sha256')
		.update(Buffer.concat([Buffer.from(channel, 'utf8'), Buffer.from(masterB64, 'base64')]))
		.digest('base64');
}

/** Opens a {"nonce","ciphertext"} envelope (object or JSON text); null when it does not authenticate. */
export function open(envelope, secretB64) {
	const env = typeof envelope === 'string' ? JSON.parse(envelope) : envelope;
	const bytes = nacl.secretbox.open(Buffer.from(env.ciphertext, 'base64'),
		Buffer.from(env.nonce, 'base64'), Buffer.from(secretB64, 'base64'));
	return bytes === null ? null : Buffer.from(bytes).toString('utf8');
}
