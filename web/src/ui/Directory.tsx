/* The directory: states and a search by state, region, role, language and name. The
 * hub's answers here are listings (its word); a state's page verifies the record. */
import { useEffect, useState } from 'preact/hooks';
import type { ParleyClient } from '../lib/client';
import { Loading, RefusalBox, Skipped } from './components';
import { download, errorText, objects, str, strings } from './format';
import { useLang } from './i18n';
import { regionLabel, roleLabel } from './labels';

const REGIONS = ['african', 'asia-pacific', 'eastern-european', 'latin-american-and-caribbean', 'western-european-and-others'];

export function Directory(props: { client: ParleyClient }) {
  const { t } = useLang();
  const [states, setStates] = useState<Record<string, unknown>[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [statesSkipped, setStatesSkipped] = useState(0);
  const [resultsSkipped, setResultsSkipped] = useState(0);
  const [q, setQ] = useState({ state: '', region: '', role: '', language: '', name: '' });
  const [results, setResults] = useState<Record<string, unknown>[] | null>(null);
  const [searchError, setSearchError] = useState<unknown>(null);
  const [exportNote, setExportNote] = useState('');
  useEffect(() => {
    props.client
      .states()
      .then((s) => {
        const { items, skipped } = objects(s.hub, 1000);
        setStatesSkipped(skipped);
        setStates(items);
      })
      .catch(setError);
  }, [props.client]);
  const search = async (e: Event) => {
    e.preventDefault();
    setSearchError(null);
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) if (v.trim()) query[k] = v.trim();
    try {
      const r = await props.client.search(query);
      const { items, skipped } = objects(r.hub, 1000);
      setResultsSkipped(skipped);
      setResults(items);
    } catch (err) {
      setSearchError(err);
    }
  };
  const exp = async (format: 'json' | 'csv' | 'vcard') => {
    setExportNote('');
    try {
      const blob = await props.client.exportDirectory(format);
      download(`parley-directory.${format === 'vcard' ? 'vcf' : format}`, blob);
      setExportNote(t('dir.exported', { format }));
    } catch (err) {
      setExportNote(errorText(err, t));
    }
  };
  const set = (k: keyof typeof q) => (e: Event) => setQ({ ...q, [k]: (e.target as HTMLInputElement).value });
  return (
    <section aria-labelledby="dir-title" class="directory">
      <h1 id="dir-title" tabIndex={-1}>
        {t('nav.directory')}
      </h1>
      <p class="note">{t('dir.note')}</p>
      <form class="filters" role="search" aria-label={t('dir.search')} onSubmit={search}>
        <label>
          {t('field.state')}
          <input id="dir-state" type="text" maxLength={3} value={q.state} onInput={set('state')} />
        </label>
        <label>
          {t('dir.region')}
          <select id="dir-region" value={q.region} onChange={set('region')}>
            <option value="">{t('inbox.all')}</option>
            {REGIONS.map((r) => (
              <option value={r} key={r}>
                {regionLabel(r, t)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('dir.role')}
          <select id="dir-role" value={q.role} onChange={set('role')}>
            <option value="">{t('inbox.all')}</option>
            {['diplomatic', 'technical', 'law-enforcement-24x7'].map((r) => (
              <option value={r} key={r}>
                {roleLabel(r, t)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('dir.language')}
          <input id="dir-language" type="text" maxLength={2} value={q.language} onInput={set('language')} />
        </label>
        <label>
          {t('dir.name')}
          <input id="dir-name" type="text" maxLength={100} value={q.name} onInput={set('name')} />
        </label>
        <button id="dir-search" type="submit">
          {t('dir.search')}
        </button>
      </form>
      {searchError ? <RefusalBox error={searchError} /> : null}
      {results && (
        <table id="dir-results" class="table">
          <caption>{t('dir.results', { n: results.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('field.state')}</th>
              <th scope="col">{t('dir.name')}</th>
              <th scope="col">{t('dir.role')}</th>
              <th scope="col">{t('dir.language')}</th>
            </tr>
          </thead>
          <tbody>
            {results.slice(0, 1000).map((p, i) => (
              <tr key={i}>
                <td>
                  <a href={`#/state/${encodeURIComponent(str(p['state']))}`}>{str(p['state'])}</a>
                </td>
                <td dir="auto">{str(p['name'] ?? p['id'])}</td>
                <td>{strings(p['roles']).map((r) => roleLabel(r, t)).join(', ')}</td>
                <td>{strings(p['languages']).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {results && <Skipped n={resultsSkipped} />}
      <h2>{t('dir.states')}</h2>
      {error ? (
        <RefusalBox error={error} />
      ) : !states ? (
        <Loading />
      ) : (
        <ul class="states" id="dir-states">
          {states.map((s, i) => (
            <li key={`${str(s['code'])}-${i}`}>
              <a href={`#/state/${encodeURIComponent(str(s['code']))}`}>
                {str(s['code'])} — <span dir="auto">{str(s['name'])}</span>
              </a>{' '}
              <span class="note">
                {regionLabel(str(s['region']), t)}
                {s['status'] === 'suspended' ? ` · ${t('dir.suspended')}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      {states && <Skipped n={statesSkipped} />}
      <h2>{t('dir.export')}</h2>
      <div class="actions">
        {(['json', 'csv', 'vcard'] as const).map((f) => (
          <button type="button" class="secondary" key={f} id={`export-${f}`} onClick={() => exp(f)}>
            {t('dir.exportAs', { format: f === 'vcard' ? 'vCard' : f.toUpperCase() })}
          </button>
        ))}
      </div>
      {exportNote && <p role="status">{exportNote}</p>}
    </section>
  );
}
