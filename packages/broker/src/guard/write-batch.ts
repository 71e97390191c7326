import type { Socket } from 'node:net';

/**
 * A connection's writes within one event-loop turn leave in one system call.
 *
 * aedes writes every outgoing packet from a setImmediate callback of its own (each delivery, each ack event), and
 * mqtt-packet's cork lasts only until the next tick, so every packet was a writev of its own: about one per packet,
 * the largest single cost of an IM delivery in the broker's CPU profile. Here the first write of a turn corks the
 * socket and a setImmediate uncorks it: whatever else the turn writes to that connection (the rest of a send batch's
 * deliveries and acks, the PUBACKs of a read chunk) goes out with it. Nothing waits for more data or for a timer:
 * a packet leaves at the latest one loop turn later, in the order written.
 *
 * `end()` flushes a corked socket itself, and the uncork of a closed socket does nothing.
 */
export function batchWrites(socket: Socket): void {
  let held = false;
  const release = (): void => {
    held = false;
    socket.uncork();
  };
  const write = socket.write;
  socket.write = function batchedWrite(this: Socket, ...args: unknown[]): boolean {
    if (!held) {
      held = true;
      socket.cork();
      setImmediate(release);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
}
