// A Node service's side of `bundlectl serve`, through the OpenFeature server SDK and its OFREP provider.
// node client.mjs MODE BASE_URL [ARG]; prints one JSON document. Modes:
//   resolve KEY       one evaluation of the bundle for targetingKey KEY (details and flag metadata)
//   arms N            the arm of N targeting keys, and of the first 500 again (stickiness)
//   file              fetch the system prompt by the URL the evaluation gives; its sha256 and the digest it should have
//   wait VERSION      evaluate until the variant is VERSION; milliseconds it took
//   outcomes N        N requests with an injected regression in the candidate (more escalations), outcomes POSTed in batches
import { createHash } from 'node:crypto';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const [mode, baseUrl, arg] = process.argv.slice(2);
const FLAG = 'support-triage';
const FALLBACK = { fallback: true };
const headers = process.env.BUNDLECTL_TOKEN ? { Authorization: `Bearer ${process.env.BUNDLECTL_TOKEN}` } : {};

await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl, headers }));
const client = OpenFeature.getClient();
const bundleFor = (targetingKey) => client.getObjectDetails(FLAG, FALLBACK, targetingKey ? { targetingKey } : {});

function random(seed) { // mulberry32: the same requests on every run
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function inBatches(items, size, work) {
  const results = [];
  for (let i = 0; i < items.length; i += size) results.push(...await Promise.all(items.slice(i, i + size).map(work)));
  return results;
}

async function postOutcomes(outcomes) {
  const response = await fetch(`${baseUrl}/v1/outcomes`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ outcomes }),
  });
  if (response.status !== 202) throw new Error(`outcomes refused: ${response.status} ${await response.text()}`);
}

let result;
if (mode === 'resolve') {
  const details = await bundleFor(arg);
  result = { value: details.value, reason: details.reason, variant: details.variant, errorCode: details.errorCode ?? null,
             flagMetadata: details.flagMetadata };
} else if (mode === 'arms') {
  const keys = Array.from({ length: Number(arg) }, (_, i) => `user-${i}`);
  const arms = await inBatches(keys, 64, async (key) => (await bundleFor(key)).value.arm);
  const again = await inBatches(keys.slice(0, 500), 64, async (key) => (await bundleFor(key)).value.arm);
  const reasons = [...new Set(await inBatches(keys.slice(0, 50), 50, async (key) => (await bundleFor(key)).reason))];
  result = { arms, again, reasons };
} else if (mode === 'file') {
  const { value } = await bundleFor('user-1');
  const file = value.components.prompt.files['prompts/system.md'];
  const response = await fetch(new URL(file.url, baseUrl), { headers });
  const body = Buffer.from(await response.arrayBuffer());
  result = { status: response.status, etag: response.headers.get('etag'), cacheControl: response.headers.get('cache-control'),
             sha256: `sha256:${createHash('sha256').update(body).digest('hex')}`, digest: file.digest };
} else if (mode === 'wait') {
  const started = Date.now();
  while ((await bundleFor('user-1')).variant !== arg) await new Promise((resolve) => setTimeout(resolve, 20));
  result = { ms: Date.now() - started };
} else if (mode === 'outcomes') {
  const rng = random(26);
  const served = { live: 0, candidate: 0 };
  const ids = Array.from({ length: Number(arg) }, (_, i) => `req-${i}`);
  for (let i = 0; i < ids.length; i += 100) {
    const batch = await inBatches(ids.slice(i, i + 100), 50, async (requestId) => {
      const { value } = await bundleFor(requestId);
      served[value.arm] += 1;
      const escalated = rng() < (value.arm === 'candidate' ? 0.3 : 0.08); // the injected regression
      return { key: FLAG, requestId, targetingKey: requestId, digest: value.digest,
               outcome: { ok: rng() < 0.99, escalated, latency_ms: Math.round(400 + rng() * 600) } };
    });
    await postOutcomes(batch);
  }
  result = { served };
} else {
  throw new Error(`unknown mode ${mode}`);
}
console.log(JSON.stringify(result));
await OpenFeature.close();
