import { Duplex, Transform, type TransformCallback } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * aedes (mqtt-packet) buffers a whole packet before anyone can look at it, whatever its declared size, so
 * `mqtt.maxPacketBytes` is enforced here, on the raw byte stream in front of it: the fixed header of each
 * packet declares its remaining length, and a connection that declares more than the limit is cut before the
 * body arrives. Chunks pass through untouched; only the header bytes are read.
 */
export class PacketSizeGuard extends Transform {
  /** bytes of the current packet's body still to skip */
  private remaining = 0;
  /** 0: expecting a fixed-header byte 1; 1..4: reading the remaining-length varint */
  private lengthBytesRead = 0;
  private length = 0;
  private multiplier = 1;
  private expectingHeader = true;

  constructor(
    private readonly maxBytes: number,
    private readonly onTooLarge: (declared: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.expectingHeader) {
        this.expectingHeader = false; // packet type and flags
        this.lengthBytesRead = 0;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytesRead++;
      if (this.length + 1 + this.lengthBytesRead > this.maxBytes) {
        this.onTooLarge(this.length);
        done(new Error(`MQTT packet of ${this.length} bytes exceeds mqtt.maxPacketBytes (${this.maxBytes})`));
        return;
      }
      if ((byte & 0x80) === 0 || this.lengthBytesRead === 4) {
        this.remaining = this.length;
        this.expectingHeader = true;
      }
    }
    done(null, chunk);
  }
}

/** The TCP socket as aedes should see it: reads pass through a PacketSizeGuard, writes go straight to the socket. */
export function guardConnection(socket: Socket, maxBytes: number, onTooLarge: (declared: number) => void): Duplex {
  const guard = new PacketSizeGuard(maxBytes, onTooLarge);
  socket.pipe(guard);
  guard.on('error', () => socket.destroy());
  const conn = Duplex.from({ readable: guard, writable: socket });
  conn.on('close', () => socket.destroy());
  return conn;
}
