// The sign-in pages of provider.mjs, walked with plain fetch as a browser would
// (manual redirects, a cookie jar per browser), and its non-interactive paths.
//
//   node --test tests/idp/        (or, in tests/idp: npm test)
//
// Starts provider.mjs as a child process on an ephemeral loopback port, with the
// back-channel logout URI of `e2e-browser` pointing at a listener of this process
// that records every POST it receives.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MFA_ACR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
const TENANT = '5f1d3c7a-9b2e-4c61-8a0d-2e7b9c4f6a13';
const RESOURCE = 'https://api.partnercenter.microsoft.com';
// Nothing listens there: the redirect to it is read, never followed.
const REDIRECT_URI = 'http://127.0.0.1:9/auth/callback';
const OTHER_REDIRECT_URI = 'http://127.0.0.1:9/other/callback';
const POST_LOGOUT_URI = 'http://127.0.0.1:9/signed-out';
const BROWSER = { id: 'e2e-browser', secret: 'e2e-browser-secret' };
const WEB = { id: 'e2e-web', secret: 'e2e-web-secret', redirect: 'http://127.0.0.1/callback' };
const CLAIMS_AMR_MFA = JSON.stringify({ id_token: { amr: { essential: true, values: ['mfa'] } } });
// What mfa-guard's browser step-up sends for a level with an authentication context.
const CLAIMS_ACRS_C2 = JSON.stringify({ id_token: { acrs: { essential: true, value: 'c2' } } });

let idp;
let issuer;
let discovery;
let jwks;
/** What the provider wrote on stderr so far. */
let idpStderr = '';

/**
 * The relying party's back-channel logout endpoint: every POST it receives is kept
 * ({ method, path, contentType, body }) and answered with `backchannelStatus`.
 */
const backchannelPosts = [];
let backchannelStatus = 200;
let backchannel;
let backchannelUri;

before(async () => {
  backchannel = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      backchannelPosts.push({
        method: req.method,
        path: req.url,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.statusCode = backchannelStatus;
      res.setHeader('cache-control', 'no-store');
      res.end();
    });
  });
  await new Promise((resolve) => backchannel.listen(0, '127.0.0.1', resolve));
  backchannelUri = `http://127.0.0.1:${backchannel.address().port}/auth/backchannel-logout`;
  idp = spawn(process.execPath, ['provider.mjs', '0'], {
    cwd: HERE,
    env: {
      ...process.env,
      IDP_REDIRECT_URIS: `${REDIRECT_URI}, ${OTHER_REDIRECT_URI}`,
      IDP_POST_LOGOUT_URIS: POST_LOGOUT_URI,
      IDP_BACKCHANNEL_LOGOUT_URI: backchannelUri,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  idp.stderr.on('data', (chunk) => { stderr += chunk; idpStderr += chunk; });
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider not ready in 15 s; stderr:\n${stderr}`)), 15_000);
    idp.once('exit', (code) => reject(new Error(`provider exited (${code}); stderr:\n${stderr}`)));
    createInterface({ input: idp.stdout }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
  });
  ({ issuer } = JSON.parse(line));
  discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  jwks = await (await fetch(discovery.jwks_uri)).json();
});

after(() => {
  // Closing its stdin ends it; kill in case it does not.
  idp?.stdin.end();
  idp?.kill();
  backchannel?.close();
});

// ---------------------------------------------------------------------------------
// A browser: cookies (with their paths), manual redirects.

class Browser {
  cookies = new Map(); // `${path} ${name}` -> { name, value, path }

  store(res) {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let cookiePath = '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        if (k.toLowerCase() === 'path') cookiePath = v;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${cookiePath} ${name}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path: cookiePath });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  async request(url, { method = 'GET', form } = {}) {
    const headers = { cookie: this.header(url) };
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.store(res);
    return res;
  }

  // Follows redirects (GET) until a page or a redirect to one of the test's callback
  // URIs, which is returned unfollowed.
  async go(url, init) {
    let res = await this.request(url, init);
    for (let hops = 0; hops < 15; hops += 1) {
      const location = res.headers.get('location');
      if (!(res.status >= 300 && res.status < 400 && location)) {
        return { kind: 'page', status: res.status, url, html: await res.text() };
      }
      await res.arrayBuffer();
      const next = new URL(location, url).href;
      if ([REDIRECT_URI, OTHER_REDIRECT_URI, POST_LOGOUT_URI, WEB.redirect].some((u) => next.startsWith(u))) {
        return { kind: 'callback', url: new URL(next) };
      }
      url = next;
      res = await this.request(url);
    }
    throw new Error(`more than 15 redirects, last ${url}`);
  }
}

function step(page) {
  assert.equal(page.kind, 'page', `expected a page, got a redirect to ${page.url}`);
  return /<body data-step="([^"]+)"/.exec(page.html)?.[1];
}

function formAction(page, id) {
  const match = new RegExp(`<form method="post" action="([^"]+)" id="${id}"`).exec(page.html);
  assert.ok(match, `no form #${id} in:\n${page.html}`);
  return new URL(match[1].replace(/&amp;/g, '&'), page.url).href;
}

