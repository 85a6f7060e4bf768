import { defineConfig } from '@playwright/test';

// The suite runs against the release build deployed into an empty temporary directory (see
// serve-deployed.sh), so every run also proves README's deploy steps.
const port = Number(process.env.E2E_PORT ?? 3100);
// A second deployment whose streams all need a token, with tokens short enough to expire in a test.
const tokenPort = Number(process.env.E2E_TOKEN_PORT ?? port + 1);
const tokenSpec = /(token-expiry|tokens-required)\.spec\.ts/;

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    launchOptions: {
      // Debian's chromium: Playwright's own browser download is not reachable here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // pulseboard.test is the loopback address under a name that is not a secure context (no Web
      // Locks), for tabs.spec.ts's tests of a plain-HTTP LAN deployment.
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP pulseboard.test 127.0.0.1'],
    },
  },
  projects: [
    { name: 'default', testIgnore: tokenSpec, use: { baseURL: `http://127.0.0.1:${port}` } },
    { name: 'tokens-required', testMatch: tokenSpec, use: { baseURL: `http://127.0.0.1:${tokenPort}` } },
  ],
  webServer: [
    {
      command: `bash ./serve-deployed.sh ${port}`,
      url: `http://127.0.0.1:${port}/`,
      timeout: 60_000,
      reuseExistingServer: false,
      // A short heartbeat, so tabs.spec.ts sees a silent connection replaced within seconds (the
      // client learns the interval from the server's x-heartbeat-ms header).
      env: { PULSEBOARD_HEARTBEAT_SECS: '2' },
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: `bash ./serve-deployed.sh ${tokenPort}`,
      url: `http://127.0.0.1:${tokenPort}/healthz`,
      timeout: 60_000,
      reuseExistingServer: false,
      // Every stream needs a token; the browser session's tokens live 10 s (the shortest allowed)
      // and are refused the moment they expire, so token-expiry.spec.ts sees one run out;
      // tokens-required.spec.ts reads pages there.
      env: {
        PULSEBOARD_SUBSCRIBE_REQUIRES_TOKEN: 'true',
        PULSEBOARD_STREAM_TOKEN_TTL_SECS: '10',
        PULSEBOARD_JWT_LEEWAY_SECS: '0',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    },
  ],
});
