import type { Endpoint } from '@infra/core';

const labels: Record<string, string> = {
  api: 'API',
  docs: 'API docs',
  mqtt: 'MQTT',
  'mqtt-ws': 'MQTT (WebSocket)',
  rtmp: 'RTMP ingest',
  flv: 'HTTP-FLV',
};

/** The block `infra up` prints once every service answered its probe, the way `supabase start` prints its keys. */
export function formatReadyBlock(input: { name: string; readyMs: number; endpoints: Record<string, Endpoint[]>; adminToken: string; adminTokenTtl: string; dataDir: string; detached?: boolean }): string {
  const rows: [string, string][] = [];
  for (const list of Object.values(input.endpoints)) for (const e of list) rows.push([labels[e.name] ?? e.name, e.url]);
  const api = input.endpoints['server']?.find((e) => e.name === 'api');
  if (api) rows.push(['Health', `${api.url.replace(/\/api\/v1$/, '')}/health · /ready · /metrics`]);
  rows.push(['Data', input.dataDir]);
  rows.push(['Logs', 'infra logs -f']);
  const width = Math.max(...rows.map(([l]) => l.length), 'admin token'.length) + 2;
  const lines = [
    `infra stack "${input.name}" is ready (${(input.readyMs / 1000).toFixed(2)} s)`,
    '',
    ...rows.map(([l, v]) => `  ${l.padEnd(width)}${v}`),
    '',
    `  ${'admin token'.padEnd(width)}${input.adminToken}`,
    `  ${''.padEnd(width)}(expires in ${input.adminTokenTtl}; mint others with \`infra token --user ID --role user\`)`,
    '',
    input.detached ? 'Running in the background: `infra status`, `infra logs -f`, `infra down`.' : 'Press Ctrl-C to stop.',
  ];
  return lines.join('\n');
}
