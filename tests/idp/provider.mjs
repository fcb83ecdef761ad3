// A real OpenID provider (oidc-provider, certified) for mfa-guard's end-to-end tests.
//
//   node provider.mjs [PORT]        (or IDP_PORT=PORT; 0 or nothing = an ephemeral port)
//
// Binds 127.0.0.1 only. Once listening it prints ONE line of JSON on stdout,
//   {"issuer":"http://127.0.0.1:PORT","kid":"…"}
// and nothing else there; oidc-provider's own notices go to stderr. The issuer is the
// base URL, so discovery is at <issuer>/.well-known/openid-configuration. The signing
// key (RS256, 2048 bits) is made at each start: a restart on the same port is a key
// rotation. The process exits when its stdin closes, so a test runner that dies
// cannot leave it behind.
//
// Environment:
//   IDP_PORT               the port, when none is given as an argument;
//   IDP_REDIRECT_URIS      comma-separated redirect URIs of the client `e2e-browser`
//                          (default http://127.0.0.1/auth/callback);
//   IDP_POST_LOGOUT_URIS   comma-separated post_logout_redirect_uris of `e2e-browser`
//                          (default none);
//   IDP_BACKCHANNEL_LOGOUT_URI  the backchannel_logout_uri of `e2e-browser` (default
//                          none: no logout tokens are sent). With it the client also
//                          has backchannel_logout_session_required, so its ID tokens
//                          carry `sid` and its logout tokens name that `sid`.
//
// Clients: `e2e-web` (secret e2e-web-secret; code, refresh tokens, the custom grant),
// `e2e-daemon` (e2e-daemon-secret; client credentials), and `e2e-browser`
// (e2e-browser-secret, client_secret_basic; code with S256 PKCE required; redirect,
// post-logout and back-channel logout URIs from the environment; RS256 ID tokens).
//
// Accounts (every password is `password`, the MFA code is `123456`):
//   admin-agent        admin.agent@contoso.example       AdminAgent  MFA when asked
//   sales-agent        sales.agent@contoso.example       SalesAgent  MFA when asked
//   mfa-at-sign-in     mfa.always@contoso.example        AdminAgent  MFA at every sign-in
//   incompatible-mfa   incompatible.mfa@contoso.example  AdminAgent  its code never
//                                                        counts as `mfa`
//
// Logins: /auth -> /interaction/:uid, then consent is granted automatically.
// - With `login_hint` naming a test account by its id (no human): the login is
//   finished at once for that account, with the `amr` values of the space-delimited `test_amr` parameter
//   (default `pwd`) and acr `1`.
// - Otherwise (a browser; a hint holding a user name, as a step-up sends, too): HTML forms, no JavaScript needed (they post to
//   /interaction/:uid/login and /interaction/:uid/mfa).
//   Password step, <h1>Sign in</h1>: radio buttons name="account" (id
//   account-<account>, value <account>), input name="password" (id password), submit
//   id="sign-in"; a wrong password shows the page again (401) with <p id="error">.
//   MFA step, <h1>Verify your identity</h1>, two methods in one form: a code, input
//   name="otp" (id otp) and submit id="verify" (name="method" value="otp"; a post
//   without `method` is a code too), or a security key, submit id="security-key"
//   (name="method" value="security-key"; the key's touch is taken as given). A wrong
//   code shows the page again (401) with <p id="error">. The MFA step follows the
//   password step when the request asks for MFA (acr_values holds MFA_ACR, or the
//   `claims` parameter asks for id_token `amr` with value(s) `mfa`, id_token `acr`
//   with value(s) MFA_ACR, or id_token `acrs` with any value: an authentication
//   context) or the account wants it at every sign-in.
//   Result: amr ["pwd"] acr "1"; after a code amr ["pwd","mfa"] acr MFA_ACR, except
//   incompatible-mfa: amr ["pwd","otp"] acr "1"; after a security key (any account)
//   amr ["pwd","hwk","mfa"] acr MFA_ACR and, as at Entra, where a phishing-resistant
//   method satisfies the authentication context asked for, an `acrs` claim in the ID
//   token holding the context(s) the `claims` parameter asked for (id_token `acrs`
//   `value`/`values`); a code never yields `acrs`. prompt=login or max_age=0 always
//   shows the password step again, session or not (max_age=0 as OIDC Core says:
//   like prompt=login); each login sets a new auth_time. Without them, an existing
//   session is reused as it is (no page, its amr) even when MFA is asked, unless the
//   `claims` parameter makes acr essential (oidc-provider then asks for a login when
//   the session's acr differs; once, not in a loop, if the login cannot give it) or
//   asks for an essential authentication context (`acrs`) and the session's login
//   used no security key (amr without `hwk`): then a login, once, as for acr.
//   Signing in as another account than the session's ends that session first
//   (oidc-provider's self-submitting page).
// - Sign-out: end_session_endpoint (/session/end); its confirmation page submits
//   itself (a button id="sign-out" stays for a browser without JavaScript), and ends
//   the provider's whole session (every client of it).
// - Back-channel logout (OpenID Connect Back-Channel Logout 1.0, always enabled):
//   when a session ends at end_session_endpoint, every client of that session with a
//   backchannel_logout_uri gets a POST of a `logout_token` (typ logout+jwt, RS256,
//   aud the client id, `sid` of the session, `events`, `jti`, no `nonce`) before the
//   browser is sent on, so once the browser shows the signed-out page (or reaches the
//   post-logout URI) the POST has been answered. Each outcome is one line on stderr:
//     backchannel-logout delivered <client_id> <uri> sid=<sid>
//     backchannel-logout failed <client_id> <uri> sid=<sid>: <why>
//   (a failure does not stop the sign-out, as the spec says). oidc-provider refuses
//   to call loopback and private addresses (its SSRF protection); this provider
//   lifts that for 127.0.0.1 only, where the tests' relying parties listen.
//
// ID tokens carry sub (the account name), oid, tid, upn, roles, amr, acr and
// auth_time for scope `openid` alone (no `claims` parameter needed), nonce when the
// request has one, and `acrs` when asked for and earned (see above); the `claims`
// request parameter is supported (it is read to decide on MFA, see above).
//
// What it issues as access tokens (JWT access tokens for the resource RESOURCE, shaped
// like Entra v1 tokens as far as mfa-guard reads them):
// - users, by authorization code + PKCE (the amr of the login);
// - users, by refresh token: the amr of the login that produced it;
// - users, by the custom grant CUSTOM_GRANT (`account`, `amr`, `resource`);
// - apps, by client credentials: `idtyp: "app"`, no `scp`.
// `e2e-browser` gets a JWT access token for RESOURCE only when it asks for it
// (`resource` and scope user_impersonation); otherwise an opaque one for userinfo.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

