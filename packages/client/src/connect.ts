import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '@infra/core/topics';

/** the default im.heartbeat (packages/core config schema) */
export const DEFAULT_KEEPALIVE_S = 60;

export interface ConnectOptions {
  /** mqtt://host:1883 or ws://host:8080/mqtt */
  url: string;
  /** the user id; must equal the token's subject */
  userId: string;
  /** a JWT from `infra token` or POST /api/v1/auth/tokens */
  token: string;
  clientId?: string;
  /** keep the session (and its QoS 1 queue) across reconnects */
  persistentSession?: boolean;
  /**
   * seconds between keepalive pings; the broker marks the device offline after 1.5 × this without traffic. Default:
   * 60, the default im.heartbeat (InfraChat.connect reads the broker's actual im.heartbeat when this is not given).
   * A value of 0 or above im.heartbeat does not stop the broker from closing a connection silent for 1.5 × im.heartbeat.
   */
  keepalive?: number;
  /** ms between reconnect attempts (0 = never reconnect) */
  reconnectPeriod?: number;
}

/**
 * Connects to an infra broker with the settings it needs: MQTT 3.1.1 (aedes refuses v5),
 * username = user id, password = token. Subscribes to the user's own inbox.
 */
export async function connectInfra(opts: ConnectOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(opts.url, {
    protocolVersion: 4,
    username: opts.userId,
    password: opts.token,
    clientId: opts.clientId ?? `${opts.userId}-${Math.random().toString(16).slice(2, 10)}`,
    clean: !opts.persistentSession,
    reconnectPeriod: opts.reconnectPeriod ?? 1000,
    keepalive: opts.keepalive ?? DEFAULT_KEEPALIVE_S,
  });
  await client.subscribeAsync(topics.imUser(opts.userId), { qos: 1 });
  return client;
}
