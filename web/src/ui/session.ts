/* What the shell holds while a key is open: the identity, the client that verifies
 * for it, and who the verified record says the officer is (Me). */
import type { ParleyClient } from '../lib/client';
import type { Identity } from '../lib/keys';
import type { Sodium } from '../lib/sodium';
import type { InboxStore } from './inboxStore';

export interface Me {
  role: string;
  state?: string;
  poc?: string;
}

export interface Session {
  na: Sodium;
  hub: string;
  id: Identity;
  client: ParleyClient;
  me: Me | null;
  meError: string;
  store: InboxStore | null;
}
