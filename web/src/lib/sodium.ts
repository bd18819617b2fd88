/* libsodium (the same library, in WebAssembly, as the C side uses) loaded once. Every
 * module that needs it awaits sodiumReady() and then uses the returned handle. */
import sodiumModule from 'libsodium-wrappers-sumo';

export type Sodium = typeof sodiumModule;

let loading: Promise<Sodium> | null = null;

export function sodiumReady(): Promise<Sodium> {
  if (!loading) loading = sodiumModule.ready.then(() => sodiumModule);
  return loading;
}
