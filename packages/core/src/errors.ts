/**
 * The error catalogue. Every user-facing failure has a stable code, an HTTP status and a hint.
 * The CLI prints `error CODE: message` plus the hint; HTTP answers problem+json whose `type` is the code.
 * Tests assert on codes, never on message text.
 */
export const errorCatalogue = {
  // config
  INFRA_ERR_CONFIG_NOT_FOUND: { status: 500, hint: 'run `infra init <dir>` to create a stack, or pass --dir to point at one' },
  INFRA_ERR_CONFIG_SYNTAX: { status: 500, hint: 'fix the YAML syntax at the position shown' },
  INFRA_ERR_CONFIG_INVALID: { status: 500, hint: 'see docs/config.md for every key, its type and default' },
  INFRA_ERR_CONFIG_UNKNOWN_KEY: { status: 500, hint: 'see docs/config.md for the known keys' },
  INFRA_ERR_CONFIG_ENV_MISSING: { status: 500, hint: 'export the variable, add it to the secrets file, or use ${NAME:-default}' },
  INFRA_ERR_SET_SYNTAX: { status: 400, hint: 'write --set key.path=value, for example --set http.port=18080' },
  INFRA_ERR_SECRETS_MISSING: { status: 500, hint: 'run `infra init --secrets-only` in the stack directory to generate them' },
  INFRA_ERR_TLS: { status: 500, hint: 'point tls.cert and tls.key at a readable PEM certificate and its key, or run `infra init . --secrets-only --tls` for a self-signed development pair' },
  // init
  INFRA_ERR_DIR_NOT_EMPTY: { status: 400, hint: 'choose an empty directory or pass --force' },
  INFRA_ERR_TEMPLATE_UNKNOWN: { status: 400, hint: 'run `infra init --help` for the list of templates' },
  // runtime
  INFRA_ERR_PORT_TAKEN: { status: 500, hint: 'stop the process that holds the port, or choose another one' },
  INFRA_ERR_LISTEN: { status: 500, hint: 'check the host and port in infra.yaml' },
  INFRA_ERR_NOT_READY: { status: 503, hint: 'run `infra logs` to see why' },
  INFRA_ERR_START_FAILED: { status: 500, hint: 'run `infra logs` for the full log' },
  INFRA_ERR_DATA_DIR: { status: 500, hint: 'make data.dir writable or point it elsewhere' },
  INFRA_ERR_FFMPEG_MISSING: { status: 500, hint: 'install ffmpeg (apt-get install ffmpeg) or reinstall so @ffmpeg-installer/ffmpeg is present' },
  INFRA_ERR_NOT_RUNNING: { status: 500, hint: 'start the stack with `infra up` (or `infra up --detach`)' },
  INFRA_ERR_ALREADY_RUNNING: { status: 500, hint: 'stop it first with `infra down`' },
  // HTTP
  INFRA_ERR_UNAUTHORIZED: { status: 401, hint: 'send Authorization: Bearer <token>; mint one with `infra token`' },
  INFRA_ERR_FORBIDDEN: { status: 403, hint: 'this token’s role may not do this' },
  INFRA_ERR_NOT_FOUND: { status: 404, hint: 'check the URL; /docs lists every route' },
  INFRA_ERR_VALIDATION: { status: 400, hint: 'fix the fields listed in `errors`' },
  INFRA_ERR_BAD_ARGUMENT: { status: 400, hint: 'run the command with --help for the accepted values' },
  INFRA_ERR_UNSUPPORTED: { status: 500, hint: 'leave the key at its default; docs/config.md marks what is not in effect yet' },
  INFRA_ERR_MALFORMED_JSON: { status: 400, hint: 'send a valid JSON body' },
  INFRA_ERR_BODY_TOO_LARGE: { status: 413, hint: 'send a smaller body (limit: http.bodyLimit)' },
  INFRA_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, hint: 'send Content-Type: application/json' },
  INFRA_ERR_INTERNAL: { status: 500, hint: 'this is a bug: the log line with the same reqId has the details' },
  // auth
  INFRA_ERR_TOKEN_INVALID: { status: 401, hint: 'mint a fresh token with `infra token`' },
  INFRA_ERR_BAD_ROLE: { status: 400, hint: 'roles are admin, service, user and rider' },
  // media
  INFRA_ERR_STREAM_KEY: { status: 403, hint: 'use the stream key printed by `infra stream create` (rotate it with POST /api/v1/media/streams/{id}/key)' },
  // fulfillment (flows, orders, wms, exceptions)
  INFRA_ERR_FLOW_INVALID: { status: 500, hint: 'fix the flow file at the line shown; `infra flows validate` checks every flow' },
  INFRA_ERR_ILLEGAL_TRANSITION: { status: 409, hint: 'fire one of the events listed in `allowed`' },
  INFRA_ERR_OUT_OF_STOCK: { status: 409, hint: 'not enough available stock; receive more or order less' },
  INFRA_ERR_ACTION_UNSUPPORTED: { status: 422, hint: 'resolve with one of the actions listed in `actions` (GET the exception to see them)' },
  INFRA_ERR_UNKNOWN_SKU: { status: 400, hint: 'create the SKU first (POST /api/v1/wms/skus or `infra seed`)' },
  INFRA_ERR_IDEMPOTENCY_MISMATCH: { status: 422, hint: 'an Idempotency-Key may only be reused with the same body; use a new key' },
  INFRA_ERR_CONFLICT: { status: 409, hint: 'the resource already exists or changed meanwhile' },
  INFRA_ERR_RATE_LIMITED: { status: 429, hint: 'slow down: wait for Retry-After seconds (limit: fulfillment.rateLimit per minute per token)' },
  // communication (im, presence)
  INFRA_ERR_IM_CONVERSATION_NOT_FOUND: { status: 404, hint: 'check the conversation id; GET /api/v1/im/conversations lists yours' },
  INFRA_ERR_IM_NOT_MEMBER: { status: 403, hint: 'join the conversation first, or ask an owner/admin to add you' },
  INFRA_ERR_IM_NOT_ALLOWED: { status: 403, hint: 'only owners and admins may do this (in channels only they post)' },
  INFRA_ERR_IM_BAD_MESSAGE: { status: 400, hint: 'send {convId, clientMsgId, type, body} with the body shape of its type (docs/im.md)' },
  INFRA_ERR_IM_TOO_LARGE: { status: 413, hint: 'send a smaller message (limit: im.maxMessageBytes); upload media and send its URL' },
  INFRA_ERR_IM_GROUP_FULL: { status: 409, hint: 'the conversation has reached im.maxGroupSize members' },
  INFRA_ERR_IM_EXPIRED: { status: 410, hint: 'this temporary conversation has expired; create a new one' },
  INFRA_ERR_IM_RECALL_WINDOW: { status: 409, hint: 'messages can only be recalled within im.recallWindow of sending' },
  INFRA_ERR_IM_RATE_LIMITED: { status: 429, hint: 'slow down: im.sendRate messages per second per user (burst im.sendBurst)' },
  INFRA_ERR_IM_ACK_TIMEOUT: { status: 504, hint: 'SDK: the broker did not acknowledge in time; send again with the same clientMsgId (it is stored once)' },
  INFRA_ERR_IM_CLOSED: { status: 499, hint: 'SDK: the chat client was closed while a send waited for its ack' },
  // communication: files and stickers (packages/broker/src/files)
  INFRA_ERR_FILE_NOT_FOUND: { status: 404, hint: 'no such file, or it is not yours and was not sent to a conversation you are in' },
  INFRA_ERR_FILE_TOO_LARGE: { status: 413, hint: 'upload a smaller file (limit: files.maxBytes)' },
  INFRA_ERR_FILE_TYPE: { status: 415, hint: 'the bytes must be of a type in files.allowedTypes and agree with the declared Content-Type (or send application/octet-stream)' },
  INFRA_ERR_FILE_BAD_UPLOAD: { status: 400, hint: 'POST multipart/form-data with exactly one file part (field name: file)' },
  INFRA_ERR_FILE_KIND: { status: 400, hint: 'image messages need an image file, video a video, voice an audio file (GET /api/v1/files/{id} shows its kind)' },
  INFRA_ERR_FILE_NOT_READY: { status: 409, hint: 'the file is still processing (or processing failed): wait until GET /api/v1/files/{id} says status ready' },
  INFRA_ERR_FILE_RANGE: { status: 416, hint: 'ask for one range inside the file: Range: bytes=start-end' },
  INFRA_ERR_STICKER_NOT_FOUND: { status: 404, hint: 'GET /api/v1/stickers/packs lists the packs and their sticker ids' },
  // riders and live location (packages/server/src/riders, packages/broker/src/telemetry)
  INFRA_ERR_RIDER_CAPACITY: { status: 409, hint: 'the rider carries more than that; release load first or set a higher capacity' },
  INFRA_ERR_RIDER_NO_FIX: { status: 404, hint: 'no recent position for this rider: its device publishes on fleet/{riderId}/loc' },
  // dispatch (routing solver, `infra bench dispatch`)
  INFRA_ERR_DISPATCH_BAD_INSTANCE: { status: 400, hint: 'give a Solomon VRPTW or Li & Lim PDPTW instance file (docs/dispatch.md describes both formats)' },
  INFRA_ERR_DISPATCH_INFEASIBLE: { status: 422, hint: 'no feasible plan was found within the fleet and the time limit; allow more time or vehicles, or check the windows' },
  // route planning (H2: POST /api/v1/dispatch/plan, packages/server/src/routing)
  INFRA_ERR_DISPATCH_PLAN_INVALID: { status: 400, hint: 'job ids must be unique, steps must name jobs of the request, windows must end after they start (docs/dispatch-routing.md)' },
  INFRA_ERR_DISPATCH_PLAN_TOO_LARGE: { status: 413, hint: 'split the plan, or raise routing.maxJobs / routing.maxVehicles in infra.yaml' },
  INFRA_ERR_DISPATCH_PLAN_BUSY: { status: 503, hint: 'routing.maxConcurrent plans are being solved; retry in a few seconds' },
  INFRA_ERR_DISPATCH_MATRIX: { status: 502, hint: 'the travel-time service at routing.osrmUrl failed or answered something other than an OSRM table; check it, or unset routing.osrmUrl for straight-line estimates' },
  // dispatch assignment and delivery (H3: offers, proof of delivery)
  INFRA_ERR_DISPATCH_OFFER_CLOSED: { status: 409, hint: 'the offer was already answered, expired or went to another rider; GET /api/v1/dispatch/offers lists your open ones' },
  INFRA_ERR_DISPATCH_RIDER_FULL: { status: 409, hint: 'the rider carries as much as their capacity allows; finish a delivery first' },
  INFRA_ERR_DELIVERY_PROOF: { status: 422, hint: 'deliver with proof: the customer\'s one-time code, or the recipient name (and a photo file id) when the job allows it' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorDetail {
  /** JSON pointer or dotted key of the offending field */
  path?: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export class InfraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, opts: { hint?: string; details?: ErrorDetail[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'InfraError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.hint = opts.hint ?? errorCatalogue[code].hint;
    this.details = opts.details ?? [];
  }

  /** The one-line form the CLI prints. */
  toLine(): string {
    return `error ${this.code}: ${this.message}`;
  }
}

export function isInfraError(err: unknown): err is InfraError {
  return err instanceof InfraError;
}
