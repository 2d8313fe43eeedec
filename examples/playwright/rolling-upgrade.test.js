// The seed's rolling upgrade (AsyncOS 9.1.2 to 9.5.0) through the console, and a cut link: each test in
// a fresh fleet whose clock stands still until the test advances it. Every control is found by its role
// and accessible name, as docs/testing.md's selector contract lists them.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Fleet, TIMEOUT, accountMenu, launch, login } from './clusterdeck.js';

const CLUSTER = ['losangeles.example.com', 'newyork.example.com', 'sf.example.com'];

let browser;
let context;
let page;
let fleet;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

beforeEach(async () => {
  fleet = await Fleet.create({ fixture: 'americas' });
  await fleet.clock({ freeze: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  page = await context.newPage();
});

afterEach(async (t) => {
  await context?.close();
  if (!fleet) return;
  // A failed test leaves its fleet's event log for the report.
  if (t.passed === false) {
    const log = join(tmpdir(), `${fleet.id}.jsonl`);
    await writeFile(log, await fleet.export());
    console.log(`the fleet's event log: ${log}`);
  }
  await fleet.delete();
  fleet = undefined;
});

const exact = (name) => ({ name, exact: true });

/** The host's row on the overview. */
const machine = (host) => page.getByRole('listitem', exact(`Machine ${host}`));

/** The host's actions on its own page. */
const actions = (host) => page.getByRole('region', exact(`Actions on ${host}`));

/** The outcome of the last action on the host's page, once it says `text`. */
const outcome = (host, text) => actions(host).getByRole('status').filter({ hasText: text }).waitFor();

/** The host's state badge on the overview, once it reads exactly `state`. */
const badge = (host, state) => machine(host).getByText(state, { exact: true }).waitFor();

const listener = (host, state) =>
  page
    .getByRole('region', exact(`Listeners of ${host}`))
    .getByRole('listitem')
    .filter({ hasText: new RegExp(`^InboundMail: ${state}$`) })
    .waitFor();

/** From the overview, as a person gets there: the machine's name is a link to its page. */
async function openMachinePage(host) {
  await page.getByRole('navigation', exact('Main')).getByRole('link', exact('Overview')).click();
  await machine(host).getByRole('link', exact(host)).click();
  await page.getByRole('heading', { level: 1, name: host }).waitFor();
}

async function upgradeFromItsPage(host) {
  await openMachinePage(host);
  // Upgrading acts on the machine one is logged into: open a session on it, or switch to the one this
  // browser kept from before.
  const open = actions(host).getByRole('link', exact(`Open a session on ${host}`));
  const kept = actions(host).getByRole('button', exact(`Switch to your session on ${host}`));
  await open.or(kept).waitFor();
  if (await open.isVisible()) {
    await open.click();
    await page.getByRole('textbox', exact('Password')).fill('ironport');
    await page.getByRole('button', exact('Open session')).click();
  } else {
    await kept.click();
  }
  await accountMenu(page, 'admin', host).waitFor();

  await actions(host).getByRole('button', exact('Disconnect')).click();
  await outcome(host, `${host} is now disconnected`);
  await actions(host).getByRole('button', exact('Suspend listeners')).click();
  await listener(host, 'suspended');

  await actions(host).getByRole('button', exact('Upgrade')).click();
  // Disconnected first, it upgrades alone: the question's answer says so.
  await page.getByRole('dialog').getByRole('button', exact(`Upgrade ${host}`)).click();
  await outcome(host, `Upgrading ${host} to AsyncOS 9.5.0`);

  // Install and reboot take 420 simulated seconds: done when the call answers.
  await fleet.clock({ advance_seconds: 600 });
  await page.getByRole('region', exact(`About ${host}`)).getByText('AsyncOS 9.5.0', { exact: true }).waitFor();
  await page.getByRole('heading', { level: 1 }).filter({ hasText: 'disconnected (detached)' }).waitFor();

  await actions(host).getByRole('button', exact('Resume')).click();
  await listener(host, 'accepting');
}

test('rolling upgrade of the Americas cluster', { timeout: 60_000 }, async () => {
  await login(page, fleet);
  for (const host of CLUSTER) {
    await upgradeFromItsPage(host);
  }
  // Logged into sf now: it reconnects first (the cluster is then on 9.5.0), then the others join it.
  for (const [host, says] of [
    ['sf.example.com', 'now runs AsyncOS 9.5.0'],
    ['losangeles.example.com', 'losangeles.example.com is reconnected'],
    ['newyork.example.com', 'newyork.example.com is reconnected'],
  ]) {
    await openMachinePage(host);
    await actions(host).getByRole('button', exact('Reconnect')).click();
    await outcome(host, says);
  }
  await page.getByRole('navigation', exact('Main')).getByRole('link', exact('Overview')).click();
  for (const host of CLUSTER) {
    await machine(host).getByText('AsyncOS 9.5.0', { exact: true }).waitFor();
    await badge(host, 'connected');
  }
});

test('a cut link shows on the overview', { timeout: 60_000 }, async () => {
  await login(page, fleet);
  // Links route through peers: with losangeles disconnected, newyork and sf have only their own.
  await openMachinePage('losangeles.example.com');
  await actions('losangeles.example.com').getByRole('button', exact('Disconnect')).click();
  await outcome('losangeles.example.com', 'is now disconnected');
  await page.getByRole('navigation', exact('Main')).getByRole('link', exact('Overview')).click();
  await badge('sf.example.com', 'connected');

  const between = ['newyork.example.com', 'sf.example.com'];
  await fleet.fault({ kind: 'link', between, state: 'down' });
  await badge('sf.example.com', 'disconnected (link down)');
  await badge('newyork.example.com', 'disconnected (link down)');

  await fleet.fault({ kind: 'link', between, state: 'up' });
  await badge('sf.example.com', 'connected');
  await badge('newyork.example.com', 'connected');
});
