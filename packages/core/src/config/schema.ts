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
    tls: Type.Object(
      {
        cert: Type.String({ default: '', description: 'PEM certificate (chain) file, relative to the stack directory. Set with tls.key: the gateway serves HTTPS (and MQTT over WSS at /mqtt) on http.port, and the broker adds mqtts on mqtt.tlsPort. Empty = no TLS. `infra init --tls` writes a self-signed one for development.' }),
        key: Type.String({ default: '', description: 'PEM private key file of tls.cert, relative to the stack directory (keep it out of version control).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        port: Port(1883, 'MQTT over TCP port. 0 picks a free port.'),
        tlsPort: Port(8883, 'MQTT over TLS (mqtts) port, opened only when tls.cert is set. 0 picks a free port.'),
        websocket: Type.Boolean({ default: true, description: 'Serve MQTT over WebSocket at ws://<http.host>:<http.port>/mqtt (wss:// when tls.cert is set).' }),
        maxPacketBytes: Type.Integer({ minimum: 1024, default: 262144, description: 'Largest MQTT packet a client may send.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    im: Type.Object(
      {
        maxGroupSize: Type.Integer({ minimum: 2, default: 500, description: 'Most members a group, channel or temporary conversation may have.' }),
        maxMessageBytes: Type.Integer({ minimum: 256, default: 16384, description: 'Largest im/send payload in bytes; larger ones get an INFRA_ERR_IM_TOO_LARGE error event.' }),
        recallWindow: Type.String({ pattern: '^[0-9]+[smhd]$', default: '2m', description: 'How long after sending a sender may recall a message.' }),
        temporaryTtl: Type.String({ pattern: '^[0-9]+[smhd]$', default: '24h', description: 'Default lifetime of a temporary conversation (e.g. a buyer-rider chat for one order).' }),
        syncPageSize: Type.Integer({ minimum: 1, maximum: 1000, default: 200, description: 'Most messages one GET /api/v1/im/sync page returns.' }),
        sendRate: Type.Integer({ minimum: 1, default: 20, description: 'Messages per second one user (all devices) may send on im/send, sustained; more get INFRA_ERR_IM_RATE_LIMITED error events. Backends are exempt.' }),
        sendBurst: Type.Integer({ minimum: 1, default: 60, description: 'Messages one user may send at once before im.sendRate applies.' }),
        heartbeat: Type.String({ pattern: '^[1-9][0-9]*[sm]$', default: '60s', description: 'Keepalive interval for devices. The SDK uses it as its MQTT keepalive (read from GET /api/v1/im/settings). The broker closes a device connection (user, rider, merchant) that stays silent for 1.5 × this when it asked for no keepalive (0) or a longer one, so its presence turns offline in bounded time; a client with a shorter keepalive is held to 1.5 × its own (MQTT 3.1.1 §3.1.2.10). The default suits mosquitto_sub, MQTT.js and Paho, whose default keepalive is 60 s.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    // files (H4: IM uploads, derivatives, stickers)
    files: Type.Object(
      {
        maxBytes: Type.Integer({ minimum: 1024, default: 26214400, description: 'Largest upload (POST /api/v1/files) in bytes; larger ones get 413 INFRA_ERR_FILE_TOO_LARGE and nothing is kept.' }),
        allowedTypes: Type.Array(Type.String({ pattern: '^[a-z0-9.+-]+/([a-z0-9.+-]+|\\*)$' }), {
          default: ['image/*', 'video/*', 'audio/*', 'application/pdf', 'application/zip'],
          description: 'Content types an upload may have, as sniffed from its bytes (`image/*` matches every image type). Bytes of no recognisable type (plain text) are refused.',
        }),
        thumbnailPx: Type.Integer({ minimum: 16, maximum: 2048, default: 320, description: 'Longest side of the JPEG thumbnail of an image and the cover frame of a video.' }),
        ffmpegConcurrency: Type.Integer({ minimum: 1, maximum: 8, default: 1, description: 'How many ffmpeg processes make derivatives (thumbnails, covers, voice transcodes) at once.' }),
        processTimeoutMs: Type.Integer({ minimum: 1000, default: 60000, description: 'An ffmpeg derivative job running longer is killed and the file marked failed.' }),
      },
      { additionalProperties: false, default: {}, description: 'IM file uploads: limits, allowed types, derivatives (ffmpeg from media.ffmpeg, else PATH, else the bundled one).' },
    ),
    fulfillment: Type.Object(
      {
        rateLimit: Type.Integer({ minimum: 0, default: 1200, description: 'Requests per minute one token (or, without one, one IP) may make to the fulfillment routes (orders, wms, exceptions); over it is 429. 0 = unlimited.' }),
        currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR', description: 'Currency of an order that names none (ISO 4217); amounts are integer minor units.' }),
        timeoutSweepMs: Type.Integer({ minimum: 50, default: 1000, description: 'How often flow state timeouts (flows/*.yaml `timeout:`) are checked.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    // dispatch (H3: assignment strategies, offers, delivery tracking)
    dispatch: Type.Object(
      {
        strategy: Type.Union([Type.Literal('nearest'), Type.Literal('batch'), Type.Literal('grab')], { default: 'nearest', description: 'Assignment strategy for jobs outside every zone: nearest (closest available rider by travel time, at once), batch (every dispatch.batchIntervalMs an optimal jobs-to-riders matching by cost), grab (offer to the dispatch.grabOffers nearest riders over MQTT, first accept wins, then nearest).' }),
        zones: Type.Array(
          Type.Object(
            {
              id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'zone name, stored with every job and decision' }),
              strategy: Type.Union([Type.Literal('nearest'), Type.Literal('batch'), Type.Literal('grab')], { description: 'assignment strategy for jobs whose pickup lies in this zone' }),
              center: Type.Object({ lat: Type.Number({ minimum: -90, maximum: 90 }), lng: Type.Number({ minimum: -180, maximum: 180 }) }, { additionalProperties: false, description: 'centre of the zone circle' }),
              radiusM: Type.Number({ minimum: 1, description: 'radius of the zone circle in metres' }),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'Dispatch zones, first match wins (by the job\'s pickup, or the job names its zone).' },
        ),
        batchIntervalMs: Type.Integer({ minimum: 100, default: 10000, description: 'How often batch zones match their waiting jobs to riders (Hungarian min-cost matching).' }),
        offerTimeoutMs: Type.Integer({ minimum: 100, default: 20000, description: 'How long a grab offer stays open; an expired offer returns the job to the pool.' }),
        grabOffers: Type.Integer({ minimum: 1, maximum: 50, default: 3, description: 'K: how many of the nearest available riders a grab job is offered to at once.' }),
        searchRadiusM: Type.Integer({ minimum: 100, default: 10000, description: 'Riders farther than this from a pickup are not considered.' }),
        merchantFallback: Type.Boolean({ default: true, description: 'A merchant\'s job goes to its own riders first; with true it falls back to the platform pool when none is available, with false it waits.' }),
        arrivalRadiusM: Type.Integer({ minimum: 5, maximum: 5000, default: 50, description: 'Geofence radius around a delivery\'s pickup and drop-off: entering it marks the rider at pickup / at customer.' }),
        detourFactor: Type.Number({ minimum: 1, maximum: 3, default: 1.3, description: 'Road distance over straight-line distance, for travel estimates and ETAs (1 = as the crow flies).' }),
        etaRepublishS: Type.Integer({ minimum: 1, default: 60, description: 'A delivery\'s ETA is republished on orders/{orderId} when the pickup or drop-off prediction moves by more than this many seconds.' }),
        pickupDwellS: Type.Integer({ minimum: 0, default: 120, description: 'Seconds a rider is expected to spend at the pickup, added to the drop-off ETA before pickup.' }),
        speedMps: Type.Number({ minimum: 0.5, maximum: 60, default: 5, description: 'Prior travel speed (m/s) for travel estimates and ETAs until fixes teach a rider\'s or zone\'s own speed.' }),
        dropoffDwellS: Type.Integer({ minimum: 0, default: 60, description: 'Seconds a rider is expected to spend at a drop-off: the stops after it in the rider\'s sequence (and their ETAs) start that much later.' }),
        replanTimeLimitMs: Type.Integer({ minimum: 10, maximum: 10000, default: 300, description: 'Most solver time of one live re-planning of a rider\'s stops (in a worker thread; one rider at a time; it also stops after 500 improvement iterations per stop, which a rider\'s few stops reach far sooner).' }),
        replanIntervalMs: Type.Integer({ minimum: 0, default: 30000, description: 'How often every rider with two or more running deliveries is re-planned; 0 = only when a job is assigned to a rider who already has work.' }),
        promiseSlackS: Type.Integer({ minimum: 0, default: 600, description: 'A re-plan may put a stop at most this many seconds after the first arrival time its plan gave it (or no later than it already is), so newer jobs cannot keep postponing an older pickup; 0 = no limit.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    // route planning (H2: POST /api/v1/dispatch/plan)
    routing: Type.Object(
      {
        osrmUrl: Type.String({ default: '', description: 'Base URL of an OSRM-compatible server (its /table/v1/driving/ endpoint gives the travel-time matrix of a plan). Empty = straight-line (haversine) distance times routing.detourFactor at routing.speedMps.' }),
        osrmTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'How long a plan waits for the OSRM table before it fails with 502 INFRA_ERR_DISPATCH_MATRIX.' }),
        speedMps: Type.Number({ minimum: 0.5, maximum: 60, default: 8, description: 'Travel speed (m/s) of the straight-line travel model (without routing.osrmUrl).' }),
        detourFactor: Type.Number({ minimum: 1, maximum: 3, default: 1.3, description: 'Road distance over straight-line distance in the straight-line travel model.' }),
        timeLimitMs: Type.Integer({ minimum: 10, default: 2000, description: 'Solver time of a plan that names none.' }),
        maxTimeLimitMs: Type.Integer({ minimum: 10, default: 10000, description: 'Most solver time a plan may ask for (larger requests are capped).' }),
        maxJobs: Type.Integer({ minimum: 1, default: 1000, description: 'Most jobs in one plan; more is 413 INFRA_ERR_DISPATCH_PLAN_TOO_LARGE.' }),
        maxVehicles: Type.Integer({ minimum: 1, default: 200, description: 'Most vehicles in one plan; more is 413 INFRA_ERR_DISPATCH_PLAN_TOO_LARGE.' }),
        maxConcurrent: Type.Integer({ minimum: 1, default: 2, description: 'Plans solved at once (each in its own worker thread); more wait for none and get 503 INFRA_ERR_DISPATCH_PLAN_BUSY.' }),
      },
      { additionalProperties: false, default: {}, description: 'Route planning (VRPTW/PDPTW solver behind POST /api/v1/dispatch/plan).' },
    ),
    fleet: Type.Object(
      {
        maxSpeedKmh: Type.Integer({ minimum: 10, maximum: 2000, default: 200, description: 'A fix that implies a faster move from the rider’s previous one is accepted but flagged (`flag: "speed"`) and counted.' }),
        maxFixBytes: Type.Integer({ minimum: 64, maximum: 65536, default: 512, description: 'Largest fix payload on fleet/{riderId}/loc; larger ones are dropped (the rider stays connected).' }),
        maxFutureMs: Type.Integer({ minimum: 0, default: 30000, description: 'How far ahead of the broker’s clock a fix’s ts may be (device clock skew); later ones are dropped.' }),
        maxAgeMs: Type.Integer({ minimum: 1000, default: 3600000, description: 'How old a fix’s ts may be (a phone replaying a buffer); older ones are dropped.' }),
        staleMs: Type.Integer({ minimum: 1000, default: 120000, description: 'A rider whose last fix is older than this is not offered by the nearest-rider search.' }),
        flushMs: Type.Integer({ minimum: 10, default: 1000, description: 'Fixes are written to SQL in one transaction per batch, at least this often.' }),
        flushBatch: Type.Integer({ minimum: 1, default: 2000, description: 'A batch is written as soon as it holds this many fixes.' }),
        bufferMax: Type.Integer({ minimum: 100, default: 100000, description: 'Most fixes waiting to be written; beyond it the oldest waiting are dropped from SQL history (counted), never from the live position.' }),
        historyRetention: Type.String({ pattern: '^([1-9][0-9]*[smhd])?$', default: '30d', description: 'Delete GPS fixes (rider_fixes) older than this, at start and hourly, rider by rider in small batches; never one younger than fleet.maxAgeMs (the last positions restored at start). Empty = keep every fix.' }),
        h3Resolution: Type.Integer({ minimum: 5, maximum: 11, default: 8, description: 'H3 resolution of the in-memory rider index (8: cells of about 0.5 km edge).' }),
      },
      { additionalProperties: false, default: {}, description: 'Riders’ live location (fleet/{riderId}/loc): validation, history writes, nearest search.' },
    ),
    media: Type.Object(
      {
        rtmp: Type.Object(
          {
            port: Port(1935, 'RTMP ingest port (OBS pushes here). 0 picks a free port.'),
            readBatchMs: Type.Integer({ minimum: 0, maximum: 200, default: 50, description: 'From 3 s into a publish, read the pusher\'s socket every N ms (everything it holds at once) instead of on every TCP segment: far fewer wakeups of media\'s process and of the ladder ffmpeg; the live edge of HTTP-FLV and HLS lags by up to N ms more. 0 = read as data arrives.' }),
          },
          { additionalProperties: false, default: {} },
        ),
        http: Type.Object({ port: Port(8000, 'HTTP-FLV / WS-FLV playback port. 0 picks a free port.') }, { additionalProperties: false, default: {} }),
        ffmpeg: Type.String({ default: '', description: 'Path of the ffmpeg binary. Empty = ffmpeg on PATH, else the one @ffmpeg-installer/ffmpeg ships.' }),
        streamKeyTtl: Type.String({ pattern: '^[0-9]+[smhd]$', default: '365d', description: 'Default lifetime of a stream key (POST /api/v1/media/streams, `infra stream create`); an expired key is refused.' }),
        hls: Type.Object(
          {
            segmentSeconds: Type.Integer({ minimum: 1, maximum: 10, default: 2, description: 'HLS segment length; every rendition gets a keyframe every fps x segmentSeconds frames, so segments align.' }),
            firstSegmentSeconds: Type.Number({ minimum: 0, maximum: 10, multipleOf: 0.5, default: 1, description: 'Length of the first segments of a live stream (ffmpeg hls_init_time; about one playlist of them), so players can start sooner. Keyframes then come every gcd(firstSegmentSeconds, segmentSeconds) s (1 s by default). 0 or >= segmentSeconds = off.' }),
            listSize: Type.Integer({ minimum: 2, maximum: 60, default: 6, description: 'Segments kept in each live playlist (older ones are deleted).' }),
            preset: Type.String({ pattern: '^[a-z]+$', default: 'veryfast', description: 'x264 preset of the encoded renditions (ultrafast ... veryslow).' }),
            renditions: Type.Array(
              Type.Object(
                {
                  name: Type.String({ pattern: '^[a-z0-9_-]{1,32}$', description: 'folder name under /live/{streamId}/' }),
                  height: Type.Integer({ minimum: 0, maximum: 4320, description: 'output height in pixels (never upscaled); 0 = copy the source video without re-encoding' }),
                  videoKbps: Type.Integer({ minimum: 0, maximum: 100000, default: 0, description: 'video bitrate (ignored for copy)' }),
                  audioKbps: Type.Integer({ minimum: 16, maximum: 512, default: 96, description: 'AAC audio bitrate' }),
                },
                { additionalProperties: false },
              ),
              {
                minItems: 1,
                maxItems: 8,
                default: [
                  { name: '720p', height: 720, videoKbps: 2800, audioKbps: 128 },
                  { name: '480p', height: 480, videoKbps: 1400, audioKbps: 96 },
                  { name: '360p', height: 360, videoKbps: 800, audioKbps: 64 },
                ],
                description: 'The HLS ladder written for every live stream, best first; the master playlist lists them all.',
              },
            ),
            minSpeed: Type.Number({ minimum: 0, maximum: 10, default: 0.9, description: 'Real-time factor the transcode must hold, measured over media.hls.speedWindowSeconds: below it the costliest encoded rendition is dropped (warning in the log) and the ladder restarts without it, down to one rendition. 0 = never drop.' }),
            speedWindowSeconds: Type.Integer({ minimum: 2, maximum: 120, default: 10, description: 'Window over which the transcode speed is measured (and the warm-up before the first measurement).' }),
            restoreAfterSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 120, description: 'After a rendition was dropped, how long the ladder must keep up with real time before the last dropped one is tried again (the ladder restarts with it; info in the log). Dropped again soon after, the next try waits twice as long (up to 16x). 0 = never.' }),
            maxRestarts: Type.Integer({ minimum: 0, maximum: 20, default: 3, description: 'Restarts of a crashed ffmpeg per live session per minute; playlists continue (with a discontinuity) and the recording keeps every part. Beyond it the session goes on without HLS (error in the log).' }),
          },
          { additionalProperties: false, default: {} },
        ),
        coverSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 10, description: 'How often /live/{streamId}/cover.jpg is refreshed while live.' }),
        record: Type.Boolean({ default: true, description: 'Record every live session; when it ends it becomes a VOD asset (MP4 with faststart) at /vod/{assetId}/.' }),
        viewerCountSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 5, description: 'How often live viewer counts (HTTP-FLV + HLS) are checked; a change is published on live/{streamId}/state.' }),
        vodRetention: Type.String({ pattern: '^([0-9]+[smhd])?$', default: '', description: 'Delete VOD assets older than this (e.g. 30d), checked at start and hourly. Empty = keep them.' }),
        review: Type.Object(
          {
            sampleSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30, description: 'While live, put a frame into the review queue (/api/v1/media/review) every N seconds; 0 = no sampling.' }),
            classifierUrl: Type.String({ default: '', description: 'Optional classifier: each sampled frame is POSTed here as image/jpeg; a JSON reply {label, score} is stored with it. Empty = none.' }),
          },
          { additionalProperties: false, default: {} },
        ),
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
  'mqtt.tlsPort': 'broker',
  'media.rtmp.port': 'media',
  'media.http.port': 'media',
} as const;
export type PortKey = keyof typeof portKeys;

export type AnySchema = TSchema;
