/**
 * Gate 1's two kinds of credential: a JWT from the identity provider (TokenVerifier.ts)
 * or a service account's API key (ApiKeyVerifier.ts). An API key is recognised by its
 * prefix (`ghk_`), so it may come as a bearer token as well as in `X-API-Key`.
 */
import { API_KEY_PREFIX } from './apiKeys.js';
import type { Principal } from './Principal.js';
import type { TokenVerifier } from './TokenVerifier.js';

export interface CredentialVerifier {
  /** A bearer credential: an API key when it has the prefix, else a JWT. */
  verifyBearer(credential: string): Promise<Principal>;
  /** An `X-API-Key` value: an API key only. */
  verifyApiKey(key: string): Promise<Principal>;
}

export function credentialVerifier(verifiers: {
  readonly jwt: TokenVerifier;
  readonly apiKey: TokenVerifier;
}): CredentialVerifier {
  return {
    verifyBearer: (credential) =>
      credential.startsWith(API_KEY_PREFIX)
        ? verifiers.apiKey.verify(credential)
        : verifiers.jwt.verify(credential),
    verifyApiKey: (key) => verifiers.apiKey.verify(key),
  };
}
