/* harness.ts in the page: window.ParleyHarness. */
import * as harness from './harness';

(globalThis as unknown as { ParleyHarness: typeof harness }).ParleyHarness = harness;
