// browser.mjs -- what every Chromium test file here starts from: how Debian's chromium
// is launched, playwright-core loaded (a missing node_modules is a failure with a clear
// message, not a skip), and the environment ctest passes in.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const kLaunch = {
  executablePath: process.env.TG_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

// playwright-core's chromium; call it in before().
export async function loadChromium() {
  try {
    return (await import('playwright-core')).chromium;
  } catch (err) {
    throw new Error(`playwright-core is not installed in ${here}/node_modules ` +
      `(${err.code ?? err.message}). Run scripts/setup.sh, or: cd tests/web && npm ci`);
  }
}

export function requireEnv(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through ctest, or set it (see the top of this file)`);
  return v;
}

// An init script (context.addInitScript): the page's WebSocket records the URL of every
// socket it opens in window.__wsUrls (where did the page connect, with what query).
export function recordSocketUrls() {
  const Native = window.WebSocket;
  window.__wsUrls = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      window.__wsUrls.push(String(url));
      super(url, protocols);
    }
  };
}
