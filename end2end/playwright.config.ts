import { defineConfig } from '@playwright/test';

// The suite runs against the release build deployed into an empty temporary directory (see
// serve-deployed.sh), so every run also proves README's deploy steps.
const port = Number(process.env.E2E_PORT ?? 3100);

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      // Debian's chromium: Playwright's own browser download is not reachable here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
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
});