/** The resource indicator, and so the `aud` of every access token. */
const RESOURCE = 'https://api.partnercenter.microsoft.com';
/** The one delegated scope of RESOURCE (Partner Center's). */
const USER_SCOPE = 'user_impersonation';
/** The tenant of every account (`tid`, a GUID as mfa-guard requires). */
const TENANT = '5f1d3c7a-9b2e-4c61-8a0d-2e7b9c4f6a13';
/** A token-endpoint grant that logs an account in with the `amr` the caller names. */
const CUSTOM_GRANT = 'urn:mfa-guard:params:oauth:grant-type:test-login';
/** The acr of a multi-factor login (and the acr_values that asks for one). */
const MFA_ACR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
/** The acr of any other login. */
const SINGLE_FACTOR_ACR = '1';
/** The amr of a login with a security key (a hardware-secured key: RFC 8176 `hwk`). */
const SECURITY_KEY_AMR = ['pwd', 'hwk', 'mfa'];
/** Every account's password, and the one MFA code that is accepted. */
const PASSWORD = 'password';
const OTP = '123456';

/**
 * The users that can log in (by `login_hint`, the custom grant's `account`, or the
 * sign-in pages). `mfa`: undefined = only when the request asks for it;
 * 'at-sign-in' = at every interactive sign-in; 'incompatible' = its code (not a
 * security key) never yields the `mfa` amr.
 */
