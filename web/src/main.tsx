/* Entry point: load libsodium and the page's settings (config.json, when `parley web`
 * serves the app), then mount the shell. */
import { render } from 'preact';
import { saveWorker } from './lib/saveStream';
import { sodiumReady } from './lib/sodium';
import { App } from './ui/App';
import { loadConfig } from './ui/config';
import './styles.css';

void saveWorker(); /* active by the first download (verified files stream through it) */
const root = document.getElementById('app');
if (root) {
  Promise.all([sodiumReady(), loadConfig()]).then(
    ([na, config]) => {
      root.removeAttribute('aria-busy');
      root.textContent = ''; /* the "Loading" placeholder */
      render(<App na={na} config={config} />, root);
    },
    (e: unknown) => {
      root.textContent = `The page could not start: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
}
