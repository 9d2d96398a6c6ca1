// jose_vectors.js -- writes the fixed keys and tokens of tests/unit/test_jose.c (run once by
// hand with node; the output is pasted into tests/unit/jose_vectors.h).  Node's own crypto.
'use strict';
const crypto = require('crypto');
const b64 = (b) => Buffer.from(b).toString('base64url');
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = crypto.generateKeyPairSync('ed25519');
const pub = (k, extra) => Object.assign(k.publicKey.export({ format: 'jwk' }), extra);
const jwks = { keys: [
	pub(rsa, { kid: 'r1', use: 'sig', alg: 'RS256' }),
	pub(ec, { kid: 'e1', use: 'sig' }),
	pub(rsa, { kid: 'renc', use: 'enc' }),
	pub(rsa, { kid: 'r512', alg: 'RS512' }),
	pub(ed, { kid: 'ed1' }),
	{ kty: 'oct', kid: 'h1', k: b64('secret') },
] };
const claims = { iss: 'https://op.test', aud: 'transom', sub: 'repo:acme/payments',
	iat: 1700000000, nbf: 1700000000, exp: 1700000600, repository: 'acme/payments' };
function jws(header, payload, signer) {
	const input = b64(JSON.stringify(header)) + '.' + b64(JSON.stringify(payload));
	return input + '.' + (signer ? b64(signer(Buffer.from(input))) : '');
}
const rs = (d) => crypto.sign('sha256', d, rsa.privateKey);
const es = (d) => crypto.sign('sha256', d, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
const hs = (d) => crypto.createHmac('sha256', pem).update(d).digest();
const good = jws({ alg: 'RS256', kid: 'r1', typ: 'at+jwt' }, claims, rs);
const parts = good.split('.');
const out = {
	JWKS: JSON.stringify(jwks),
	TOK_RS256: good,
	TOK_ES256: jws({ alg: 'ES256', kid: 'e1' }, claims, es),
	TOK_TAMPERED: parts[0] + '.' + b64(JSON.stringify(Object.assign({}, claims, { sub: 'x' }))) + '.' + parts[2],
	TOK_NONE: jws({ alg: 'none', kid: 'r1' }, claims, null),
	TOK_HS256_PUB: jws({ alg: 'HS256', kid: 'r1' }, claims, hs),
	TOK_UNKNOWN_KID: jws({ alg: 'RS256', kid: 'zz' }, claims, rs),
	TOK_ES_WITH_RSA_KID: jws({ alg: 'ES256', kid: 'r1' }, claims, es),
	TOK_RS_WITH_ENC_KEY: jws({ alg: 'RS256', kid: 'renc' }, claims, rs),
	TOK_EDDSA: jws({ alg: 'EdDSA', kid: 'ed1' }, claims, (d) => crypto.sign(null, d, ed.privateKey)),
};
for (const [k, v] of Object.entries(out))
	console.log(`static const char ${k}[] =\n\t` +
		(v.match(/.{1,80}/g) || ['']).map((c) => JSON.stringify(c)).join('\n\t') + ';');