function assertPasswordPage(page) {
  assert.equal(step(page), 'password', page.html);
  assert.equal(page.status, 200);
  assert.match(page.html, /<h1>Sign in<\/h1>/);
  assert.match(page.html, /<input type="radio" name="account" id="account-admin-agent" value="admin-agent"/);
  assert.match(page.html, /<label for="account-admin-agent">/);
  assert.match(page.html, /<label for="password">Password<\/label>/);
  assert.match(page.html, /<input type="password" name="password" id="password"/);
  assert.match(page.html, /<button type="submit" id="sign-in">/);
}

function assertMfaPage(page) {
  assert.equal(step(page), 'mfa', page.html);
  assert.match(page.html, /<h1>Verify your identity<\/h1>/);
  assert.match(page.html, /<label for="otp">/);
  assert.match(page.html, /<input type="text" name="otp" id="otp"/);
  assert.match(page.html, /<button type="submit" name="method" value="otp" id="verify">/);
  assert.match(page.html, /<button type="submit" name="method" value="security-key" id="security-key">/);
}

const submitPassword = (browser, page, account, password = 'password') => browser.go(
  formAction(page, 'login-form'),
  { method: 'POST', form: { account, password } },
);

const submitOtp = (browser, page, otp = '123456') => browser.go(
  formAction(page, 'mfa-form'),
  { method: 'POST', form: { otp } },
);

// What a browser posts for the security-key button: the form's fields and the button's.
const submitSecurityKey = (browser, page) => browser.go(
  formAction(page, 'mfa-form'),
  { method: 'POST', form: { otp: '', method: 'security-key' } },
);

// ---------------------------------------------------------------------------------
// The relying party side: the authorization request, the code exchange, the ID token.

function b64url(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

function authorizationRequest(extra = {}, redirectUri = REDIRECT_URI) {
  const verifier = b64url(crypto.randomBytes(32));
  const request = {
    verifier,
    state: b64url(crypto.randomBytes(12)),
    nonce: b64url(crypto.randomBytes(12)),
    redirectUri,
  };
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    client_id: BROWSER.id,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid',
    state: request.state,
    nonce: request.nonce,
    code_challenge: crypto.hash('sha256', verifier, 'base64url'),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  request.url = url.href;
  return request;
}

function codeOf(result, request) {
  assert.equal(result.kind, 'callback', result.kind === 'page' ? `a page instead of the callback:\n${result.html}` : '');
  const q = result.url.searchParams;
  assert.equal(q.get('error'), null, `${q.get('error')}: ${q.get('error_description')}`);
  assert.equal(q.get('state'), request.state);
  assert.equal(q.get('iss'), issuer);
  assert.ok(q.get('code'));
  return q.get('code');
}

async function tokenRequest(client, form) {
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/** The payload of a JWT signed by the provider (RS256, a key of its JWKS). */
function verifiedPayload(jwt) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  assert.equal(header.alg, 'RS256');
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `no key ${header.kid} in the JWKS`);
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  assert.ok(ok, 'bad signature');
  return JSON.parse(Buffer.from(p, 'base64url'));
}