const ACCOUNTS = {
  'admin-agent': {
    oid: '0a8f4e3c-1d2b-4e5f-9a6b-7c8d9e0f1a2b',
    upn: 'admin.agent@contoso.example',
    roles: ['AdminAgent'],
  },
  'sales-agent': {
    oid: '1b9e5f4d-2e3c-4f60-8b7c-8d9e0f1a2b3c',
    upn: 'sales.agent@contoso.example',
    roles: ['SalesAgent'],
  },
  'mfa-at-sign-in': {
    oid: '4e2b8c7a-5b6f-4293-9eaf-1a2b3c4d5e6f',
    upn: 'mfa.always@contoso.example',
    roles: ['AdminAgent'],
    mfa: 'at-sign-in',
  },
  'incompatible-mfa': {
    oid: '5f3c9d8b-6c7a-43a4-8fb0-2b3c4d5e6f70',
    upn: 'incompatible.mfa@contoso.example',
    roles: ['AdminAgent'],
    mfa: 'incompatible',
  },
};

/** The applications (service principals) behind the clients. */
const APPS = {
  'e2e-web': { oid: '2c0f6a5e-3f4d-4071-9c8d-9e0f1a2b3c4d' },
  'e2e-daemon': { oid: '3d1a7b6f-4a5e-4182-8d9e-0f1a2b3c4d5e', roles: ['Catalog.Read'] },
  'e2e-browser': { oid: '6a4d0e9c-7d8b-44b5-90c1-3c4d5e6f7081' },
};

