import type { EventEmitter } from 'node:events';

/** The longest keepalive MQTT can express (a 16-bit number of seconds). */
export const MAX_KEEPALIVE_S = 65_535;

interface Watched {
  timer: NodeJS.Timeout;
  parser: EventEmitter;
  onPacket: () => void;
}

/**
 * Bounded offline detection for connections the MQTT keepalive does not bound: a client that asked for keepalive 0
 * (no keepalive at all) or one longer than im.heartbeat. Such a connection is closed once it has sent nothing for
 * 1.5 × the heartbeat, which turns its presence offline and publishes its will, as a keepalive timeout would.
 * MQTT 3.1.1 §3.1.2.10 lets a server disconnect a client it finds inactive whatever keepalive the client gave; the
 * CONNACK stays 0 (aedes' keepaliveLimit would answer return code 6, which 3.1.1 does not have).
 * Clients whose keepalive is at most the heartbeat are left to the broker's own 1.5 × keepalive timer.
 */
export class IdleWatch {
  private readonly declared = new WeakMap<object, number>();
  private readonly watched = new WeakMap<object, Watched>();
  readonly limitMs: number;

  constructor(
    readonly heartbeatS: number,
    private readonly onIdle: (client: object) => void,
  ) {
    this.limitMs = heartbeatS * 1500;
  }

  /** at CONNECT: the keepalive (seconds) the client asked for */
  connecting(client: object, keepaliveS: number): void {
    this.declared.set(client, keepaliveS);
  }

  /**
   * After CONNACK: watch the connection when its keepalive does not bound it. `parser` is the connection's MQTT
   * packet parser: every packet it emits restarts the timer (Timeout.refresh, nothing allocated per packet).
   */
  connected(client: object, parser: EventEmitter | undefined): void {
    const keepalive = this.declared.get(client) ?? 0;
    this.declared.delete(client);
    if (!parser || (keepalive > 0 && keepalive <= this.heartbeatS)) return;
    const timer = setTimeout(() => {
      this.forget(client);
      this.onIdle(client);
    }, this.limitMs);
    timer.unref();
    const onPacket = (): void => void timer.refresh();
    parser.on('packet', onPacket);
    this.watched.set(client, { timer, parser, onPacket });
  }

  /** the connection ended (any way): stop watching it */
  forget(client: object): void {
    const w = this.watched.get(client);
    if (!w) return;
    clearTimeout(w.timer);
    w.parser.removeListener('packet', w.onPacket);
    this.watched.delete(client);
  }
}