async function idTokenFor(result, request) {
  const code = codeOf(result, request);
  const tokens = await tokenRequest(BROWSER, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: request.redirectUri,
    code_verifier: request.verifier,
  });
  assert.ok(tokens.id_token, JSON.stringify(tokens));
  const claims = verifiedPayload(tokens.id_token);
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, BROWSER.id);
  assert.equal(claims.nonce, request.nonce);
  assert.equal(typeof claims.auth_time, 'number');
  return { claims, tokens };
}

function assertAccountClaims(claims, sub, upn, roles) {
  assert.equal(claims.sub, sub);
  assert.match(claims.oid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(claims.tid, TENANT);
  assert.equal(claims.upn, upn);
  assert.deepEqual(claims.roles, roles);
}

/** A whole interactive sign-in; `mfa`: whether the MFA page must come. */
async function signIn(browser, account, extra, { mfa, expectPasswordPage = true } = {}) {
  const request = authorizationRequest(extra);
  let page = await browser.go(request.url);
  if (expectPasswordPage) {
    assertPasswordPage(page);
    page = await submitPassword(browser, page, account);
  }
  if (mfa) {
    assertMfaPage(page);
    page = await submitOtp(browser, page);
  }
  return idTokenFor(page, request);
}

// ---------------------------------------------------------------------------------

test('discovery: claims parameter, the MFA acr, end_session, PKCE S256', () => {
  assert.equal(discovery.claims_parameter_supported, true);
  assert.ok(discovery.acr_values_supported.includes(MFA_ACR));
  assert.ok(discovery.end_session_endpoint);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  for (const claim of ['sub', 'oid', 'tid', 'upn', 'roles', 'amr', 'acr', 'auth_time']) {
    assert.ok(discovery.claims_supported.includes(claim), claim);
  }
});

test('(a) password only: amr pwd, the account claims in the ID token, nonce echoed', async () => {
  const { claims, tokens } = await signIn(new Browser(), 'admin-agent', {}, { mfa: false });
  assertAccountClaims(claims, 'admin-agent', 'admin.agent@contoso.example', ['AdminAgent']);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(claims.acr, '1');
  // No resource asked: an opaque access token, good at userinfo.
  const res = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const userinfo = await res.json();
  assert.equal(userinfo.upn, 'admin.agent@contoso.example');
});

test('e2e-browser: PKCE is required, other registered redirect URIs work', async () => {
  const request = authorizationRequest({ code_challenge: undefined, code_challenge_method: undefined });
  const result = await new Browser().go(request.url);
  assert.equal(result.kind, 'callback');
  assert.equal(result.url.searchParams.get('error'), 'invalid_request');
  assert.match(result.url.searchParams.get('error_description'), /PKCE/);

  const browser = new Browser();
  const other = authorizationRequest({}, OTHER_REDIRECT_URI);
  const page = await browser.go(other.url);
  assertPasswordPage(page);
  const { claims } = await idTokenFor(await submitPassword(browser, page, 'sales-agent'), other);
  assertAccountClaims(claims, 'sales-agent', 'sales.agent@contoso.example', ['SalesAgent']);

  // A resource asked for: a JWT access token for it, with the login's amr.
  const withResource = authorizationRequest({ scope: 'openid user_impersonation', resource: RESOURCE });
  const { tokens } = await idTokenFor(await browser.go(withResource.url), withResource);
  const at = verifiedPayload(tokens.access_token);
  assert.equal(at.aud, RESOURCE);
  assert.deepEqual(at.amr, ['pwd']);
  assert.equal(at.upn, 'sales.agent@contoso.example');
});

test('(b) acr_values multi-factor: the MFA page after the password page, amr mfa', async () => {
  const browser = new Browser();
  const request = authorizationRequest({ acr_values: MFA_ACR });
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  page = await submitPassword(browser, page, 'admin-agent');
  assertMfaPage(page);
  assert.match(page.html, /asks for multi-factor authentication/);
  // A wrong code: the page again, with an error.
  const wrong = await submitOtp(browser, page, '000000');
  assertMfaPage(wrong);
  assert.equal(wrong.status, 401);
  assert.match(wrong.html, /<p id="error" role="alert">Wrong code/);
  const { claims } = await idTokenFor(await submitOtp(browser, wrong), request);
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  assert.equal(claims.acr, MFA_ACR);
  assert.equal(typeof claims.auth_time, 'number');
  assertAccountClaims(claims, 'admin-agent', 'admin.agent@contoso.example', ['AdminAgent']);
});

test('(c) step-up: prompt=login + claims amr mfa shows the password step again, then MFA', async () => {
  const browser = new Browser();
  const first = await signIn(browser, 'admin-agent', {}, { mfa: false });
  assert.deepEqual(first.claims.amr, ['pwd']);

  // The session exists: a plain request signs in without a page.
  const sso = await signIn(browser, 'admin-agent', {}, { expectPasswordPage: false });
  assert.deepEqual(sso.claims.amr, ['pwd']);
  assert.equal(sso.claims.auth_time, first.claims.auth_time);

  const request = authorizationRequest({ prompt: 'login', claims: CLAIMS_AMR_MFA });
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  assert.match(page.html, /asks you to sign in again/);
  // The session's account is preselected.
  assert.match(page.html, /value="admin-agent" checked>/);
  page = await submitPassword(browser, page, 'admin-agent');
  assertMfaPage(page);
  const { claims } = await idTokenFor(await submitOtp(browser, page), request);
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  assert.equal(claims.acr, MFA_ACR);
  assert.ok(claims.auth_time >= first.claims.auth_time);

  // max_age=0 alone: the password step again too (no MFA asked: amr pwd).
  const again = await signIn(browser, 'admin-agent', { max_age: '0' }, { mfa: false });
  assert.deepEqual(again.claims.amr, ['pwd']);
  assert.ok(again.claims.auth_time >= claims.auth_time);
});

test('a login_hint holding a user name (a relying party\'s step-up) is a human sign-in: the pages, not the test shortcut', async () => {
  const browser = new Browser();
  const request = authorizationRequest({
    prompt: 'login',
    claims: CLAIMS_AMR_MFA,
    login_hint: 'admin.agent@contoso.example',
  });
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  page = await submitPassword(browser, page, 'admin-agent');
  assertMfaPage(page);
  const { claims } = await idTokenFor(await submitOtp(browser, page), request);
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
});

test('(d) incompatible-mfa with MFA asked: the MFA page, but amr pwd otp', async () => {
  const { claims } = await signIn(new Browser(), 'incompatible-mfa', { acr_values: MFA_ACR }, { mfa: true });
  assertAccountClaims(claims, 'incompatible-mfa', 'incompatible.mfa@contoso.example', ['AdminAgent']);
  assert.deepEqual(claims.amr, ['pwd', 'otp']);
  assert.equal(claims.acr, '1');
});

test('(e) mfa-at-sign-in: the MFA page without being asked, amr mfa', async () => {
  const browser = new Browser();
  const request = authorizationRequest();
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  page = await submitPassword(browser, page, 'mfa-at-sign-in');
  assertMfaPage(page);
  assert.match(page.html, /at every sign-in/);
  const { claims } = await idTokenFor(await submitOtp(browser, page), request);
  assertAccountClaims(claims, 'mfa-at-sign-in', 'mfa.always@contoso.example', ['AdminAgent']);
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  assert.equal(claims.acr, MFA_ACR);
});

test('(f) a wrong password: the page again with an error, no code', async () => {
  const browser = new Browser();
  const request = authorizationRequest();
  const page = await browser.go(request.url);
  assertPasswordPage(page);
  const wrong = await submitPassword(browser, page, 'admin-agent', 'hunter2');
  assert.equal(wrong.kind, 'page');
  assert.equal(wrong.status, 401);
  assert.equal(step(wrong), 'password');
  assert.match(wrong.html, /<p id="error" role="alert">Wrong password/);
  assert.doesNotMatch(wrong.html, /code=/);
  // No account chosen: an error too.
  const none = await browser.go(formAction(page, 'login-form'), { method: 'POST', form: { password: 'password' } });
  assert.equal(none.status, 401);
  assert.match(none.html, /Choose an account/);
  // And the right one still works.
  const { claims } = await idTokenFor(await submitPassword(browser, wrong, 'admin-agent'), request);
  assert.deepEqual(claims.amr, ['pwd']);
});

test('(g) non-interactive: login_hint + test_amr, refresh token, the custom grant', async () => {
  for (const [account, amr] of [['admin-agent', 'pwd mfa'], ['incompatible-mfa', 'pwd'], ['mfa-at-sign-in', 'pwd mfa']]) {
    const verifier = b64url(crypto.randomBytes(32));
    const url = new URL(discovery.authorization_endpoint);
    for (const [k, v] of Object.entries({
      client_id: WEB.id,
      response_type: 'code',
      redirect_uri: WEB.redirect,
      scope: 'openid offline_access user_impersonation',
      resource: RESOURCE,
      code_challenge: crypto.hash('sha256', verifier, 'base64url'),
      code_challenge_method: 'S256',
      state: 'xyz',
      prompt: 'consent',
      login_hint: account,
      test_amr: amr,
    })) url.searchParams.set(k, v);
    const result = await new Browser().go(url.href);
    assert.equal(result.kind, 'callback', result.html);
    const code = result.url.searchParams.get('code');
    assert.ok(code, result.url.href);
    const tokens = await tokenRequest(WEB, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: WEB.redirect,
      code_verifier: verifier,
      resource: RESOURCE,
    });
    const at = verifiedPayload(tokens.access_token);
    assert.equal(at.aud, RESOURCE);
    assert.deepEqual(at.amr, amr.split(' '));
    assert.equal(at.tid, TENANT);
    assert.ok(tokens.refresh_token);
  }

  const custom = await tokenRequest(WEB, {
    grant_type: 'urn:mfa-guard:params:oauth:grant-type:test-login',
    account: 'incompatible-mfa',
    amr: 'pwd otp',
    resource: RESOURCE,
  });
  const at = verifiedPayload(custom.access_token);
  assert.deepEqual(at.amr, ['pwd', 'otp']);
  assert.equal(at.upn, 'incompatible.mfa@contoso.example');
});

