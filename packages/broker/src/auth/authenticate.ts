import type { AuthenticateError, Client } from 'aedes';
import type { TokenClaims, TokenIssuer, Logger } from '@infra/core';

const claimsByClient = new WeakMap<Client, TokenClaims>();

export function claimsOf(client: Client | null): TokenClaims | undefined {
  return client ? claimsByClient.get(client) : undefined;
}

function refuse(code: 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code });
}

/**
 * Username = user id, password = a JWT from `infra token` whose subject is that user id.
 * No credentials: CONNACK 5 (not authorised). Bad or expired token, or a subject that is not the username: CONNACK 4.
 */
export function makeAuthenticate(issuer: TokenIssuer, log: Logger) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void => {
    if (!username || !password || password.length === 0) {
      log.info({ clientId: client.id }, 'mqtt connect refused: no credentials');
      done(refuse(5, 'not authorised'), null);
      return;
    }
    issuer.verify(password.toString('utf8')).then(
      (claims) => {
        if (claims.sub !== username) {
          log.info({ clientId: client.id, username }, 'mqtt connect refused: token subject is not the username');
          done(refuse(4, 'token subject does not match username'), null);
          return;
        }
        claimsByClient.set(client, claims);
        done(null, true);
      },
      (err: Error) => {
        log.info({ clientId: client.id, username, reason: err.message }, 'mqtt connect refused: bad token');
        done(refuse(4, 'bad token'), null);
      },
    );
  };
}
