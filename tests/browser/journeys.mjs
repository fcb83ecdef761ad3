// Headless Chromium walks mfa-guard's browser-mode journeys on the example servers,
// clicking through the real pages (the development issuer's sign-in page, or
// oidc-provider's password and MFA steps).
//
//   node journeys.mjs --server NAME=URL [--server NAME=URL ...]
//                     [--provider dev|oidc] [--assurance MAX_AGE] [--screenshots DIR]
//
// Examples walked on every server, each in a fresh browser context:
//   1  the provider gives MFA at sign-in: sign in at /overview with MFA, then
//      /commerce/customers opens without a second prompt (1 provider round trip);
//   3  sign in at /overview with a password only; /commerce/customers steps up to MFA
//      (a 2nd round trip) and opens; sign out and do it all again (2 + 2 trips);
//   4  a user whose MFA never counts as `mfa` (no `mfa` in amr): the step-up ends on
//      the 401 "Unauthorized - MFA required" page, and /billing/invoices shows the
//      same page with no new round trip (2 trips).
// With --assurance MAX_AGE (the servers carry the per-route assurance policy of
// tests/conformance/tests/chromium.rs: /security/* needs the level
// `phishing-resistant`, acrs `c2`; /billing/* a `max_age` of MAX_AGE seconds), also:
//   phishing-resistant          sign in with MFA (a code) at /overview; /security/alerts
//      steps up (a 2nd round trip); a security key at the MFA step; 200 (2 trips);
//   phishing-resistant-refused  the same with a code at the step-up: the 401
//      "Unauthorized - MFA required" page naming the level (2 trips);
//   stale  sign in with MFA at /billing/invoices, 200; wait past MAX_AGE; open it
//      again: a step-up (password + MFA again, a 2nd round trip), 200 (2 trips).
// A provider round trip is a GET of the provider's authorization endpoint
// (/dev-idp/authorize on the server itself, or /auth on oidc-provider).
//
// With --back-channel-logout ISSUER (oidc-provider at ISSUER, whose client's
// backchannel_logout_uri is the FIRST server's; exactly two servers, replicas of one
// application sharing session keys and a session store), instead of the examples,
// one journey, `back-channel-logout`:
//   sign in on replica A at /overview with MFA (the provider's password and MFA
//   pages); A's /commerce/customers opens, and so does B's with the same session
//   (cookies are per host, so B gets A's); end the session at the provider (its
//   end_session_endpoint from discovery: the confirmation page, which submits itself,
//   then its "Signed out" page: by then the provider has POSTed its logout token to A
//   and had the answer); wait --propagation-ms (default 2000) for the revocation to
//   reach B; open B's /commerce/customers: B answers 302 to the provider's /auth and
//   the browser lands on the provider's password page, never the MFA page; the same
//   on A.
//
// The only URLs typed in are the pages a user opens (/overview, /commerce/customers,
// /billing/invoices) and the sign-out URL, whose page's button signs out; every
// sign-in goes through the forms.
//
// Stdout: ONE line of JSON, {"ok":true,"journeys":[...]} or {"ok":false,"failures":[...],
// "journeys":[...]} (exit code 1). Progress goes to stderr. Each journey times out on
// its own (JOURNEY_TIMEOUT_MS, default 20000; each step STEP_TIMEOUT_MS, default 5000).
//
// Chromium: /usr/bin/chromium unless CHROMIUM names another binary.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium } from 'playwright-core';

import { signInAtProvider } from './oidc-provider.mjs';

const JOURNEY_TIMEOUT_MS = Number(process.env.JOURNEY_TIMEOUT_MS ?? 20000);
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS ?? 5000);
const REASON = 'Unauthorized - MFA required';

