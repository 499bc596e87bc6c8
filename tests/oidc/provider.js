// A real OpenID Connect provider for the OAuth sign-in tests, listening on 127.0.0.1 only.
//
// Clients and accounts are static, read from the JSON file named by $OIDC_FIXTURE:
//   {"clients": [...oidc-provider client metadata], "accounts": {"<sub>": {claims}}}
// Sign-in uses oidc-provider's own development login and consent pages; any password works.
// $CLOCK_SKEW_SECONDS runs the provider's clock off by that much, so that the tokens it issues
// are already expired when the hub receives them.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const fixture = JSON.parse(readFileSync(process.env.OIDC_FIXTURE, 'utf8'));
const skew = Number(process.env.CLOCK_SKEW_SECONDS || 0);
if (skew) {
  const realNow = Date.now;
  Date.now = () => realNow() + skew * 1000;
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: fixture.clients,
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name', 'school', 'classes', 'role', 'district'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false,
  cookies: { keys: ['aiclass-test-only-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  ttl: { AccessToken: 600, IdToken: 600, Session: 3600, Interaction: 3600, Grant: 3600 },
  async findAccount(ctx, id) {
    const claims = fixture.accounts[id];
    if (!claims) {
      return undefined;
    }
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
});

createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
