import { createHmac } from 'node:crypto';

// The secret serve-deployed.sh gives the server (PULSEBOARD_JWT_SECRET): the tests sign their own
// publish tokens with it, as an outside issuer would (README, "Tokens").
export const E2E_JWT_SECRET = process.env.E2E_JWT_SECRET ?? 'pulseboard-end-to-end-tests-shared-secret';

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/// An HS256 token with these grants, for an hour.
function signedToken(grants: { publish?: string[]; subscribe?: string[] }): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ pulseboard: grants, iat: now, exp: now + 3600 }));
  const signature = createHmac('sha256', E2E_JWT_SECRET).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${signature}`;
}

/// An HS256 token that may publish to `patterns` for an hour.
export function publishToken(patterns: string[] = ['*']): string {
  return signedToken({ publish: patterns });
}

/// An HS256 token that may subscribe to `patterns` for an hour.
export function subscribeToken(patterns: string[] = ['*']): string {
  return signedToken({ subscribe: patterns });
}

/// Request headers that carry a publish token.
export function bearer(patterns: string[] = ['*']): Record<string, string> {
  return { Authorization: `Bearer ${publishToken(patterns)}` };
}
