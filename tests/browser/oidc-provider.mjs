// Driving the sign-in pages of the test OpenID provider (tests/idp/provider.mjs,
// oidc-provider): one driver for the journeys in-process (journeys.mjs) and at the
// gate (gate.mjs), so both walk the provider's pages the same way.

/**
 * Signs `account` in on the provider's password step and, with `mfa`, its MFA step:
 * the code, or with `method: 'security-key'` the security key.
 *
 * `name` names the server or gate in failures; `home` is its origin, which the
 * provider's page must not be on; `submit(selector)` clicks and waits as the caller
 * waits for a navigation; `check(ok, message)` is the caller's assertion.
 */
export async function signInAtProvider(page, { name, home, account, mfa, method = 'otp', submit, check }) {
  await page.waitForSelector('#sign-in');
  check(
    new URL(page.url()).origin !== home,
    `${name}: expected the provider's password step, the browser is at ${page.url()}`,
  );
  const h1 = (await page.innerText('h1')).trim();
  check(h1 === 'Sign in', `${name}: the password step's <h1> is ${h1}`);
  await page.check(`#account-${account}`);
  await page.fill('#password', 'password');
  if (!mfa) {
    await submit('#sign-in');
    return;
  }
  await Promise.all([page.waitForSelector('#otp'), page.click('#sign-in')]);
  const step = (await page.innerText('h1')).trim();
  check(step === 'Verify your identity', `${name}: the MFA step's <h1> is ${step}`);
  if (method === 'security-key') {
    await submit('#security-key');
    return;
  }
  await page.fill('#otp', '123456');
  await submit('#verify');
}
