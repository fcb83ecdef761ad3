// Headless Chromium walks the seed's browser journeys through a proxy (nginx or
// Caddy, with the shipped recipe) that asks `mfa-guard serve`, in front of a plain
// Python application (tests/upstream/echo.py): people signed in and stepped up at
// the gate. The application shows the identity headers it received as JSON in
// <pre id="identity">.
//
//   node gate.mjs --gate NAME=URL [--provider dev|oidc] [--screenshots DIR]
//
// The provider, on an origin of its own: `dev` (the default), the development
// identity server, whose sign-in page is /dev-idp/authorize; `oidc`, oidc-provider
// (tests/idp/provider.mjs) and its interactive pages (password step, MFA step; its
// authorization endpoint is /auth, its end-session endpoint sends the browser back
// to /.mfa-guard/signed-out). Examples, each in a fresh browser context:
//   1  MFA at sign-in at /overview; /commerce/customers opens without a second
//      prompt (1 provider round trip);
//   3  password at /overview; /commerce/customers steps up to MFA (a 2nd round trip)
//      and opens; sign out at /.mfa-guard/sign-out (its button; with oidc, through
//      the provider's end-session endpoint) lands on /.mfa-guard/signed-out with the
//      session cookie gone; all again (2 + 2);
//   4  a user whose MFA is not `mfa`: the step-up ends on the 401 page, whose status
//      line and <h1> say "Unauthorized - MFA required"; /billing/invoices shows it
//      again with no new round trip (2).
//
// Stdout: ONE line of JSON, {"ok":true,"journeys":[...]} or {"ok":false,...}; exit
// 1 on failure. Progress on stderr. Chromium: /usr/bin/chromium unless CHROMIUM.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium } from 'playwright-core';

import { signInAtProvider } from './oidc-provider.mjs';

const JOURNEY_TIMEOUT_MS = Number(process.env.JOURNEY_TIMEOUT_MS ?? 20000);
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS ?? 5000);
const REASON = 'Unauthorized - MFA required';
const PREFIX = '/.mfa-guard/';
const AUTHORIZE = '/dev-idp/authorize';

function usage(why) {
  process.stderr.write(`${why}\nusage: node gate.mjs --gate NAME=URL [--provider dev|oidc] [--screenshots DIR]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { gate: null, provider: 'dev', screenshots: null };
  for (let i = 0; i < argv.length; i++) {
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${argv[i]} needs a value`));
    if (argv[i] === '--gate') {
      const spec = value();
      const eq = spec.indexOf('=');
      if (eq <= 0) usage(`--gate ${spec}: expected NAME=URL`);
      opts.gate = { name: spec.slice(0, eq), origin: new URL(spec.slice(eq + 1)).origin };
    } else if (argv[i] === '--provider') {
      opts.provider = value();
      if (!(opts.provider in PROVIDERS)) usage(`--provider ${opts.provider}: dev or oidc`);
    } else if (argv[i] === '--screenshots') {
      opts.screenshots = value();
    } else {
      usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!opts.gate) usage('--gate is needed');
  return opts;
}

const log = (msg) => process.stderr.write(`[gate] ${msg}\n`);

class JourneyError extends Error {}

function check(cond, what) {
  if (!cond) throw new JourneyError(what);
}

/** A tab: the provider round trips it made and its main-frame responses. */
class Tab {
  constructor(page, gate, provider) {
    this.page = page;
    this.gate = gate;
    this.provider = provider;
    this.trips = 0;
    this.navigations = [];
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (req.method() === 'GET' && req.isNavigationRequest() && provider.isAuthorize(url, gate)) {
        this.trips += 1;
        log(`  ${gate.name}: provider round trip #${this.trips}`);
      }
    });
    page.on('response', (res) => {
      if (res.request().isNavigationRequest() && res.frame() === page.mainFrame()) this.navigations.push(res);
    });
  }

  path() {
    return new URL(this.page.url()).pathname;
  }

  finalResponse() {
    const url = this.page.url();
    for (let i = this.navigations.length - 1; i >= 0; i--) {
      const res = this.navigations[i];
      if (res.url() === url && !(res.status() >= 300 && res.status() < 400)) return res;
    }
    return null;
  }

  async open(pathname) {
    log(`  ${this.gate.name}: open ${pathname}`);
    await this.page.goto(this.gate.origin + pathname, { waitUntil: 'load' });
  }

  async submit(selector, until) {
    await Promise.all([this.page.waitForURL(until, { waitUntil: 'load' }), this.page.click(selector)]);
  }

  /** The application's page at `pathname`, 200, and the identity it received. */
  async expectApplication(pathname) {
    const where = `${this.gate.name}: ${pathname}`;
    check(this.path() === pathname, `${where}: the browser is at ${this.page.url()}`);
    const res = this.finalResponse();
    check(res?.status() === 200, `${where}: status ${res?.status()}: ${(await this.page.innerText('body')).slice(0, 300)}`);
    const identity = JSON.parse(await this.page.innerText('#identity'));
    check(identity.path === pathname, `${where}: the application saw ${identity.path}`);
    check(identity.kind === 'user', `${where}: the application saw no user: ${JSON.stringify(identity)}`);
    return identity;
  }

  /** The 401 page of a user whose MFA is not recognised, at `pathname`. */
  async expectMfaRequiredPage(pathname) {
    const where = `${this.gate.name}: ${pathname}`;
    check(this.path() === pathname, `${where}: the browser is at ${this.page.url()}`);
    const res = this.finalResponse();
    check(res?.status() === 401, `${where}: status ${res?.status()}, expected 401`);
    const h1 = (await this.page.innerText('h1')).trim();
    check(h1 === REASON, `${where}: the 401 page's <h1> is ${JSON.stringify(h1)}`);
    const answered = await this.page.locator('#identity').count();
    check(answered === 0, `${where}: the application answered instead of the gate`);
    return res;
  }
}

