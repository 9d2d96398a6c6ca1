// op.mjs -- the OpenID Provider of the HTTP and browser tests: oidc-provider (a certified
// OP) on a local port, with
//   - client-credentials clients that get JWT access tokens (resource indicators,
//     accessTokenFormat "jwt"): ci-payments / ci-secret (claim repository acme/payments),
//     ci-other / ci-secret (repository acme/unmapped);
//   - a confidential web client for the web app's sign-in, transom-web / web-secret
//     (Authorization Code, PKCE S256 required, back-channel logout), whose redirect URI is
//     set once transomd's port is known (POST /test/web-client);
//   - people with groups (USERS below); the development login form takes any password,
//     and consent is given by itself (first-party client);
// plus test-only routes under /test/:
//   GET  /test/forge?kind=K  a token signed with the provider's own current key (through
//                            oidc-provider's jose) but wrong in one way: expired, notyet,
//                            wrongaud, wrongiss, none (alg none), hs256 (HMAC keyed with
//                            the public key), tampered (payload changed after signing);
//                            or valid: valid (five minutes), short (three seconds)
//   POST /test/rotate        switches to a new signing key (new kid); the JWKS then lists
//                            the new key first and the old one after it
//   POST /test/web-client    body: transomd's base URL: the web client's redirect_uri is
//                            BASE/oidc/callback, its back-channel logout URI
//                            BASE/oidc/backchannel-logout
//   POST /test/groups?user=U&groups=a,b   sets a person's groups (none: empty)
//   POST /test/id-token?kind=K  the next ID token the token endpoint hands out is spoiled:
//                            wrongnonce, wrongaud, wrongiss, tampered, expired (re-signed
//                            with the provider's key, except tampered)
//   GET  /test/logout-token?kind=K  a back-channel logout token for the sid of the last ID
//                            token issued: valid, nonce (carries one), noevent, wrongaud
// Usage: node op.mjs PORT_FILE   (writes the port once listening; the issuer is
// http://127.0.0.1:PORT).
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const AUDIENCE = 'transom-api';
const REPO = { 'ci-payments': 'acme/payments', 'ci-other': 'acme/unmapped' };
const USERS = {
	alice: { name: 'Alice Martin', email: 'alice@example.org', groups: ['transom-cab'] },
	bob: { name: 'Bob Stone', email: 'bob@example.org', groups: [] },
	carol: { name: 'Carol Admin', email: 'carol@example.org', groups: ['transom-admins'] },
	cnguyen: { name: 'Chi Nguyen', email: 'chi.nguyen@example.com', groups: ['transom-cab'] },
};
let webBase = '';
let spoil = '';      // the next ID token's defect (POST /test/id-token)
let lastIdToken = null;
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
		})).concat(webBase ? [{
			client_id: 'transom-web', client_secret: 'web-secret',
			grant_types: ['authorization_code'], response_types: ['code'],
			redirect_uris: [`${webBase}/oidc/callback`],
			post_logout_redirect_uris: [`${webBase}/app/signin`],
			backchannel_logout_uri: `${webBase}/oidc/backchannel-logout`,
			backchannel_logout_session_required: true,
			token_endpoint_auth_method: 'client_secret_basic',
		}] : []),
		jwks: { keys },
		scopes: ['openid', 'email', 'profile', 'groups', 'deploy'],
		claims: {
			openid: ['sub'], email: ['email'], profile: ['name', 'preferred_username'],
			groups: ['groups'],
		},
		conformIdTokenClaims: false,
		pkce: { required: () => true },
		findAccount: (ctx, id) => (USERS[id] ? {
			accountId: id,
			claims: () => ({ sub: id, preferred_username: id, name: USERS[id].name,
				email: USERS[id].email, groups: USERS[id].groups }),
		} : undefined),
		// a first-party client: consent is given by itself
		loadExistingGrant: async (ctx) => {
			const id = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
			if (id) return ctx.oidc.provider.Grant.find(id);
			const grant = new ctx.oidc.provider.Grant({
				clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
			grant.addOIDCScope('openid email profile groups');
			await grant.save();
			return grant;
		},
		features: {
			devInteractions: { enabled: true },
			backchannelLogout: { enabled: true },
			rpInitiatedLogout: { enabled: true },
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
	// the token endpoint's ID token, spoiled once when a test asked for it
	p.use(async (ctx, next) => {
		await next();
		if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
		lastIdToken = ctx.body.id_token;
		if (spoil) {
			ctx.body = Object.assign({}, ctx.body, { id_token: await spoiled(ctx.body.id_token, spoil) });
			spoil = '';
		}
	});
	return p;
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

async function signed(claims, typ) {
	const key = await jose.importJWK(keys[0], 'RS256');
	const h = { alg: 'RS256', kid: keys[0].kid };
	if (typ) h.typ = typ;
	return new jose.SignJWT(claims).setProtectedHeader(h).sign(key);
}

async function spoiled(idToken, kind) {
	const c = payload(idToken);
	if (kind === 'tampered') {
		const [h, , s] = idToken.split('.');
		return `${h}.${b64(Object.assign({}, c, { preferred_username: 'carol' }))}.${s}`;
	}
	if (kind === 'wrongnonce') c.nonce = 'not-the-nonce-of-this-sign-in';
	if (kind === 'wrongaud') c.aud = 'someone-else';
	if (kind === 'wrongiss') c.iss = 'https://evil.example';
	if (kind === 'expired') Object.assign(c, { iat: c.iat - 3600, exp: c.iat - 1800 });
	return signed(c);
}

async function logoutToken(kind) {
	const last = lastIdToken ? payload(lastIdToken) : {};
	const now = Math.floor(Date.now() / 1000);
	const c = { iss: issuer, aud: 'transom-web', iat: now, exp: now + 120, jti: `j${now}${Math.random()}`,
		sub: last.sub, sid: last.sid,
		events: { 'http://schemas.openid.net/event/backchannel-logout': {} } };
	if (kind === 'nonce') c.nonce = 'n';
	if (kind === 'noevent') delete c.events;
	if (kind === 'wrongaud') c.aud = 'someone-else';
	return signed(c, 'logout+jwt');
}

function body(req) {
	return new Promise((resolve) => {
		let b = '';
		req.on('data', (d) => { b += d; });
		req.on('end', () => resolve(b));
	});
}

async function forge(kind) {
	const now = Math.floor(Date.now() / 1000);
	const key = await jose.importJWK(keys[0], 'RS256');
	const claims = { iss: issuer, aud: AUDIENCE, sub: 'ci-payments', client_id: 'ci-payments',
		repository: 'acme/payments', iat: now, nbf: now, exp: now + 300 };
	if (kind === 'expired') Object.assign(claims, { iat: now - 900, nbf: now - 900, exp: now - 600 });
	if (kind === 'short') claims.exp = now + 3; /* valid, for three seconds */
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
		} else if (req.method === 'POST' && url.pathname === '/test/web-client') {
			webBase = (await body(req)).trim().replace(/\/+$/, '');
			provider = build();
			res.end('ok');
		} else if (req.method === 'POST' && url.pathname === '/test/groups') {
			const u = USERS[url.searchParams.get('user')];
			if (!u) throw new Error('no such user');
			const g = url.searchParams.get('groups') || '';
			u.groups = g ? g.split(',') : [];
			res.end('ok');
		} else if (req.method === 'POST' && url.pathname === '/test/id-token') {
			spoil = url.searchParams.get('kind') || '';
			res.end('ok');
		} else if (req.method === 'GET' && url.pathname === '/test/logout-token') {
			res.end(await logoutToken(url.searchParams.get('kind') || 'valid'));
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
