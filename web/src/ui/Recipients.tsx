import { useEffect, useState } from 'preact/hooks';
import type { ParleyClient, VerifiedRecord } from '../lib/client';
import { Loading, RefusalBox } from './components';
import { str } from './format';
import { useLang } from './i18n';
import { roleLabel } from './labels';

const ROLES = ['diplomatic', 'technical', 'law-enforcement-24x7'];

/* States ticked, then their POCs from each state's verified record. */
export function Recipients(props: { client: ParleyClient; chosen: { state: string; poc: string }[]; set: (r: { state: string; poc: string }[]) => void; myState?: string }) {
  const { t } = useLang();
  const [states, setStates] = useState<{ code: string; name: string }[] | null>(null);
  const [records, setRecords] = useState<Record<string, VerifiedRecord | { error: unknown } | 'loading'>>({});
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    props.client.states().then(
      (s) => setStates((Array.isArray(s.hub) ? s.hub : []).filter((x) => x && typeof x.code === 'string').map((x) => ({ code: String(x.code), name: str(x.name) }))),
      setError,
    );
  }, [props.client]);
  const toggleState = async (code: string, on: boolean) => {
    if (!on) {
      setRecords((r) => {
        const n = { ...r };
        delete n[code];
        return n;
      });
      props.set(props.chosen.filter((c) => c.state !== code));
      return;
    }
    setRecords((r) => ({ ...r, [code]: 'loading' }));
    try {
      const rec = await props.client.verifiedRecord(code);
      setRecords((r) => ({ ...r, [code]: rec }));
    } catch (e) {
      setRecords((r) => ({ ...r, [code]: { error: e } }));
    }
  };
  const has = (s: string, p: string) => props.chosen.some((c) => c.state === s && c.poc === p);
  const togglePoc = (s: string, p: string, on: boolean) => props.set(on ? [...props.chosen, { state: s, poc: p }] : props.chosen.filter((c) => !(c.state === s && c.poc === p)));
  const byRole = (rec: VerifiedRecord, role: string) => {
    const add = rec.pocs.filter((p) => p.roles.includes(role) && !has(rec.state, p.id)).map((p) => ({ state: rec.state, poc: p.id }));
    props.set([...props.chosen, ...add]);
  };
  if (error) return <RefusalBox error={error} />;
  if (!states) return <Loading />;
  return (
    <fieldset class="recipients" id="recipients">
      <legend>{t('compose.recipients')}</legend>
      <p class="note">{t('compose.recipientsNote')}</p>
      <div class="statepick">
        {states
          .filter((s) => s.code !== props.myState)
          .map((s) => (
            <label class="check" key={s.code}>
              <input type="checkbox" id={`to-state-${s.code}`} checked={s.code in records} onChange={(e) => toggleState(s.code, (e.target as HTMLInputElement).checked)} />
              {s.code} <span dir="auto">{s.name}</span>
            </label>
          ))}
      </div>
      {Object.entries(records).map(([code, rec]) => (
        <div class="pocpick" key={code} data-state={code}>
          <h3>{code}</h3>
          {rec === 'loading' ? (
            <Loading />
          ) : 'error' in rec ? (
            <RefusalBox error={rec.error} />
          ) : (
            <>
              <p class="note">{t('compose.verifiedRecord', { version: rec.version })}</p>
              <div class="actions">
                {ROLES.filter((r) => rec.pocs.some((p) => p.roles.includes(r))).map((r) => (
                  <button type="button" class="small secondary" key={r} id={`to-role-${code}-${r}`} onClick={() => byRole(rec, r)}>
                    {t('compose.allWithRole', { role: roleLabel(r, t) })}
                  </button>
                ))}
              </div>
              {rec.pocs.map((p) => (
                <label class="check" key={p.id}>
                  <input type="checkbox" id={`to-${code}-${p.id}`} checked={has(code, p.id)} onChange={(e) => togglePoc(code, p.id, (e.target as HTMLInputElement).checked)} />
                  <span dir="auto">{p.name}</span> ({p.id}; {p.roles.map((r) => roleLabel(r, t)).join(', ')})
                </label>
              ))}
            </>
          )}
        </div>
      ))}
    </fieldset>
  );
}