test('sign-out: the confirmation page submits itself, then the post-logout URI', async () => {
  const browser = new Browser();
  const { tokens } = await signIn(browser, 'admin-agent', {}, { mfa: false });
  const url = new URL(discovery.end_session_endpoint);
  url.searchParams.set('id_token_hint', tokens.id_token);
  url.searchParams.set('post_logout_redirect_uri', POST_LOGOUT_URI);
  url.searchParams.set('state', 'bye');
  const page = await browser.go(url.href);
  assert.equal(step(page), 'logout');
  assert.match(page.html, /document\.getElementById\('op\.logoutForm'\)\.submit\(\)/);
  assert.match(page.html, /<button type="submit" id="sign-out">/);
  // What the script submits: the form's own fields.
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(page.html)[1];
  const form = Object.fromEntries([...page.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
  assert.equal(form.logout, 'yes');
  const done = await browser.go(new URL(action, page.url).href, { method: 'POST', form });
  assert.equal(done.kind, 'callback');
  assert.equal(done.url.href, `${POST_LOGOUT_URI}?state=bye`);

  // Signed out: the next authorization shows the password page.
  assertPasswordPage(await browser.go(authorizationRequest().url));
});

/** The header and payload of a JWT signed by the provider (see verifiedPayload). */
function verifiedHeader(jwt) {
  verifiedPayload(jwt);
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));
}

