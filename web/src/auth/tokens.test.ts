import { session } from './session';
import { freshCredential } from './tokens';

const CONFIG = { region: 'us-east-1', user_pool_id: 'pool', client_id: 'client', cognito_endpoint: '/idp/' };

function answer(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('freshCredential', () => {
  afterEach(() => {
    session.clear();
    vi.unstubAllGlobals();
  });

  it('refreshes a token about to expire once, however many requests ask', async () => {
    // GIVEN a Cognito session whose access token expires in 10 s
    session.setCredential({
      kind: 'cognito',
      email: 'dev@lamina.local',
      accessToken: 'old',
      refreshToken: 'refresh-me',
      expiresAt: Date.now() + 10_000,
    });
    const calls: { url: string; body?: string }[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      calls.push({ url, body: init?.body as string | undefined });
      if (url === '/api/auth/config') return answer(CONFIG);
      return answer({ AuthenticationResult: { AccessToken: 'new', ExpiresIn: 3600 } });
    });
    // WHEN three requests want a credential at once
    const credentials = await Promise.all([freshCredential(), freshCredential(), freshCredential()]);
    // THEN Cognito was asked once, with the refresh token, and every request got the new token
    const refreshes = calls.filter((c) => c.url === '/idp/');
    expect(refreshes).toHaveLength(1);
    expect(JSON.parse(refreshes[0].body!)).toMatchObject({
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      ClientId: 'client',
      AuthParameters: { REFRESH_TOKEN: 'refresh-me' },
    });
    expect(credentials.map((c) => c?.kind === 'cognito' && c.accessToken)).toEqual(['new', 'new', 'new']);
    // AND the stored session kept its refresh token, with the new expiry
    const stored = session.credential();
    expect(stored).toMatchObject({ accessToken: 'new', refreshToken: 'refresh-me' });
    expect(stored?.kind === 'cognito' && stored.expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it('signs out when the refresh token is refused', async () => {
    session.setCredential({
      kind: 'cognito',
      email: 'dev@lamina.local',
      accessToken: 'old',
      refreshToken: 'revoked',
      expiresAt: Date.now() - 1,
    });
    vi.stubGlobal('fetch', async (url: string) =>
      url === '/api/auth/config'
        ? answer(CONFIG)
        : answer({ __type: 'NotAuthorizedException', message: 'Refresh Token has been revoked' }, 400),
    );
    expect(await freshCredential()).toBeNull();
    expect(session.credential()).toBeNull();
  });
});
