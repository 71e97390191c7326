import type { PresenceState } from '@infra/core/topics';

interface Device {
  /** the aedes client object: a takeover by the same client id is a different object */
  handle: object;
  since: number;
}

/**
 * Who is online, per user and device, driven by the broker's connect/disconnect events (a keepalive
 * timeout is a disconnect). Publishes the retained presence/{userId} state on every change: a second
 * device keeps the user online when the first leaves.
 */
export class PresenceTracker {
  private readonly users = new Map<string, { devices: Map<string, Device>; away: boolean; lastSeen: number }>();

  constructor(
    private readonly publish: (userId: string, state: PresenceState) => void,
    private readonly now: () => number = Date.now,
  ) {}

  connected(userId: string, clientId: string, handle: object): void {
    const user = this.users.get(userId) ?? { devices: new Map<string, Device>(), away: false, lastSeen: 0 };
    this.users.set(userId, user);
    user.devices.set(clientId, { handle, since: this.now() });
    user.lastSeen = this.now();
    this.publish(userId, this.state(userId));
  }

  disconnected(userId: string, clientId: string, handle: object): void {
    const user = this.users.get(userId);
    // a stale disconnect of a session that was already taken over by a new connection changes nothing
    if (!user || user.devices.get(clientId)?.handle !== handle) return;
    user.devices.delete(clientId);
    user.lastSeen = this.now();
    if (user.devices.size === 0) user.away = false;
    this.publish(userId, this.state(userId));
  }

  /** A device's own presence publish (it may only say away or online); returns the state the broker publishes in its place. */
  setAway(userId: string, away: boolean): PresenceState {
    const user = this.users.get(userId);
    if (user) {
      user.away = away;
      user.lastSeen = this.now();
    }
    return this.state(userId);
  }

  state(userId: string): PresenceState {
    const user = this.users.get(userId);
    const devices = [...(user?.devices ?? new Map<string, Device>())].map(([clientId, d]) => ({ clientId, since: new Date(d.since).toISOString() }));
    const status = devices.length === 0 ? 'offline' : user?.away ? 'away' : 'online';
    return { userId, status, devices, lastSeen: new Date(user?.lastSeen || this.now()).toISOString() };
  }

  /** On shutdown: everyone still connected goes offline (retained), so a restart does not show ghosts. */
  allOffline(): void {
    for (const [userId, user] of this.users) {
      if (user.devices.size === 0) continue;
      user.devices.clear();
      user.lastSeen = this.now();
      this.publish(userId, this.state(userId));
    }
  }
}
