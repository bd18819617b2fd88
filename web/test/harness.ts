/* The verified client and its parts, bundled for the integration tests: under node
 * (harness.mjs, tests/web/client.mjs) and in the browser (harness-browser.js, the
 * hostile-hub cases of tests/web/hostile.mjs). */
export { ParleyClient, Refusal, memoryTrustStore, templates, validateContent, safe, TRUST_KEYS } from '../src/lib/client';
export { openSecretKeyFile, readPublicKeyFile } from '../src/lib/keyfile';
export { sodiumReady } from '../src/lib/sodium';
export { envelopeSeal, envelopeOpen, envelopeVerify, ackNew, ackVerify, envelopeHash } from '../src/lib/envelope';
export { recordVerify } from '../src/lib/record';
export { parseJson, jcs } from '../src/lib/json';
