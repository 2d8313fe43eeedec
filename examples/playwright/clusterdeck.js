// Helpers for a Playwright suite against Clusterdeck (docs/testing.md): the test API's client, a fresh
// fleet per test, the system's Chromium, and the login form.

import { chromium } from 'playwright-core';

/** The server: a `clusterdeck serve --test-api`. */
export const serverUrl = (process.env.CLUSTERDECK_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');

/** How long a page may take to show what a test waits for. */
export const TIMEOUT = 15_000;

/** A request to the test API (no session, no Origin); the answer's text, or an error naming its code. */
async function testApi(method, path, body) {
  const r = await fetch(`${serverUrl}/api/v1/test${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) {
    let why = text;
    try {
      const e = JSON.parse(text);
      why = `${e.code}: ${e.message}`;
    } catch {}
    throw new Error(`${method} /api/v1/test${path}: ${r.status} ${why}`);
  }
  return text;
}

/** A test fleet: its id (what the login form's Fleet field takes), its clock, faults, export. */
export class Fleet {
  constructor(id) {
    this.id = id;
  }

  /** A fresh fleet from a fixture (`{ fixture: 'americas' }`) or a script (`{ script }`). */
  static async create(from = { fixture: 'americas' }) {
    return new Fleet(JSON.parse(await testApi('POST', '/fleets', from)).fleet);
  }

  /** One of `{ freeze: true|false }`, `{ advance_seconds: n }`, `{ speed: x }`; the clock after it. */
  async clock(change) {
    return JSON.parse(await testApi('POST', `/fleets/${this.id}/clock`, change));
  }

  /** A simulator control (rules §16.1), e.g. `{ kind: 'link', between: [a, b], state: 'down' }`. */
  async fault(control) {
    return JSON.parse(await testApi('POST', `/fleets/${this.id}/faults`, control));
  }

  /** The fleet's event log, JSON Lines. */
  async export() {
    return testApi('GET', `/fleets/${this.id}/export`);
  }

  async delete() {
    await testApi('DELETE', `/fleets/${this.id}`);
  }
}

/** Headless Chromium: the system's (`CHROMIUM`), so nothing is downloaded. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** The account menu in the header once it names `user` on `host` ("admin on newyork"). */
export function accountMenu(page, user, host) {
  return page.locator('header').getByText(`${user} on ${host.split('.')[0]}`, { exact: true });
}

/** Logs in to `fleet` through the login form: `/?fleet=<id>` fills in the fleet. */
export async function login(page, fleet, { user = 'admin', password = 'ironport', host = 'newyork.example.com' } = {}) {
  await page.goto(`${serverUrl}/?fleet=${fleet.id}`);
  await page.getByRole('textbox', { name: 'User', exact: true }).fill(user);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
  await page.getByRole('textbox', { name: 'Login host', exact: true }).fill(host);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await accountMenu(page, user, host).waitFor();
}
