// Cognito's InitiateAuth over plain fetch (no AWS SDK): USER_PASSWORD_AUTH to sign in, REFRESH_TOKEN_AUTH to
// renew. The endpoint and ids come from GET /api/auth/config; locally the endpoint is a same-origin path that
// `lamina up` forwards to the AWS emulator.

import type { Credential } from './session';

export interface AuthConfig {
  region: string;
  user_pool_id: string;
  client_id: string;
  cognito_endpoint: string;
}

export class CognitoError extends Error {}

interface AuthenticationResult {
  AccessToken: string;
  ExpiresIn: number;
  RefreshToken?: string;
}

async function initiateAuth(
  config: AuthConfig,
  flow: 'USER_PASSWORD_AUTH' | 'REFRESH_TOKEN_AUTH',
  parameters: Record<string, string>,
): Promise<AuthenticationResult> {
  const response = await fetch(config.cognito_endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'AWSCognitoIdentityProviderService.InitiateAuth',
    },
    body: JSON.stringify({ AuthFlow: flow, ClientId: config.client_id, AuthParameters: parameters }),
  });
  const body = (await response.json().catch(() => ({}))) as {
    AuthenticationResult?: AuthenticationResult;
    ChallengeName?: string;
    message?: string;
    __type?: string;
  };
  if (!response.ok) {
    throw new CognitoError(body.message ?? body.__type ?? `Cognito answered ${response.status}`);
  }
  if (!body.AuthenticationResult) {
    throw new CognitoError(`Cognito asks for ${body.ChallengeName ?? 'a challenge'}, which the UI does not handle`);
  }
  return body.AuthenticationResult;
}

export async function signInWithPassword(
  config: AuthConfig,
  email: string,
  password: string,
): Promise<Credential> {
  const result = await initiateAuth(config, 'USER_PASSWORD_AUTH', { USERNAME: email, PASSWORD: password });
  return {
    kind: 'cognito',
    email,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken ?? '',
    expiresAt: Date.now() + result.ExpiresIn * 1000,
  };
}

export async function refresh(
  config: AuthConfig,
  credential: Extract<Credential, { kind: 'cognito' }>,
): Promise<Credential> {
  const result = await initiateAuth(config, 'REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: credential.refreshToken });
  return {
    ...credential,
    accessToken: result.AccessToken,
    expiresAt: Date.now() + result.ExpiresIn * 1000,
  };
}
