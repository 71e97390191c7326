import type { AuthenticateError, Client } from 'aedes';
import type { TokenClaims, TokenIssuer, Logger } from '@infra/core';

const claimsByClient = new WeakMap<Client, TokenClaims>();
const expiryTimers = new WeakMap<Client, NodeJS.Timeout>();
/** setTimeout's longest delay; a token living longer is checked again then */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function claimsOf(client: Client | null): TokenClaims | undefined {
  return client ? claimsByClient.get(client) : undefined;
}

function refuse(code: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code });
}

/** Who may use a client id (see sessions.ts). */
export interface ClientIdRules {
  mayUse(clientId: string, userId: string, clean: boolean): Promise<boolean>;
}

/**
 * Username = user id, password = a JWT from `infra token` whose subject is that user id.
 * No credentials: CONNACK 5 (not authorised). Bad or expired token, or a subject that is not the username: CONNACK 4.
 * A client id that another user is connected with, or whose persistent session another user owns: CONNACK 2
 * (identifier rejected), so nobody takes over someone else's connection or session.
 */
export function makeAuthenticate(issuer: TokenIssuer, log: Logger, clientIds?: ClientIdRules) {
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
        const live = (client as unknown as { broker: { clients: Record<string, Client | undefined> } }).broker.clients[client.id];
        const liveOwner = live && live !== client ? claimsOf(live)?.sub : undefined;
        if (liveOwner !== undefined && liveOwner !== claims.sub) {
          log.info({ clientId: client.id, username }, 'mqtt connect refused: client id in use by another user');
          done(refuse(2, 'client id in use by another user'), null);
          return;
        }
        const owned = clientIds ? clientIds.mayUse(client.id, claims.sub, client.clean) : Promise.resolve(true);
        return owned.then(
          (ok) => {
            if (!ok) {
              log.info({ clientId: client.id, username }, 'mqtt connect refused: persistent session of another user');
              done(refuse(2, 'client id belongs to another user’s session'), null);
              return;
            }
            claimsByClient.set(client, claims);
            closeAtExpiry(client, claims.exp * 1000, log);
            done(null, true);
          },
          (err: Error) => {
            log.error({ clientId: client.id, err: err.message }, 'mqtt connect refused: session owner lookup failed');
            done(refuse(5, 'not authorised'), null);
          },
        );
      },
      (err: Error) => {
        log.info({ clientId: client.id, username, reason: err.message }, 'mqtt connect refused: bad token');
        done(refuse(4, 'bad token'), null);
      },
    );
  };
}

/**
 * A connection lives no longer than its token: at `exp` the broker closes it (the device reconnects with a fresh
 * token; a persistent session keeps its queued messages meanwhile). Without this a token checked only at CONNECT
 * would outlive its expiry, or a revocation by rotating the secret, for as long as the socket stays up.
 */
function closeAtExpiry(client: Client, expiresAtMs: number, log: Logger): void {
  clearTimeout(expiryTimers.get(client));
  const wait = expiresAtMs - Date.now();
  const timer = setTimeout(() => {
    if (Date.now() < expiresAtMs) return closeAtExpiry(client, expiresAtMs, log);
    expiryTimers.delete(client);
    if (client.closed) return;
    log.info({ clientId: client.id }, 'mqtt token expired: connection closed');
    client.close();
  }, Math.max(0, Math.min(wait, MAX_TIMER_MS)));
  timer.unref();
  expiryTimers.set(client, timer);
}

/** Call when a client goes away: its expiry timer is no longer needed. */
export function forgetClient(client: Client): void {
  clearTimeout(expiryTimers.get(client));
  expiryTimers.delete(client);
}