/** Ends the provider session of `browser` at end_session_endpoint, as its page does. */
async function endSession(browser, idToken) {
  const url = new URL(discovery.end_session_endpoint);
  url.searchParams.set('id_token_hint', idToken);
  url.searchParams.set('post_logout_redirect_uri', POST_LOGOUT_URI);
  const page = await browser.go(url.href);
  assert.equal(step(page), 'logout');
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(page.html)[1];
  const form = Object.fromEntries([...page.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
  return browser.go(new URL(action, page.url).href, { method: 'POST', form });
}

/** The POSTs the back-channel listener got whose logout token names `sid`. */
function logoutPostsFor(sid) {
  return backchannelPosts.filter((p) => {
    const token = new URLSearchParams(p.body).get('logout_token');
    return token && JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sid === sid;
  });
}

test('back-channel logout: the ID token carries sid, and ending the session posts a logout token naming it', async () => {
  assert.equal(discovery.backchannel_logout_supported, true);
  assert.equal(discovery.backchannel_logout_session_supported, true);
  const browser = new Browser();
  const { claims, tokens } = await signIn(browser, 'admin-agent', {}, { mfa: false });
  assert.equal(typeof claims.sid, 'string', `no sid in the ID token: ${JSON.stringify(claims)}`);
  assert.ok(claims.sid.length > 0);
  assert.deepEqual(logoutPostsFor(claims.sid), [], 'nothing is posted before the session ends');

  const done = await endSession(browser, tokens.id_token);
  assert.equal(done.kind, 'callback');
  // Posted before the browser was sent on: already here, once.
  const posts = logoutPostsFor(claims.sid);
  assert.equal(posts.length, 1, JSON.stringify(backchannelPosts));
  const [post] = posts;
  assert.equal(post.method, 'POST');
  assert.equal(post.path, '/auth/backchannel-logout');
  assert.match(post.contentType, /^application\/x-www-form-urlencoded/);
  const form = new URLSearchParams(post.body);
  assert.deepEqual([...form.keys()], ['logout_token']);
  const token = form.get('logout_token');
  const header = verifiedHeader(token);
  assert.equal(header.typ, 'logout+jwt');
  const logout = verifiedPayload(token);
  assert.equal(logout.iss, issuer);
  assert.equal(logout.aud, BROWSER.id);
  assert.equal(logout.sid, claims.sid);
  assert.equal(logout.sub, 'admin-agent');
  assert.deepEqual(logout.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
  assert.equal(typeof logout.jti, 'string');
  assert.equal(typeof logout.iat, 'number');
  assert.equal(logout.nonce, undefined);
  assert.match(idpStderr, new RegExp(`backchannel-logout delivered e2e-browser ${backchannelUri} sid=${claims.sid}\n`));

  // Signed out: the next authorization shows the password page.
  assertPasswordPage(await browser.go(authorizationRequest().url));
});

test('back-channel logout: a relying party that refuses the token does not stop the sign-out; stderr says so', async () => {
  const browser = new Browser();
  const { claims, tokens } = await signIn(browser, 'sales-agent', {}, { mfa: false });
  backchannelStatus = 400;
  let done;
  try {
    done = await endSession(browser, tokens.id_token);
  } finally {
    backchannelStatus = 200;
  }
  assert.equal(done.kind, 'callback');
  assert.equal(logoutPostsFor(claims.sid).length, 1);
  assert.match(idpStderr, new RegExp(`backchannel-logout failed e2e-browser ${backchannelUri} sid=${claims.sid}: expected 200 OK`));
  assertPasswordPage(await browser.go(authorizationRequest().url));
});

test('bad requests to the interaction routes get an error page, not a crash', async () => {
  const res = await fetch(`${issuer}/interaction/nope/mfa`, { method: 'POST', body: 'otp=123456', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /expired or was already used/);
  const unknown = await fetch(`${issuer}/interaction/nope/other`);
  assert.equal(unknown.status, 404);
  // The provider still answers.
  assert.equal((await fetch(`${issuer}/.well-known/openid-configuration`)).status, 200);
});

test('max_age=0 and an essential MFA acr on a first sign-in end (no login loop)', async () => {
  const first = await signIn(new Browser(), 'admin-agent', { max_age: '0' }, { mfa: false });
  assert.deepEqual(first.claims.amr, ['pwd']);
  const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [MFA_ACR] } } });
  const incompatible = await signIn(new Browser(), 'incompatible-mfa', { claims }, { mfa: true });
  assert.deepEqual(incompatible.claims.amr, ['pwd', 'otp']);
  assert.equal(incompatible.claims.acr, '1');
});

