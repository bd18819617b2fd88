/* Errors carry the code names of include/parley/errors.def, so the page, the CLI and
 * the hub speak of the same failure with the same word. */
export type ParleyCode =
  | 'INVALID_ARGUMENT'
  | 'TOO_LARGE'
  | 'INTERNAL'
  | 'JSON_MALFORMED'
  | 'JSON_DEPTH'
  | 'JSON_STRING_TOO_LONG'
  | 'JSON_DUPLICATE_KEY'
  | 'JSON_REAL_NOT_ALLOWED'
  | 'JSON_INTEGER_RANGE'
  | 'JSON_NOT_OBJECT'
  | 'CRYPTO_BAD_KEY'
  | 'KEYFILE_FORMAT'
  | 'KEYFILE_PASSPHRASE'
  | 'KEYFILE_NEEDS_PASSPHRASE'
  | 'HTTP';

export class ParleyError extends Error {
  readonly code: ParleyCode;
  constructor(code: ParleyCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'ParleyError';
    this.code = code;
  }
}

export function fail(code: ParleyCode, detail: string): never {
  throw new ParleyError(code, detail);
}