function usage(why) {
  process.stderr.write(
    `${why}\nusage: node journeys.mjs --server NAME=URL [--server NAME=URL ...] [--provider dev|oidc] [--assurance MAX_AGE] [--screenshots DIR]\n`
      + '       node journeys.mjs --provider oidc --back-channel-logout ISSUER [--propagation-ms MS] --server A=URL --server B=URL\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { servers: [], provider: 'dev', screenshots: null, maxAge: null, backChannel: null, propagationMs: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--server') {
      const spec = value();
      const eq = spec.indexOf('=');
      if (eq <= 0) usage(`--server ${spec}: expected NAME=URL`);
      const url = new URL(spec.slice(eq + 1));
      opts.servers.push({ name: spec.slice(0, eq), origin: url.origin });
    } else if (arg === '--provider') {
      opts.provider = value();
      if (!['dev', 'oidc'].includes(opts.provider)) usage(`--provider ${opts.provider}: dev or oidc`);
    } else if (arg === '--assurance') {
      const spec = value();
      opts.maxAge = Number(spec);
      if (!Number.isInteger(opts.maxAge) || opts.maxAge <= 0) usage(`--assurance ${spec}: seconds, a positive integer`);
    } else if (arg === '--screenshots') {
      opts.screenshots = value();
    } else if (arg === '--back-channel-logout') {
      opts.backChannel = new URL(value()).href.replace(/\/$/, '');
    } else if (arg === '--propagation-ms') {
      const spec = value();
      opts.propagationMs = Number(spec);
      if (!Number.isInteger(opts.propagationMs) || opts.propagationMs < 0) usage(`--propagation-ms ${spec}: milliseconds`);
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  if (opts.servers.length === 0) usage('at least one --server is needed');
  if (opts.backChannel !== null && (opts.servers.length !== 2 || opts.provider !== 'oidc')) {
    usage('--back-channel-logout needs --provider oidc and exactly two servers (A, which the provider calls, and B)');
  }
  return opts;
}

const log = (msg) => process.stderr.write(`[journeys] ${msg}\n`);

class JourneyError extends Error {}

function check(cond, what) {
  if (!cond) throw new JourneyError(what);
}

/**
 * One browser tab with what the journeys observe: the round trips to the provider's
 * authorization endpoint, and the response of the last main-frame navigation.
 */
class Tab {
  constructor(page, server, provider) {
    this.page = page;
    this.server = server;
    this.provider = provider;
    this.trips = 0;
    this.navigations = [];
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    page.on('request', (req) => {
      if (req.method() === 'GET' && req.isNavigationRequest() && this.isAuthorize(new URL(req.url()))) {
        this.trips += 1;
        log(`  ${server.name}: provider round trip #${this.trips}`);
      }
    });
    page.on('response', (res) => {
      if (res.request().isNavigationRequest() && res.frame() === page.mainFrame()) {
        this.navigations.push(res);
      }
    });
  }

  isAuthorize(url) {
    if (this.provider === 'dev') {
      return url.origin === this.server.origin && url.pathname === '/dev-idp/authorize';
    }
    // oidc-provider's authorization endpoint; /auth/:uid (resuming after the
    // login) is the same round trip, not a new one.
    return url.origin !== this.server.origin && url.pathname === '/auth';
  }

  path() {
    return new URL(this.page.url()).pathname;
  }

  /** The response that produced the page now shown (after every redirect). */
  finalResponse() {
    const url = this.page.url();
    for (let i = this.navigations.length - 1; i >= 0; i--) {
      const res = this.navigations[i];
      if (res.url() === url && !(res.status() >= 300 && res.status() < 400)) return res;
    }
    return null;
  }

  /** Opens a page the way a user types its address. */
  async open(pathname) {
    log(`  ${this.server.name}: open ${pathname}`);
    await this.page.goto(this.server.origin + pathname, { waitUntil: 'load' });
  }

  /** Opens a page of another server (a replica) in this tab; its first response. */
  async openAt(server, pathname) {
    log(`  ${this.server.name}'s browser: open ${server.name} ${pathname}`);
    const url = server.origin + pathname;
    const first = this.page.waitForResponse(
      (res) => res.url() === url && res.request().isNavigationRequest() && res.frame() === this.page.mainFrame(),
    );
    await this.page.goto(url, { waitUntil: 'load' });
    return first;
  }

  /** Clicks a submit button and waits until the browser settles on `until`. */
  async submit(selector, until) {
    await Promise.all([
      this.page.waitForURL(until, { waitUntil: 'load' }),
      this.page.click(selector),
    ]);
  }

  async text() {
    return this.page.innerText('body');
  }

  /** Asserts the page shown: its path, status and (substrings of) its text. */
  async expectPage(pathname, status, texts = []) {
    const where = `${this.server.name}: ${pathname}`;
    check(this.path() === pathname, `${where}: the browser is at ${this.path()}, not ${pathname}`);
    const res = this.finalResponse();
    check(res !== null, `${where}: no navigation response for ${this.path()}`);
    check(
      res.status() === status,
      `${where}: status ${res.status()} ${res.statusText()}, expected ${status}; page text: ${(await this.text()).slice(0, 300)}`,
    );
    const body = await this.text();
    for (const t of texts) {
      check(body.includes(t), `${where}: the page does not show ${JSON.stringify(t)}; it shows: ${body.slice(0, 400)}`);
    }
    return res;
  }

  /** Asserts the 401 page of a user whose MFA is not recognised. */
  async expectMfaRequiredPage(pathname, statusTexts) {
    const res = await this.expectPage(pathname, 401, ['amr']);
    const h1 = (await this.page.innerText('h1')).trim();
    check(h1 === REASON, `${this.server.name}: the 401 page's <h1> is ${JSON.stringify(h1)}, not ${REASON}`);
    const body = await this.text();
    check(/administrator/i.test(body), `${this.server.name}: the 401 page does not address the administrator: ${body}`);
    check(/MFA provider|multi-factor/i.test(body), `${this.server.name}: the 401 page does not name the MFA provider: ${body}`);
    statusTexts.push(res.statusText());
    if (res.statusText() !== '') {
      check(
        res.statusText() === REASON,
        `${this.server.name}: the 401's reason phrase is ${JSON.stringify(res.statusText())}, not ${REASON}`,
      );
    }
    return res;
  }

  /** Asserts the 401 page of a session whose MFA is below the page's level `level`. */
  async expectLevelRequiredPage(pathname, level, statusTexts) {
    const res = await this.expectPage(pathname, 401, [level]);
    const h1 = (await this.page.innerText('h1')).trim();
    check(h1 === REASON, `${this.server.name}: the 401 page's <h1> is ${JSON.stringify(h1)}, not ${REASON}`);
    statusTexts.push(res.statusText());
    if (res.statusText() !== '') {
      check(
        res.statusText() === REASON,
        `${this.server.name}: the 401's reason phrase is ${JSON.stringify(res.statusText())}, not ${REASON}`,
      );
    }
    return res;
  }
}

/** The sign-in pages of a provider, driven by clicks. */
const PROVIDERS = {
  dev: {
    users: { mfaAtSignIn: 'admin', admin: 'admin', incompatible: 'incompatible' },
    isSignInPage: (url, server) => url.origin === server.origin && url.pathname === '/dev-idp/authorize',
    /**
     * Signs `user` in on the sign-in page shown; `mfa` picks "password + MFA", with
     * `method: 'security-key'` "password + security key".
     */
    async signIn(tab, user, { mfa, method = 'otp', stepUp, until }) {
      const page = tab.page;
      check(
        tab.path() === '/dev-idp/authorize',
        `${tab.server.name}: expected the sign-in page, the browser is at ${page.url()}`,
      );
      check((await page.title()) === 'Sign in', `${tab.server.name}: the sign-in page is titled ${await page.title()}`);
      const asked = await page.locator('#mfa-requested').count();
      check(
        asked === (stepUp ? 1 : 0),
        `${tab.server.name}: the sign-in page ${asked ? 'says' : 'does not say'} that MFA is requested`,
      );
      if (stepUp) {
        check(await page.isVisible('#mfa-requested'), `${tab.server.name}: #mfa-requested is not visible`);
      }
      check(await page.isChecked('#user-admin'), `${tab.server.name}: the first user is not pre-checked`);
      await page.check(`#user-${user}`);
      const button = !mfa ? '#sign-in-password' : method === 'security-key' ? '#sign-in-security-key' : '#sign-in-mfa';
      await tab.submit(button, until);
    },
  },
  oidc: {
    users: { mfaAtSignIn: 'mfa-at-sign-in', admin: 'admin-agent', incompatible: 'incompatible-mfa' },
    /**
     * Signs `account` in at the password step and, with `mfa`, the MFA step: the code,
     * or with `method: 'security-key'` the security key.
     */
    signIn(tab, account, { mfa, method, until }) {
      return signInAtProvider(tab.page, {
        name: tab.server.name,
        home: tab.server.origin,
        account,
        mfa,
        method,
        submit: (selector) => tab.submit(selector, until),
        check,
      });
    },
  },
};

const at = (pathname) => (url) => url.pathname === pathname;

/** A sign-in page is shown (the browser left the server for the provider). */
async function expectSignInPage(tab, provider) {
  if (provider === 'dev') {
    check(tab.path() === '/dev-idp/authorize', `${tab.server.name}: not sent to sign in: at ${tab.page.url()}`);
  } else {
    check(
      new URL(tab.page.url()).origin !== tab.server.origin,
      `${tab.server.name}: not sent to sign in: at ${tab.page.url()}`,
    );
    await tab.page.waitForSelector('#sign-in');
  }
}

/** Example 1: MFA at sign-in, then an MFA page without a second prompt. */
async function example1(tab, ctx) {
  const p = PROVIDERS[ctx.provider];
  await tab.open('/overview');
  await expectSignInPage(tab, ctx.provider);
  if (ctx.screenshot && ctx.provider === 'dev') {
    await tab.page.screenshot({ path: ctx.screenshot('dev-sign-in.png') });
  }
  await p.signIn(tab, p.users.mfaAtSignIn, { mfa: true, stepUp: false, until: at('/overview') });
  await tab.expectPage('/overview', 200, ['"area":"overview"', '"mfa":true']);
  check(tab.trips === 1, `${tab.server.name}: ${tab.trips} provider round trips to sign in, expected 1`);
  await tab.open('/commerce/customers');
  await tab.expectPage('/commerce/customers', 200, ['"area":"customers"', '"mfa":true']);
  check(tab.trips === 1, `${tab.server.name}: the MFA page cost another provider round trip (${tab.trips} in all)`);
  return { finalPath: tab.path(), status: tab.finalResponse().status(), providerTrips: tab.trips };
}

/** One day of example 3: password sign-in, overview, step-up to MFA, customers. */
async function passwordThenStepUp(tab, ctx) {
  const p = PROVIDERS[ctx.provider];
  const before = tab.trips;
  await tab.open('/overview');
  await expectSignInPage(tab, ctx.provider);
  await p.signIn(tab, p.users.admin, { mfa: false, stepUp: false, until: at('/overview') });
  await tab.expectPage('/overview', 200, ['"area":"overview"', '"mfa":false']);
  check(tab.trips - before === 1, `${tab.server.name}: ${tab.trips - before} round trips to sign in, expected 1`);
  await tab.open('/commerce/customers');
  // Without MFA the session is sent to the provider again (the step-up).
  await expectSignInPage(tab, ctx.provider);
  check(tab.trips - before === 2, `${tab.server.name}: no step-up round trip for /commerce/customers`);
  await p.signIn(tab, p.users.admin, { mfa: true, stepUp: true, until: at('/commerce/customers') });
  await tab.expectPage('/commerce/customers', 200, ['"area":"customers"', '"mfa":true']);
  return tab.trips - before;
}

/** Example 3: password only, step-up at the MFA page; sign out and again. */
async function example3(tab, ctx) {
  const firstDay = await passwordThenStepUp(tab, ctx);
  log(`  ${tab.server.name}: sign out`);
  const tripsBefore = tab.trips;
  // The provider's end-session endpoint sends the browser back to the server's `/`
  // (its post-logout redirect URI); oidc-provider's confirmation page submits itself
  // on the way. What `/` then shows is the server's business: wait for the browser to
  // get there and settle.
  const home = new Promise((resolve) => {
    const seen = (req) => {
      const u = new URL(req.url());
      if (req.isNavigationRequest() && u.origin === tab.server.origin && u.pathname === '/auth/signed-out') {
        tab.page.off('request', seen);
        resolve();
      }
    };
    tab.page.on('request', seen);
  });
  // The sign-out address shows a button; signing out is the button's POST from
  // this page (a link or another site's form cannot sign anyone out).
  await tab.open('/auth/sign-out');
  await tab.expectPage('/auth/sign-out', 200, ['Sign out']);
  await Promise.all([home, tab.page.click('#sign-out')]);
  await tab.page.waitForLoadState('networkidle');
  const cookies = await tab.page.context().cookies(tab.server.origin);
  check(
    !cookies.some((c) => c.name === 'mfa-guard'),
    `${tab.server.name}: the session cookie survived the sign-out`,
  );
  const signOutLanding = tab.page.url();
  const signOutTrips = tab.trips - tripsBefore;
  check(
    new URL(signOutLanding).pathname === '/auth/signed-out' && signOutTrips === 0,
    `${tab.server.name}: sign-out should land on the signed-out page without a new sign-in, ` +
      `landed on ${signOutLanding} after ${signOutTrips} provider trips`,
  );
  // Another day: the same again.
  const secondDay = await passwordThenStepUp(tab, ctx);
  return {
    finalPath: tab.path(),
    status: tab.finalResponse().status(),
    providerTrips: firstDay + secondDay,
    providerTripsBeforeSignOut: firstDay,
    providerTripsAfterSignOut: secondDay,
    signOutLanding: new URL(signOutLanding).pathname,
    providerTripsAtSignOutLanding: signOutTrips,
  };
}

/** Example 4: a second factor that is not `mfa` ends on the 401 page. */
async function example4(tab, ctx) {
  const p = PROVIDERS[ctx.provider];
  await tab.open('/overview');
  await expectSignInPage(tab, ctx.provider);
  await p.signIn(tab, p.users.incompatible, { mfa: false, stepUp: false, until: at('/overview') });
  await tab.expectPage('/overview', 200, ['"area":"overview"', '"mfa":false']);
  await tab.open('/commerce/customers');
  await expectSignInPage(tab, ctx.provider);
  check(tab.trips === 2, `${tab.server.name}: ${tab.trips} round trips before the step-up sign-in, expected 2`);
  await p.signIn(tab, p.users.incompatible, { mfa: true, stepUp: true, until: at('/commerce/customers') });
  await tab.expectMfaRequiredPage('/commerce/customers', ctx.statusTexts);
  if (ctx.screenshot) {
    await tab.page.screenshot({ path: ctx.screenshot('mfa-required.png') });
  }
  await tab.open('/billing/invoices');
  await tab.expectMfaRequiredPage('/billing/invoices', ctx.statusTexts);
  check(tab.trips === 2, `${tab.server.name}: /billing/invoices made a new provider round trip (${tab.trips} in all)`);
  return {
    finalPath: tab.path(),
    status: tab.finalResponse().status(),
    statusText: tab.finalResponse().statusText(),
    providerTrips: tab.trips,
  };
}

/** The level of /security/* in the --assurance policy, and the name its 401 page shows. */
const LEVEL = 'phishing-resistant';

/**
 * Signs in with MFA (a code) at /overview, then opens /security/alerts, which steps
 * up to LEVEL: the provider's pages again, where `method` is chosen at the MFA step.
 */
async function stepUpToLevel(tab, ctx, method) {
  const p = PROVIDERS[ctx.provider];
  await tab.open('/overview');
  await expectSignInPage(tab, ctx.provider);
  await p.signIn(tab, p.users.mfaAtSignIn, { mfa: true, stepUp: false, until: at('/overview') });
  await tab.expectPage('/overview', 200, ['"area":"overview"', '"mfa":true']);
  // MFA, but not the level: /commerce/customers opens, /security/alerts steps up.
  await tab.open('/commerce/customers');
  await tab.expectPage('/commerce/customers', 200, ['"area":"customers"', '"mfa":true']);
  check(tab.trips === 1, `${tab.server.name}: ${tab.trips} provider round trips before /security/alerts, expected 1`);
  await tab.open('/security/alerts');
  await expectSignInPage(tab, ctx.provider);
  check(tab.trips === 2, `${tab.server.name}: no step-up round trip for /security/alerts (${tab.trips} in all)`);
  await p.signIn(tab, p.users.mfaAtSignIn, { mfa: true, method, stepUp: true, until: at('/security/alerts') });
}

/** A security key at the step-up to LEVEL opens /security/alerts. */
async function phishingResistant(tab, ctx) {
  await stepUpToLevel(tab, ctx, 'security-key');
  await tab.expectPage('/security/alerts', 200, ['"area":"security-workspace"', '"mfa":true']);
  check(tab.trips === 2, `${tab.server.name}: ${tab.trips} provider round trips, expected 2`);
  return { finalPath: tab.path(), status: tab.finalResponse().status(), providerTrips: tab.trips };
}

/** A code at the step-up to LEVEL: the 401 page naming the level. */
async function phishingResistantRefused(tab, ctx) {
  await stepUpToLevel(tab, ctx, 'otp');
  await tab.expectLevelRequiredPage('/security/alerts', LEVEL, ctx.statusTexts);
  check(tab.trips === 2, `${tab.server.name}: ${tab.trips} provider round trips, expected 2`);
  return {
    finalPath: tab.path(),
    status: tab.finalResponse().status(),
    statusText: tab.finalResponse().statusText(),
    providerTrips: tab.trips,
  };
}

/**
 * A session whose authentication is older than /billing/*'s max_age is stepped up:
 * password and MFA again, then the page.
 */
async function stale(tab, ctx) {
  const p = PROVIDERS[ctx.provider];
  await tab.open('/billing/invoices');
  await expectSignInPage(tab, ctx.provider);
  await p.signIn(tab, p.users.mfaAtSignIn, { mfa: true, stepUp: false, until: at('/billing/invoices') });
  const signedIn = Date.now();
  await tab.expectPage('/billing/invoices', 200, ['"area":"billing"', '"mfa":true']);
  check(tab.trips === 1, `${tab.server.name}: ${tab.trips} provider round trips to sign in, expected 1`);
  // auth_time is in whole seconds and the check is `now - auth_time > max_age`: one
  // second past max_age, and one for the rounding, after the sign-in finished.
  const wait = (ctx.maxAge + 2) * 1000 - (Date.now() - signedIn);
  log(`  ${tab.server.name}: wait ${wait} ms for the sign-in to be older than ${ctx.maxAge} s`);
  await tab.page.waitForTimeout(Math.max(wait, 0));
  await tab.open('/billing/invoices');
  await expectSignInPage(tab, ctx.provider);
  check(tab.trips === 2, `${tab.server.name}: no step-up round trip for a stale /billing/invoices (${tab.trips} in all)`);
  await p.signIn(tab, p.users.mfaAtSignIn, { mfa: true, stepUp: true, until: at('/billing/invoices') });
  await tab.expectPage('/billing/invoices', 200, ['"area":"billing"', '"mfa":true']);
  return { finalPath: tab.path(), status: tab.finalResponse().status(), providerTrips: tab.trips };
}

/**
 * The back-channel logout journey (see the header): the session ended at the
 * provider is refused on replica B, which got no call, and on A, which did.
 */
async function backChannelLogout(tab, ctx) {
  const [a, b] = ctx.servers;
  const p = PROVIDERS.oidc;
  const mfaPage = '/commerce/customers';
  await tab.open('/overview');
  await expectSignInPage(tab, 'oidc');
  await p.signIn(tab, p.users.mfaAtSignIn, { mfa: true, until: at('/overview') });
  await tab.expectPage('/overview', 200, ['"area":"overview"', '"mfa":true']);
  await tab.open(mfaPage);
  await tab.expectPage(mfaPage, 200, ['"area":"customers"', '"mfa":true']);
  const before = await tab.openAt(b, mfaPage);
  check(
    before.status() === 200 && tab.page.url() === b.origin + mfaPage,
    `${b.name}: before the logout the replica should open ${mfaPage} with A's session; got ${before.status()} at ${tab.page.url()}`,
  );
  check(tab.trips === 1, `${a.name}: ${tab.trips} provider round trips before the logout, expected 1`);

  // The provider's end-session endpoint, from its discovery document.
  const discovery = await (await fetch(`${ctx.issuer}/.well-known/openid-configuration`)).json();
  check(discovery.backchannel_logout_supported === true, 'the provider does not advertise back-channel logout');
  const endSession = discovery.end_session_endpoint;
  log(`  end the session at the provider: ${endSession}`);
  await tab.page.goto(endSession, { waitUntil: 'load' });
  // The confirmation page submits itself; the provider calls A, then shows its page.
  await tab.page.waitForSelector('body[data-step="logged-out"]');
  const signedOut = (await tab.page.innerText('h1')).trim();
  check(signedOut === 'Signed out', `the provider's page after the logout says ${JSON.stringify(signedOut)}`);
  check(tab.trips === 1, `ending the session at the provider made ${tab.trips - 1} round trips to its /auth`);
  const signedOutAt = new URL(tab.page.url()).pathname;
  log(`  wait ${ctx.propagationMs} ms for the revocation to reach ${b.name}`);
  await tab.page.waitForTimeout(ctx.propagationMs);

  // The cookies as they are now: B's refusal clears the session cookie, and A must
  // then be shown the same session, not a browser without one.
  const context = tab.page.context();
  const jar = await context.cookies();
  check(jar.some((c) => c.name.endsWith('mfa-guard')), `no session cookie after the logout: ${jar.map((c) => c.name)}`);
  const results = {};
  for (const [replica, expectedTrips] of [[b, 2], [a, 3]]) {
    if (replica === a) await context.addCookies(jar);
    const res = await tab.openAt(replica, mfaPage);
    const location = res.headers().location ?? '';
    check(
      res.status() === 302 && location.startsWith(`${ctx.issuer}/auth?`),
      `${replica.name}: after the logout ${mfaPage} should start a sign-in (302 to ${ctx.issuer}/auth), got ${res.status()} ${location}`,
    );
    await tab.page.waitForSelector('#sign-in');
    const landed = new URL(tab.page.url());
    check(
      landed.origin === new URL(ctx.issuer).origin && (await tab.page.innerText('h1')).trim() === 'Sign in',
      `${replica.name}: after the logout the browser should be on the provider's password step, it is at ${tab.page.url()}`,
    );
    check(tab.trips === expectedTrips, `${replica.name}: ${tab.trips} provider round trips, expected ${expectedTrips}`);
    results[replica === b ? 'replicaB' : 'replicaA'] = {
      status: res.status(),
      location: new URL(location).pathname,
      landedOn: landed.pathname,
    };
  }
  return {
    finalPath: tab.path(),
    status: tab.finalResponse().status(),
    providerTrips: tab.trips,
    replicaBBefore: before.status(),
    signedOutAt,
    propagationMs: ctx.propagationMs,
    ...results,
  };
}

const EXAMPLES = [
  [1, example1],
  [3, example3],
  [4, example4],
];

/** The journeys of the --assurance policy. */
const ASSURANCE_JOURNEYS = [
  ['phishing-resistant', phishingResistant],
  ['phishing-resistant-refused', phishingResistantRefused],
  ['stale', stale],
];

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new JourneyError(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (opts.screenshots) fs.mkdirSync(opts.screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const journeys = [];
  const failures = [];
  const statusTexts = [];
  try {
    let walks = opts.maxAge === null ? EXAMPLES : [...EXAMPLES, ...ASSURANCE_JOURNEYS];
    let servers = opts.servers;
    if (opts.backChannel !== null) {
      // One walk, from replica A's tab; B is opened in the same tab.
      walks = [['back-channel-logout', backChannelLogout]];
      servers = opts.servers.slice(0, 1);
    }
    for (const [index, server] of servers.entries()) {
      for (const [example, walk] of walks) {
        const what = `${server.name} example ${example}`;
        log(`${what} (${opts.provider} provider)`);
        const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
        const page = await context.newPage();
        const tab = new Tab(page, server, opts.provider);
        const ctx = {
          provider: opts.provider,
          maxAge: opts.maxAge,
          servers: opts.servers,
          issuer: opts.backChannel,
          propagationMs: opts.propagationMs,
          statusTexts,
          screenshot:
            opts.screenshots && index === 0 ? (name) => path.join(opts.screenshots, name) : null,
        };
        const started = Date.now();
        try {
          const result = await withTimeout(walk(tab, ctx), JOURNEY_TIMEOUT_MS, what);
          journeys.push({ server: server.name, example, ...result, ms: Date.now() - started });
          log(`${what}: ok (${result.providerTrips} provider round trips)`);
        } catch (e) {
          const message = e instanceof JourneyError ? e.message : `${what}: ${e.message ?? e}`;
          failures.push({
            server: server.name,
            example,
            error: message.split('\n')[0],
            url: page.url(),
            providerTrips: tab.trips,
          });
          log(`${what}: FAILED: ${message}`);
        } finally {
          await context.close().catch(() => {});
        }
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  const reason = [...new Set(statusTexts)];
  const out = failures.length === 0
    ? { ok: true, provider: opts.provider, reasonPhrases: reason, journeys }
    : { ok: false, provider: opts.provider, failures, journeys };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ ok: false, failures: [{ error: String(e?.message ?? e) }] })}\n`);
  process.exitCode = 1;
});