/** A comma-separated list from the environment (empty entries dropped). */
function envList(name) {
  return String(process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const BROWSER_REDIRECT_URIS = envList('IDP_REDIRECT_URIS');
const BROWSER_POST_LOGOUT_URIS = envList('IDP_POST_LOGOUT_URIS');
const BROWSER_BACKCHANNEL_LOGOUT_URI = String(process.env.IDP_BACKCHANNEL_LOGOUT_URI ?? '').trim();

const CLIENTS = [
  {
    // A web app signing users in (confidential, PKCE as well), and the test grant.
    client_id: 'e2e-web',
    client_secret: 'e2e-web-secret',
    redirect_uris: ['http://127.0.0.1/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token', CUSTOM_GRANT],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    // A daemon: app-only tokens by client credentials.
    client_id: 'e2e-daemon',
    client_secret: 'e2e-daemon-secret',
    redirect_uris: [],
    response_types: [],
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    // A relying party driven by a browser (the sign-in pages): confidential, PKCE
    // required, its URIs known only when the test starts.
    client_id: 'e2e-browser',
    client_secret: 'e2e-browser-secret',
    redirect_uris: BROWSER_REDIRECT_URIS.length
      ? BROWSER_REDIRECT_URIS
      : ['http://127.0.0.1/auth/callback'],
    post_logout_redirect_uris: BROWSER_POST_LOGOUT_URIS,
    ...(BROWSER_BACKCHANNEL_LOGOUT_URI
      ? { backchannel_logout_uri: BROWSER_BACKCHANNEL_LOGOUT_URI, backchannel_logout_session_required: true }
      : {}),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  },
];

/** Clients that must send a PKCE challenge (S256, the only method oidc-provider 9 has). */
const PKCE_REQUIRED = new Set(['e2e-browser']);

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

/**
 * oidc-provider's outgoing requests (here: back-channel logout POSTs). It passes an
 * SSRF-protected dispatcher that refuses loopback and private addresses; the tests'
 * relying parties listen on 127.0.0.1, so for that host alone the request goes out
 * without it. Any other host keeps the protection.
 */
function loopbackFetch(url, options) {
  if (new URL(url).hostname === '127.0.0.1') {
    const { dispatcher: _protected, ...rest } = options;
    return globalThis.fetch(url, rest);
  }
  return globalThis.fetch(url, options);
}

function resourceServerInfo(_ctx, indicator) {
  if (indicator !== RESOURCE) {
    throw new errors.InvalidTarget(`unknown resource; this provider serves ${RESOURCE}`);
  }
  return {
    scope: USER_SCOPE,
    audience: RESOURCE,
    accessTokenTTL: 3600,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

/** The login behind each access token of the custom grant (amr, acr). */
const customLogins = new WeakMap();

function userClaims(accountId, login, token) {
  const account = ACCOUNTS[accountId];
  return {
    idtyp: 'user',
    scp: token.scope || USER_SCOPE,
    amr: login?.amr ?? [],
    ...(login?.acr ? { acr: login.acr } : {}),
    oid: account.oid,
    tid: TENANT,
    upn: account.upn,
    roles: account.roles,
    ...(account.wids ? { wids: account.wids } : {}),
    appid: token.clientId,
    ver: '1.0',
  };
}

// The JWT access-token format copies neither amr nor acr: they come from the login
// that produced the token (the authorization code, the refresh token, or the custom
// grant's request).
async function extraTokenClaims(ctx, token) {
  if (token.kind === 'ClientCredentials') {
    const app = APPS[token.clientId] ?? {};
    return {
      idtyp: 'app',
      oid: app.oid,
      tid: TENANT,
      roles: app.roles ?? [],
      appid: token.clientId,
      ver: '1.0',
    };
  }
  if (!token.accountId || !ACCOUNTS[token.accountId]) return undefined;
  const login = customLogins.get(token)
    ?? ctx?.oidc?.entities?.AuthorizationCode
    ?? ctx?.oidc?.entities?.RefreshToken;
  return userClaims(token.accountId, login, token);
}

// The claims of an account, for ID tokens (scope `openid`, see `claims` below) and
// userinfo. amr, acr and auth_time come from the login, not from here; `acrs` from
// the login and the request: the authentication contexts an ID token's request asked
// for, when the login that produced its code used a security key.
async function findAccount(ctx, accountId) {
  const account = ACCOUNTS[accountId];
  if (!account) return undefined;
  return {
    accountId,
    claims: async (use, _scope, requested) => {
      const login = ctx?.oidc?.entities?.AuthorizationCode;
      const contexts = use === 'id_token' && login?.amr?.includes('hwk')
        ? authContexts(requested?.acrs)
        : [];
      return {
        sub: accountId,
        oid: account.oid,
        tid: TENANT,
        upn: account.upn,
        roles: account.roles,
        ...(contexts.length ? { acrs: contexts } : {}),
      };
    },
  };
}

function amrList(value, fallback) {
  const list = String(value ?? '').split(' ').filter(Boolean);
  return list.length ? list : fallback;
}

/** Whether a `claims` request member (`{value}` or `{values}`) names `wanted`. */
function claimRequests(request, wanted) {
  if (!request || typeof request !== 'object') return false;
  return request.value === wanted
    || (Array.isArray(request.values) && request.values.includes(wanted));
}

/** The authentication contexts a `claims` request member for `acrs` names. */
function authContexts(request) {
  if (!request || typeof request !== 'object') return [];
  const asked = Array.isArray(request.values) ? request.values : [request.value];
  return asked.filter((v) => typeof v === 'string' && v !== '');
}

/** The `id_token` member of an authorization request's `claims` parameter. */
function idTokenClaimsOf(params) {
  if (typeof params.claims !== 'string') return undefined;
  try {
    return JSON.parse(params.claims)?.id_token;
  } catch {
    return undefined;
  }
}

/**
 * Whether an authorization request asks for MFA: acr_values holds MFA_ACR, or the
 * `claims` parameter asks for an ID token whose amr holds `mfa`, whose acr is
 * MFA_ACR, or whose `acrs` holds an authentication context (at Entra a Conditional
 * Access context, which asks for a second factor at least). (prompt=login and
 * max_age=0 ask for a fresh login, not for MFA.)
 */
function asksForMfa(params) {
  if (String(params.acr_values ?? '').split(' ').includes(MFA_ACR)) return true;
  const idToken = idTokenClaimsOf(params);
  return claimRequests(idToken?.amr, 'mfa')
    || claimRequests(idToken?.acr, MFA_ACR)
    || authContexts(idToken?.acrs).length > 0;
}

// The default policy, with three changes:
// - max_age=0 always asks for a login (OIDC Core: "max_age=0 is equivalent to
//   prompt=login"); oidc-provider's own max_age check lets a login of the same second
//   through;
// - an essential authentication context (`claims` asks for id_token `acrs`) asks for
//   a login when the session's login used no security key (only a security key earns
//   a context), once: not right after a login that could not give it;
// - an essential acr the login could not give (incompatible-mfa asked for MFA_ACR)
//   does not ask for the login again right after it: the ID token says what the
//   login gave (acr 1) instead of looping back to the sign-in page.
// "Right after the login" is `ctx.oidc.result.login`, so the consent step merges the
// login it follows into its result (see showInteraction).
function loginPolicy() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  const { checks } = policy.get('login');
  for (const reason of ['essential_acrs', 'essential_acr']) {
    const check = checks.get(reason);
    const original = check.check;
    check.check = async (ctx) => !ctx.oidc.result?.login && original(ctx);
  }
  checks.add(new Check(
    'max_age_zero',
    'max_age=0 asks for a fresh login',
    (ctx) => (ctx.oidc.params.max_age !== undefined
      && Number(ctx.oidc.params.max_age) === 0
      && !ctx.oidc.result?.login
      ? Check.REQUEST_PROMPT
      : Check.NO_NEED_TO_PROMPT),
  ));
  checks.add(new Check(
    'essential_auth_context',
    'the requested authentication context needs a login with a security key',
    (ctx) => {
      const request = ctx.oidc.claims?.id_token?.acrs;
      return request?.essential
        && authContexts(request).length > 0
        && !ctx.oidc.result?.login
        && !(ctx.oidc.amr ?? []).includes('hwk')
        ? Check.REQUEST_PROMPT
        : Check.NO_NEED_TO_PROMPT;
    },
  ));
  return policy;
}

function createProvider(issuer, key) {
  const provider = new Provider(issuer, {
    clients: CLIENTS,
    jwks: { keys: [key] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access'],
    // What the ID token carries: with conformIdTokenClaims off, the claims of the
    // granted scopes go into the ID token itself (not only to userinfo).
    claims: {
      openid: ['sub', 'oid', 'tid', 'upn', 'roles', 'amr', 'acr', 'auth_time'],
      // Only when the `claims` parameter asks for it (and the login earned it).
      acrs: null,
      amr: null,
      acr: null,
      auth_time: null,
      sid: null,
      iss: null,
    },
    conformIdTokenClaims: false,
    acrValues: [MFA_ACR, SINGLE_FACTOR_ACR],
    extraParams: ['test_amr'],
    findAccount,
    extraTokenClaims,
    pkce: {
      required: (_ctx, client) => client.clientAuthMethod === 'none' || PKCE_REQUIRED.has(client.clientId),
    },
    interactions: {
      policy: loginPolicy(),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    renderError,
    fetch: loopbackFetch,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      claimsParameter: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // e2e-browser gets an access token for RESOURCE only when it names it; the
        // other clients always get one.
        defaultResource: (_ctx, client, oneOf) => oneOf
          ?? (client?.clientId === 'e2e-browser' ? undefined : RESOURCE),
        useGrantedResource: () => true,
        getResourceServerInfo: resourceServerInfo,
      },
    },
  });

  provider.registerGrantType(CUSTOM_GRANT, async (ctx) => {
    const { client, params } = ctx.oidc;
    if (!ACCOUNTS[params.account]) {
      throw new errors.InvalidGrant('unknown account');
    }
    const resource = params.resource ?? RESOURCE;
    const at = new provider.AccessToken({
      accountId: params.account,
      client,
      gty: CUSTOM_GRANT,
      scope: USER_SCOPE,
    });
    at.resourceServer = new provider.ResourceServer(resource, resourceServerInfo(ctx, resource));
    customLogins.set(at, { amr: amrList(params.amr, []), acr: SINGLE_FACTOR_ACR });
    ctx.oidc.entity('AccessToken', at);
    const value = await at.save();
    ctx.body = {
      access_token: value,
      expires_in: at.expiration,
      token_type: at.tokenType,
      scope: at.scope,
    };
  }, ['account', 'amr', 'resource']);

  return provider;
}

// ---------------------------------------------------------------------------------
// HTML

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

const STYLE = 'body{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em}'
  + 'fieldset,div{margin:0 0 1em}label{margin-left:.3em}#error{color:#a00;font-weight:bold}'
  + 'button{padding:.4em 1.2em}';

/** A whole page; `step` names it for tests (`<body data-step>`). */
function page(title, step, content) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · mfa-guard test IdP</title>
<style>${STYLE}</style>
</head>
<body data-step="${escapeHtml(step)}">
<main>
${content}
</main>
</body>
</html>
`;
}

function errorParagraph(error) {
  return error ? `<p id="error" role="alert">${escapeHtml(error)}</p>\n` : '';
}

function passwordPage({ uid, clientId, selected, error, reason }) {
  const radios = Object.entries(ACCOUNTS).map(([name, account]) => {
    const id = `account-${name}`;
    const checked = name === selected ? ' checked' : '';
    return `<div><input type="radio" name="account" id="${id}" value="${escapeHtml(name)}"${checked}>`
      + `<label for="${id}">${escapeHtml(account.upn)} (${escapeHtml(name)})</label></div>`;
  }).join('\n');
  return page('Sign in', 'password', `<h1>Sign in</h1>
<p>to <strong id="client">${escapeHtml(clientId)}</strong>${reason ? ` — ${escapeHtml(reason)}` : ''}</p>
${errorParagraph(error)}<form method="post" action="/interaction/${escapeHtml(uid)}/login" id="login-form">
<fieldset>
<legend>Account</legend>
${radios}
</fieldset>
<div><label for="password">Password</label>
<input type="password" name="password" id="password" autocomplete="current-password"></div>
<button type="submit" id="sign-in">Sign in</button>
</form>`);
}

function mfaPage({ uid, accountId, error, reason }) {
  return page('Verify your identity', 'mfa', `<h1>Verify your identity</h1>
<p>Signed in as <strong id="account">${escapeHtml(ACCOUNTS[accountId].upn)}</strong>. ${escapeHtml(reason)}</p>
${errorParagraph(error)}<form method="post" action="/interaction/${escapeHtml(uid)}/mfa" id="mfa-form">
<div><label for="otp">Verification code</label>
<input type="text" name="otp" id="otp" inputmode="numeric" autocomplete="one-time-code"></div>
<button type="submit" name="method" value="otp" id="verify">Verify</button>
<p>or</p>
<button type="submit" name="method" value="security-key" id="security-key">Use a security key</button>
</form>`);
}

function messagePage(title, message) {
  return page(title, 'error', `<h1>${escapeHtml(title)}</h1>\n<p id="error" role="alert">${escapeHtml(message)}</p>`);
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Sign-in error', 'error', `<h1>Sign-in error</h1>
${Object.entries(out).map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: <span id="${escapeHtml(key)}">${escapeHtml(value)}</span></p>`).join('\n')}`);
}

// The logout confirmation submits itself ("yes, sign me out"), so a browser test's
// sign-out completes without a click; without JavaScript the button does it.
async function logoutSource(ctx, form) {
  const confirm = '<input type="hidden" name="logout" value="yes"/>'
    + '<button type="submit" id="sign-out">Sign out</button>';
  ctx.body = page('Signing out', 'logout', `<h1>Signing out</h1>
<p>Signing you out of ${escapeHtml(ctx.host)}…</p>
${form.replace('</form>', `${confirm}</form>`)}
<script>document.getElementById('op.logoutForm').submit();</script>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page('Signed out', 'logged-out', '<h1>Signed out</h1>\n<p>You are signed out.</p>');
}

// ---------------------------------------------------------------------------------
// Interactions

/** Seconds since the epoch: a login's `ts`, its auth_time. */
function now() {
  return Math.floor(Date.now() / 1000);
}

/** Interactions whose password step is done and whose MFA step is pending. */
const pendingMfa = new Map();
/** How long a pending MFA step is kept (oidc-provider's interactions live 1 h). */
const PENDING_TTL_MS = 60 * 60 * 1000;

function rememberPending(uid, accountId) {
  const now = Date.now();
  for (const [key, entry] of pendingMfa) {
    if (now - entry.at > PENDING_TTL_MS) pendingMfa.delete(key);
  }
  pendingMfa.set(uid, { accountId, at: now });
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function redirect(res, location) {
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.setHeader('Content-Length', '0');
  res.end();
}

/** The urlencoded form of a POST (at most 16 KiB). */
function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 16 * 1024) {
        reject(Object.assign(new Error('form too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** Grants whatever consent the interaction misses (there is no consent page). */
async function grantConsent(provider, details) {
  const { prompt, params } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return { consent: { grantId: await grant.save() } };
}

/** The interaction of the cookie, which must be the one of the URL. */
async function interactionFor(provider, req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    throw Object.assign(new Error('this sign-in page belongs to another authorization request'), { status: 400 });
  }
  return details;
}

/**
 * Whether this interaction is a sign-in by a human: no `login_hint` naming one of the
 * test accounts by its id. A relying party's own hint (a user name, as a step-up
 * sends to ask the same user again) is a human sign-in, as at any provider.
 */
function interactive(details) {
  const hint = details.params.login_hint;
  return details.prompt.name === 'login' && !(typeof hint === 'string' && Object.hasOwn(ACCOUNTS, hint));
}

function mfaReason(details, accountId) {
  return ACCOUNTS[accountId].mfa === 'at-sign-in' && !asksForMfa(details.params)
    ? 'Your account asks for a second factor at every sign-in.'
    : 'This sign-in asks for multi-factor authentication.';
}

function loginReason(details) {
  const { reasons = [] } = details.prompt;
  if (details.session?.accountId && (reasons.includes('login_prompt') || reasons.some((r) => r.startsWith('max_age')))) {
    return 'the application asks you to sign in again';
  }
  return '';
}

function passwordPageFor(details, error) {
  return passwordPage({
    uid: details.uid,
    clientId: details.params.client_id,
    selected: details.session?.accountId,
    error,
    reason: loginReason(details),
  });
}

// GET /interaction/:uid. With `login_hint`: the non-interactive login of the hinted
// account with the asked amr. Otherwise the password page, or the MFA page once the
// password step is done. Consent is granted at once either way.
async function showInteraction(provider, req, res, uid) {
  const details = await interactionFor(provider, req, res, uid);
  const { prompt, params } = details;
  if (prompt.name === 'consent') {
    // Merged with the login it follows (if any, with its `ts`: the same auth_time), so
    // the login checks see a login of this very authorization and do not ask again.
    await provider.interactionFinished(req, res, await grantConsent(provider, details), { mergeWithLastSubmission: true });
    return;
  }
  if (prompt.name !== 'login') {
    const result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (!interactive(details)) {
    const accountId = params.login_hint;
    const result = ACCOUNTS[accountId]
      ? { login: { accountId, amr: amrList(params.test_amr, ['pwd']), acr: SINGLE_FACTOR_ACR, ts: now(), remember: false } }
      : { error: 'access_denied', error_description: 'unknown test account' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  const pending = pendingMfa.get(uid);
  if (pending) {
    send(res, 200, mfaPage({ uid, accountId: pending.accountId, reason: mfaReason(details, pending.accountId) }));
    return;
  }
  send(res, 200, passwordPageFor(details));
}

// POST /interaction/:uid/login: account + password. Then the MFA page (by a redirect
// to GET /interaction/:uid) or, when no MFA is needed, the end of the login.
async function submitPassword(provider, req, res, uid) {
  const details = await interactionFor(provider, req, res, uid);
  if (!interactive(details)) {
    throw Object.assign(new Error('this interaction has no sign-in form'), { status: 400 });
  }
  const form = await readForm(req);
  const accountId = form.get('account') ?? '';
  if (!ACCOUNTS[accountId]) {
    send(res, 401, passwordPageFor(details, 'Choose an account.'));
    return;
  }
  const password = Buffer.from(form.get('password') ?? '');
  const expected = Buffer.from(PASSWORD);
  if (password.length !== expected.length || !crypto.timingSafeEqual(password, expected)) {
    send(res, 401, passwordPageFor(details, 'Wrong password. Try again.'));
    return;
  }
  if (asksForMfa(details.params) || ACCOUNTS[accountId].mfa === 'at-sign-in') {
    rememberPending(uid, accountId);
    redirect(res, `/interaction/${uid}`);
    return;
  }
  pendingMfa.delete(uid);
  const result = { login: { accountId, amr: ['pwd'], acr: SINGLE_FACTOR_ACR, ts: now(), remember: false } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// POST /interaction/:uid/mfa: the code, or a security key. Ends the login with
// pwd+mfa for a code (pwd+otp for an account whose code does not count as MFA), with
// pwd+hwk+mfa for a security key (whose ID token then carries the asked `acrs`, see
// findAccount).
async function submitOtp(provider, req, res, uid) {
  const details = await interactionFor(provider, req, res, uid);
  const pending = pendingMfa.get(uid);
  if (!interactive(details) || !pending) {
    throw Object.assign(new Error('no verification is pending for this sign-in; sign in first'), { status: 400 });
  }
  const form = await readForm(req);
  const method = form.get('method') ?? 'otp';
  if (method !== 'otp' && method !== 'security-key') {
    const reason = mfaReason(details, pending.accountId);
    send(res, 400, mfaPage({ uid, accountId: pending.accountId, error: 'Choose a method.', reason }));
    return;
  }
  if (method === 'otp' && (form.get('otp') ?? '').trim() !== OTP) {
    const reason = mfaReason(details, pending.accountId);
    send(res, 401, mfaPage({ uid, accountId: pending.accountId, error: 'Wrong code. Try again.', reason }));
    return;
  }
  pendingMfa.delete(uid);
  const incompatible = method === 'otp' && ACCOUNTS[pending.accountId].mfa === 'incompatible';
  let amr = incompatible ? ['pwd', 'otp'] : ['pwd', 'mfa'];
  if (method === 'security-key') amr = SECURITY_KEY_AMR;
  const login = {
    accountId: pending.accountId,
    amr,
    acr: incompatible ? SINGLE_FACTOR_ACR : MFA_ACR,
    ts: now(),
    remember: false,
  };
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

const INTERACTION_ROUTES = {
  'GET ': showInteraction,
  'POST /login': submitPassword,
  'POST /mfa': submitOtp,
};

/** The handler of an /interaction/ request, or undefined for any other path. */
function interactionRoute(req) {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/mfa)?$/.exec(pathname);
  if (!match) return pathname.startsWith('/interaction/') ? { uid: '', handler: undefined } : undefined;
  return { uid: match[1], handler: INTERACTION_ROUTES[`${req.method} ${match[2] ?? ''}`] };
}

function interactionFailed(res, err) {
  const status = err.status ?? err.statusCode ?? 500;
  if (status >= 500) console.error(`interaction failed: ${err.stack ?? err.message}`);
  if (res.headersSent) {
    res.end();
    return;
  }
  const message = err.name === 'SessionNotFound'
    ? 'This sign-in has expired or was already used; start again from the application.'
    : (err.error_description ?? err.message);
  send(res, status, messagePage('Sign-in error', message));
}

const port = Number(process.argv[2] ?? process.env.IDP_PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`provider.mjs: bad port ${process.argv[2] ?? process.env.IDP_PORT}`);
  process.exit(2);
}

let provider;
let callback;
const server = http.createServer((req, res) => {
  if (!provider) {
    res.statusCode = 503;
    res.end();
    return;
  }
  const route = interactionRoute(req);
  if (route) {
    if (!route.handler) {
      send(res, route.uid ? 405 : 404, messagePage('Not found', `no ${req.method} ${req.url.split('?')[0]}`));
      return;
    }
    route.handler(provider, req, res, route.uid).catch((err) => interactionFailed(res, err));
    return;
  }
  callback(req, res);
});

server.on('error', (err) => {
  console.error(`provider.mjs: ${err.message}`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const key = signingKey();
  provider = createProvider(issuer, key);
  provider.on('server_error', (_ctx, err) => console.error(`server_error: ${err.message}`));
  provider.on('backchannel.success', (_ctx, client, _accountId, sid) => {
    console.error(`backchannel-logout delivered ${client.clientId} ${client.backchannelLogoutUri} sid=${sid}`);
  });
  provider.on('backchannel.error', (_ctx, err, client, _accountId, sid) => {
    console.error(`backchannel-logout failed ${client.clientId} ${client.backchannelLogoutUri} sid=${sid}: ${err.message}`);
  });
  callback = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, kid: key.kid })}\n`);
});

// Ends with the test process that started it (its stdin is that process's pipe).
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