/** The sign-in pages of each provider, driven by clicks. */
const PROVIDERS = {
  dev: {
    users: { mfaAtSignIn: 'admin', admin: 'admin', incompatible: 'incompatible' },
    isAuthorize: (url) => url.pathname === AUTHORIZE,
    /** Signs `user` in on the development sign-in page shown (`mfa`: password + MFA). */
    async signIn(tab, user, { mfa, stepUp, until }) {
      const page = tab.page;
      check(tab.path() === AUTHORIZE, `${tab.gate.name}: expected the sign-in page, at ${page.url()}`);
      check(new URL(page.url()).origin !== tab.gate.origin, `${tab.gate.name}: the provider is on the gate's origin`);
      const asked = await page.locator('#mfa-requested').count();
      check(asked === (stepUp ? 1 : 0), `${tab.gate.name}: the sign-in page ${asked ? 'asks' : 'does not ask'} for MFA`);
      await page.check(`#user-${user}`);
      await tab.submit(mfa ? '#sign-in-mfa' : '#sign-in-password', until);
    },
  },
  oidc: {
    users: { mfaAtSignIn: 'mfa-at-sign-in', admin: 'admin-agent', incompatible: 'incompatible-mfa' },
    // The authorization endpoint; /auth/:uid (resuming after the login) is the
    // same round trip, not a new one.
    isAuthorize: (url, gate) => url.origin !== gate.origin && url.pathname === '/auth',
    /** The password step and, with `mfa`, the MFA step (a code) of oidc-provider. */
    signIn(tab, account, { mfa, until }) {
      return signInAtProvider(tab.page, {
        name: tab.gate.name,
        home: tab.gate.origin,
        account,
        mfa,
        submit: (selector) => tab.submit(selector, until),
        check,
      });
    },
  },
};

/** A sign-in page of the provider is shown: the browser left the gate for it. */
async function expectSignInPage(tab, what) {
  check(new URL(tab.page.url()).origin !== tab.gate.origin, `${tab.gate.name}: ${what} (at ${tab.page.url()})`);
  if (tab.provider === PROVIDERS.oidc) await tab.page.waitForSelector('#sign-in');
  else check(tab.path() === AUTHORIZE, `${tab.gate.name}: ${what} (at ${tab.page.url()})`);
}

/** Signs `role` (a key of the provider's `users`) in on the sign-in page shown. */
function signIn(tab, role, options) {
  return tab.provider.signIn(tab, tab.provider.users[role], options);
}

const at = (pathname) => (url) => url.pathname === pathname;

async function example1(tab, ctx) {
  await tab.open('/overview');
  await expectSignInPage(tab, '/overview did not send the browser to sign in');
  await signIn(tab, 'mfaAtSignIn', { mfa: true, stepUp: false, until: at('/overview') });
  const overview = await tab.expectApplication('/overview');
  check(overview.mfa === 'true', `${tab.gate.name}: /overview without MFA: ${JSON.stringify(overview)}`);
  if (ctx.screenshot) await tab.page.screenshot({ path: ctx.screenshot('gate-application.png') });
  await tab.open('/commerce/customers');
  const customers = await tab.expectApplication('/commerce/customers');
  check(tab.trips === 1, `${tab.gate.name}: the MFA page cost another round trip (${tab.trips})`);
  return { finalPath: tab.path(), status: 200, providerTrips: tab.trips, identity: customers };
}

