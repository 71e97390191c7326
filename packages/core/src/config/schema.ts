import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description });

export const moduleNames = [
  'orders', 'wms', 'dispatch', 'delivery', 'aftersales', 'exceptions',
  'im', 'presence', 'telemetry',
  'live', 'interaction', 'vod', 'calls',
] as const;

/**
 * The one schema of infra.yaml: it validates the file, types the loader and generates docs/config.md.
 * Every object is closed (additionalProperties: false) so a typo is an error, not a silent default.
 */
export const ConfigSchema = Type.Object(
  {
    version: Type.Literal(1, { description: 'Schema version of this file. Only 1 exists.' }),
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', default: 'infra', description: 'Name of the stack, shown by `infra status` and in logs.' }),
    services: Type.Array(Type.Union([Type.Literal('server'), Type.Literal('broker'), Type.Literal('media')]), {
      uniqueItems: true,
      minItems: 1,
      default: ['server', 'broker', 'media'],
      description: 'Pillars `infra up` starts: server (HTTP gateway + fulfillment), broker (MQTT), media (RTMP/FLV). `infra up --only` replaces this list for one process (scale-out).',
    }),
    modules: Type.Array(Type.Union(moduleNames.map((m) => Type.Literal(m))), {
      uniqueItems: true,
      default: [],
      description: `Domain modules the template enables: ${moduleNames.join(', ')}.`,
    }),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1', description: 'Address every listener binds to (HTTP, MQTT, RTMP, FLV). Use 0.0.0.0 to accept remote clients.' }),
        port: Port(8080, 'HTTP gateway port: /api/v1, /mqtt (WebSocket), /health, /ready, /metrics, /docs. 0 picks a free port.'),
        bodyLimit: Type.Integer({ minimum: 1024, default: 1048576, description: 'Largest accepted request body in bytes; larger ones get 413.' }),
        publicUrl: Type.String({ default: '', description: 'Base URL clients use to reach the gateway (behind a proxy). Empty = http://host:port.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        port: Port(1883, 'MQTT over TCP port. 0 picks a free port.'),
        websocket: Type.Boolean({ default: true, description: 'Serve MQTT over WebSocket at ws://<http.host>:<http.port>/mqtt.' }),
        maxPacketBytes: Type.Integer({ minimum: 1024, default: 262144, description: 'Largest MQTT packet a client may send.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    media: Type.Object(
      {
        rtmp: Type.Object({ port: Port(1935, 'RTMP ingest port (OBS pushes here). 0 picks a free port.') }, { additionalProperties: false, default: {} }),
        http: Type.Object({ port: Port(8000, 'HTTP-FLV / WS-FLV playback port. 0 picks a free port.') }, { additionalProperties: false, default: {} }),
        ffmpeg: Type.String({ default: '', description: 'Path of the ffmpeg binary. Empty = ffmpeg on PATH, else the one @ffmpeg-installer/ffmpeg ships.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    data: Type.Object(
      { dir: Type.String({ minLength: 1, default: './data', description: 'Directory of every embedded file (SQLite, broker state, recordings, logs). Relative to infra.yaml.' }) },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Object(
      { url: Type.String({ default: '', description: 'SQL storage. Empty = SQLite files under data.dir. postgres://… is reserved for the scale-out dialect and refused by `infra up` until it lands.' }) },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        tokenTtl: Type.String({ pattern: '^[0-9]+[smhd]$', default: '1h', description: 'Default lifetime of tokens minted by `infra token` (e.g. 15m, 12h, 30d).' }),
        devTokenTtl: Type.String({ pattern: '^[0-9]+[smhd]$', default: '12h', description: 'Lifetime of the admin token `infra up` prints.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(['trace', 'debug', 'info', 'warn', 'error'].map((l) => Type.Literal(l)), { default: 'info', description: 'Log level (logs go to <data.dir>/logs/infra.log; read them with `infra logs`).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    startup: Type.Object(
      { timeoutMs: Type.Integer({ minimum: 100, default: 15000, description: 'How long `infra up` waits for each service’s readiness probe.' }) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, $id: 'InfraConfig' },
);

export type InfraConfig = Static<typeof ConfigSchema>;

/** The dotted keys whose value is a port, with the service that owns them (for port errors). */
export const portKeys = {
  'http.port': 'server',
  'mqtt.port': 'broker',
  'media.rtmp.port': 'media',
  'media.http.port': 'media',
} as const;
export type PortKey = keyof typeof portKeys;

export type AnySchema = TSchema;