test('another account at a re-login: the old session ends (a self-submitting page), the new one signs in', async () => {
  const browser = new Browser();
  await signIn(browser, 'admin-agent', {}, { mfa: false });
  const request = authorizationRequest({ prompt: 'login' });
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  page = await submitPassword(browser, page, 'sales-agent');
  // oidc-provider's own page: a form that a browser's script submits at once.
  assert.match(page.html, /document\.forms\[0\]\.submit\(\)/);
  const action = /<form method="post" action="([^"]+)">/.exec(page.html)[1].replace(/&amp;/g, '&');
  const form = Object.fromEntries([...page.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
  const { claims } = await idTokenFor(await browser.go(new URL(action, page.url).href, { method: 'POST', form }), request);
  assertAccountClaims(claims, 'sales-agent', 'sales.agent@contoso.example', ['SalesAgent']);
  assert.deepEqual(claims.amr, ['pwd']);
});

test('a security key at a step-up asking for an authentication context: amr hwk, acrs holds it', async () => {
  const browser = new Browser();
  const first = await signIn(browser, 'admin-agent', { acr_values: MFA_ACR }, { mfa: true });
  assert.deepEqual(first.claims.amr, ['pwd', 'mfa']);
  assert.equal(first.claims.acrs, undefined);

  // mfa-guard's step-up for a level with acrs c2: no prompt=login, the user's name as
  // the hint. The session's login used no key: the password page, then the MFA page.
  const request = authorizationRequest({ claims: CLAIMS_ACRS_C2, login_hint: 'admin.agent@contoso.example' });
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  page = await submitPassword(browser, page, 'admin-agent');
  assertMfaPage(page);
  assert.match(page.html, /asks for multi-factor authentication/);
  const { claims } = await idTokenFor(await submitSecurityKey(browser, page), request);
  assertAccountClaims(claims, 'admin-agent', 'admin.agent@contoso.example', ['AdminAgent']);
  assert.deepEqual(claims.amr, ['pwd', 'hwk', 'mfa']);
  assert.deepEqual(claims.acrs, ['c2']);
  assert.equal(claims.acr, MFA_ACR);
  assert.ok(claims.auth_time >= first.claims.auth_time);

  // Not asked for, not given: a plain request on that session carries no acrs.
  const sso = await signIn(browser, 'admin-agent', {}, { expectPasswordPage: false });
  assert.deepEqual(sso.claims.amr, ['pwd', 'hwk', 'mfa']);
  assert.equal(sso.claims.acrs, undefined);
});

test('a code at a step-up asking for an authentication context: amr mfa but no acrs, and no second login', async () => {
  const browser = new Browser();
  await signIn(browser, 'admin-agent', {}, { mfa: false });
  const request = authorizationRequest({ claims: CLAIMS_ACRS_C2, login_hint: 'admin.agent@contoso.example' });
  let page = await browser.go(request.url);
  assertPasswordPage(page);
  page = await submitPassword(browser, page, 'admin-agent');
  // The context is asked for: the MFA step, as for any MFA request.
  assertMfaPage(page);
  // The code: the login ends (no loop back to the password page) without the context.
  const { claims } = await idTokenFor(await submitOtp(browser, page), request);
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  assert.equal(claims.acr, MFA_ACR);
  assert.equal(claims.acrs, undefined);

  // The incompatible account's code does not count either; its security key does.
  const other = new Browser();
  const incompatible = await signIn(other, 'incompatible-mfa', { claims: CLAIMS_ACRS_C2 }, { mfa: true });
  assert.deepEqual(incompatible.claims.amr, ['pwd', 'otp']);
  assert.equal(incompatible.claims.acrs, undefined);
});