async function passwordThenStepUp(tab) {
  const before = tab.trips;
  await tab.open('/overview');
  await expectSignInPage(tab, '/overview did not send the browser to sign in');
  await signIn(tab, 'admin', { mfa: false, stepUp: false, until: at('/overview') });
  const overview = await tab.expectApplication('/overview');
  check(overview.mfa === 'false', `${tab.gate.name}: /overview: ${JSON.stringify(overview)}`);
  await tab.open('/commerce/customers');
  await expectSignInPage(tab, '/commerce/customers did not step up');
  await signIn(tab, 'admin', { mfa: true, stepUp: true, until: at('/commerce/customers') });
  const customers = await tab.expectApplication('/commerce/customers');
  check(customers.mfa === 'true', `${tab.gate.name}: /commerce/customers: ${JSON.stringify(customers)}`);
  return tab.trips - before;
}

async function example3(tab) {
  const firstDay = await passwordThenStepUp(tab);
  log(`  ${tab.gate.name}: sign out`);
  await tab.open(`${PREFIX}sign-out`);
  check(tab.finalResponse()?.status() === 200, `${tab.gate.name}: the sign-out page is not 200`);
  // With oidc the button's POST goes on to the provider's end-session endpoint,
  // whose confirmation page submits itself and sends the browser back to the
  // signed-out page (the post-logout URI): none of it is a sign-in round trip.
  const tripsBefore = tab.trips;
  await tab.submit('#sign-out', at(`${PREFIX}signed-out`));
  check(new URL(tab.page.url()).origin === tab.gate.origin, `${tab.gate.name}: sign-out ended at ${tab.page.url()}`);
  check(tab.trips === tripsBefore, `${tab.gate.name}: signing out made a sign-in round trip`);
  const cookies = await tab.page.context().cookies(tab.gate.origin);
  check(!cookies.some((c) => c.name === 'mfa-guard'), `${tab.gate.name}: the session cookie survived the sign-out`);
  const landing = tab.path();
  const secondDay = await passwordThenStepUp(tab);
  return {
    finalPath: tab.path(),
    status: 200,
    providerTripsBeforeSignOut: firstDay,
    providerTripsAfterSignOut: secondDay,
    signOutLanding: landing,
  };
}

async function example4(tab, ctx) {
  await tab.open('/overview');
  await expectSignInPage(tab, '/overview did not send the browser to sign in');
  await signIn(tab, 'incompatible', { mfa: false, stepUp: false, until: at('/overview') });
  await tab.expectApplication('/overview');
  await tab.open('/commerce/customers');
  await expectSignInPage(tab, '/commerce/customers did not step up');
  await signIn(tab, 'incompatible', { mfa: true, stepUp: true, until: at('/commerce/customers') });
  const first = await tab.expectMfaRequiredPage('/commerce/customers');
  if (ctx.screenshot) await tab.page.screenshot({ path: ctx.screenshot('gate-mfa-required.png') });
  await tab.open('/billing/invoices');
  const res = await tab.expectMfaRequiredPage('/billing/invoices');
  check(tab.trips === 2, `${tab.gate.name}: /billing/invoices made a new round trip (${tab.trips})`);
  return {
    finalPath: tab.path(),
    status: res.status(),
    statusText: res.statusText(),
    firstStatusText: first.statusText(),
    providerTrips: tab.trips,
  };
}

const EXAMPLES = [
  [1, example1],
  [3, example3],
  [4, example4],
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
  if (opts.screenshots) fs.mkdirSync(opts.screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const journeys = [];
  const failures = [];
  try {
    for (const [example, walk] of EXAMPLES) {
      const what = `${opts.gate.name} example ${example}`;
      log(what);
      const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
      const tab = new Tab(await context.newPage(), opts.gate, PROVIDERS[opts.provider]);
      const ctx = { screenshot: opts.screenshots ? (name) => path.join(opts.screenshots, name) : null };
      try {
        const result = await withTimeout(walk(tab, ctx), JOURNEY_TIMEOUT_MS, what);
        journeys.push({ gate: opts.gate.name, provider: opts.provider, example, ...result });
      } catch (e) {
        const message = e instanceof JourneyError ? e.message : `${what}: ${e.message ?? e}`;
        failures.push({ gate: opts.gate.name, example, error: message.split('\n')[0], url: tab.page.url() });
        log(`${what}: FAILED: ${message}`);
      } finally {
        await context.close().catch(() => {});
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  const out = failures.length === 0 ? { ok: true, journeys } : { ok: false, failures, journeys };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ ok: false, failures: [{ error: String(e?.message ?? e) }] })}\n`);
  process.exitCode = 1;
});
