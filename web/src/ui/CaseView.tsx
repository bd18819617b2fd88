/* A case: its messages in order, as the hub lists them (the hub's word); each opens
 * into the verified message view. Below, the evidence packages whose verified manifest
 * names the case. */
import { useEffect, useState } from 'preact/hooks';
import type { ParleyClient } from '../lib/client';
import { HubWordBox, Loading, Priority, RefusalBox, Skipped, statusLabel, TlpChip } from './components';
import { CaseEvidence } from './Evidence';
import { isObj, kindTitle, localTime, objects, str } from './format';
import { useLang } from './i18n';

export function CaseView(props: { client: ParleyClient; id: string }) {
  const { t, lang } = useLang();
  const [msgs, setMsgs] = useState<Record<string, unknown>[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [skipped, setSkipped] = useState(0);
  useEffect(() => {
    setMsgs(null);
    setError(null);
    setSkipped(0);
    props.client
      .caseView(props.id)
      .then((c) => {
        const { items, skipped: n } = objects(c.messages.hub, 10000);
        const seqOf = (m: Record<string, unknown>) => (typeof m['seq'] === 'number' ? m['seq'] : 0);
        setSkipped(n);
        setMsgs(items.sort((a, b) => str(a['created']).localeCompare(str(b['created'])) || seqOf(a) - seqOf(b)));
      })
      .catch(setError);
  }, [props.id]);
  return (
    <section aria-labelledby="case-title">
      <h1 id="case-title" tabIndex={-1}>
        {t('case.title')} <code>{props.id}</code>
      </h1>
      {error ? (
        <RefusalBox error={error} />
      ) : !msgs ? (
        <Loading />
      ) : (
        <HubWordBox title={t('case.listTitle')}>
          <ol class="case" id="case-messages">
            {msgs.map((m) => {
              const from = isObj(m['from']) ? m['from'] : {};
              const id = str(m['id']);
              return (
                <li key={id} data-id={id}>
                  <a href={`#/message/${encodeURIComponent(id)}`}>{kindTitle(str(m['kind']), lang)}</a> <Priority priority={str(m['priority'])} /> <TlpChip tlp={str(m['tlp'])} />{' '}
                  <span>
                    {str(from['state'])} · {str(from['poc'])}
                  </span>{' '}
                  <span class="note">
                    {localTime(str(m['created']), lang)} · {statusLabel(str(m['status']), t)}
                  </span>
                </li>
              );
            })}
          </ol>
          {msgs.length === 0 && <p>{t('case.empty')}</p>}
          <Skipped n={skipped} />
        </HubWordBox>
      )}
      <CaseEvidence client={props.client} caseId={props.id} />
    </section>
  );
}
