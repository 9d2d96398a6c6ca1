// op.mjs -- the OpenID Provider of the HTTP tests: oidc-provider (a certified OP) on a
// local port, with a client-credentials client that gets JWT access tokens (resource
// indicators, accessTokenFormat "jwt"), plus a few test-only routes under /test/:
//   GET  /test/forge?kind=K  a token signed with the provider's own current key (through
//                            oidc-provider's jose) but wrong in one way: expired, notyet,
//                            wrongaud, wrongiss, none (alg none), hs256 (HMAC keyed with
//                            the public key), tampered (payload changed after signing)
//   POST /test/rotate        switches to a new signing key (new kid); the JWKS then lists
//                            the new key first and the old one after it
// Usage: node op.mjs PORT_FILE   (writes the port once listening; the issuer is
// http://127.0.0.1:PORT).  Clients: ci-payments / ci-secret (claim repository
// acme/payments), ci-other / ci-secret (repository acme/unmapped).
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const AUDIENCE = 'transom-api';
const REPO = { 'ci-payments': 'acme/payments', 'ci-other': 'acme/unmapped' };
let keys = [];
let provider = null;
let issuer = '';

async function newKey(kid) {
	const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
	const jwk = await jose.exportJWK(privateKey);
	return Object.assign(jwk, { kid, alg: 'RS256', use: 'sig' });
}

function build() {
	const p = new Provider(issuer, {
		clients: Object.keys(REPO).map((id) => ({
			client_id: id, client_secret: 'ci-secret', grant_types: ['client_credentials'],
			redirect_uris: [], response_types: [], scope: 'deploy',
		})),
		jwks: { keys },
		scopes: ['deploy'],
		features: {
			devInteractions: { enabled: false },
			clientCredentials: { enabled: true },
			resourceIndicators: {
				enabled: true,
				defaultResource: () => 'https://transom.test/',
				useGrantedResource: () => true,
				getResourceServerInfo: () => ({
					scope: 'deploy', audience: AUDIENCE, accessTokenTTL: 300,
					accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
				}),
			},
		},
		extraTokenClaims: (ctx, token) => ({ repository: REPO[token.clientId] }),
		ttl: { ClientCredentials: 300 },
	});
	p.proxy = false;
	return p;
}

async function forge(kind) {
	const now = Math.floor(Date.now() / 1000);
	const key = await jose.importJWK(keys[0], 'RS256');
	const claims = { iss: issuer, aud: AUDIENCE, sub: 'ci-payments', client_id: 'ci-payments',
		repository: 'acme/payments', iat: now, nbf: now, exp: now + 300 };
	if (kind === 'expired') Object.assign(claims, { iat: now - 900, nbf: now - 900, exp: now - 600 });
	if (kind === 'notyet') Object.assign(claims, { nbf: now + 600, iat: now + 600, exp: now + 900 });
	if (kind === 'wrongaud') claims.aud = 'someone-else';
	if (kind === 'wrongiss') claims.iss = 'https://evil.example';
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	if (kind === 'none')
		return `${b64({ alg: 'none', kid: keys[0].kid })}.${b64(claims)}.`;
	if (kind === 'hs256') {
		const pub = await jose.importJWK({ kty: 'RSA', n: keys[0].n, e: keys[0].e }, 'RS256');
		const pem = await jose.exportSPKI(pub);
		const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: keys[0].kid })}.${b64(claims)}`;
		const { createHmac } = await import('node:crypto');
		return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
	}
	const jwt = await new jose.SignJWT(claims)
		.setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: keys[0].kid }).sign(key);
	if (kind === 'tampered') {
		const [h, , s] = jwt.split('.');
		return `${h}.${b64(Object.assign({}, claims, { repository: 'acme/ledger' }))}.${s}`;
	}
	return jwt;
}

async function control(req, res) {
	const url = new URL(req.url, issuer);
	try {
		if (req.method === 'GET' && url.pathname === '/test/forge') {
			res.end(await forge(url.searchParams.get('kind') || 'valid'));
		} else if (req.method === 'POST' && url.pathname === '/test/rotate') {
			keys = [await newKey(`k${keys.length + 1}`), ...keys];
			provider = build();
			res.end(keys[0].kid);
		} else {
			res.statusCode = 404;
			res.end('no such test route');
		}
	} catch (e) {
		res.statusCode = 500;
		res.end(String(e));
	}
}

const server = http.createServer((req, res) => {
	if (req.url.startsWith('/test/')) return control(req, res);
	return provider.callback()(req, res);
});
server.listen(0, '127.0.0.1', async () => {
	issuer = `http://127.0.0.1:${server.address().port}`;
	keys = [await newKey('k1')];
	provider = build();
	writeFileSync(process.argv[2], `${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
