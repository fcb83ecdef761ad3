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
// What it issues (JWT access tokens for the resource RESOURCE, shaped like Entra v1
// tokens as far as mfa-guard reads them):
// - users, by authorization code + PKCE: /auth -> /interaction/:uid (no human: the
//   login is finished at once for the account in `login_hint`, with the `amr` values
//   of the space-delimited `test_amr` parameter; consent is granted automatically);
// - users, by refresh token: the amr of the login that produced it;
// - users, by the custom grant CUSTOM_GRANT (`account`, `amr`, `resource`);
// - apps, by client credentials: `idtyp: "app"`, no `scp`.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

/** The resource indicator, and so the `aud` of every access token. */
const RESOURCE = 'https://api.partnercenter.microsoft.com';
/** The one delegated scope of RESOURCE (Partner Center's). */
const USER_SCOPE = 'user_impersonation';
/** The tenant of every account (`tid`, a GUID as mfa-guard requires). */
const TENANT = '5f1d3c7a-9b2e-4c61-8a0d-2e7b9c4f6a13';
/** A token-endpoint grant that logs an account in with the `amr` the caller names. */
const CUSTOM_GRANT = 'urn:mfa-guard:params:oauth:grant-type:test-login';

/** The users that can log in (by `login_hint` or the custom grant's `account`). */
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
};

/** The applications (service principals) behind the clients. */
const APPS = {
  'e2e-web': { oid: '2c0f6a5e-3f4d-4071-9c8d-9e0f1a2b3c4d' },
  'e2e-daemon': { oid: '3d1a7b6f-4a5e-4182-8d9e-0f1a2b3c4d5e', roles: ['Catalog.Read'] },
};

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
];

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
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

async function findAccount(_ctx, accountId) {
  if (!ACCOUNTS[accountId]) return undefined;
  return { accountId, claims: async () => ({ sub: accountId }) };
}

function amrList(value, fallback) {
  const list = String(value ?? '').split(' ').filter(Boolean);
  return list.length ? list : fallback;
}

function createProvider(issuer, key) {
  const provider = new Provider(issuer, {
    clients: CLIENTS,
    jwks: { keys: [key] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access'],
    extraParams: ['test_amr'],
    findAccount,
    extraTokenClaims,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? RESOURCE,
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
    customLogins.set(at, { amr: amrList(params.amr, []), acr: '1' });
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

// The non-interactive interaction: log the hinted account in with the asked amr,
// then grant whatever consent is missing.
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    const accountId = params.login_hint;
    result = ACCOUNTS[accountId]
      ? { login: { accountId, amr: amrList(params.test_amr, ['pwd']), acr: '1', remember: false } }
      : { error: 'access_denied', error_description: 'unknown test account' };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
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
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    interaction(provider, req, res).catch((err) => {
      console.error(`interaction failed: ${err.message}`);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
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
  callback = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, kid: key.kid })}\n`);
});

// Ends with the test process that started it (its stdin is that process's pipe).
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
