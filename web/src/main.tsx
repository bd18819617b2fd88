/* Entry point: load libsodium, then mount the shell. */
import { render } from 'preact';
import { sodiumReady } from './lib/sodium';
import { App } from './ui/App';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  sodiumReady().then(
    (na) => {
      root.removeAttribute('aria-busy');
      root.textContent = ''; /* the "Loading" placeholder */
      render(<App na={na} />, root);
    },
    (e: unknown) => {
      root.textContent = `The page could not start its cryptography: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
}
