/* Compose a message, or a reply (#/compose?reply=ID). The kinds and their fields come
 * from the compiled templates, labelled in the interface's language; the content is
 * checked with validateContent (as `parley send` does) and each problem is shown next
 * to its field before anything is sent. Recipients are picked from verified directory
 * records (ParleyClient.verifiedRecord) by state and role. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Draft, LANGS, Lang, OpenedMessage, ParleyClient, Template, TemplateField, validateContent } from '../lib/client';
import type { Me } from './session';
import { Loading, RefusalBox } from './components';
import { allTemplates, kindTitle } from './format';
import { LANGUAGES, useLang } from './i18n';
import { Recipients } from './Recipients';
import { go } from './router';

type Values = Record<string, string | boolean | string[]>;
const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const MAX_TEXT = 64000; /* the page's own bound; templates set lower ones */

interface Choice {
  value: string;
  labels: Record<Lang, string>;
}

/* The form's values as template content: empty fields left out, integers as numbers. */
export function contentOf(tpl: Template, v: Values): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  for (const f of tpl.fields) {
    const x = v[f.name];
    if (x === undefined || x === '' || x === false || (Array.isArray(x) && x.length === 0)) continue;
    if (f.type === 'integer' && typeof x === 'string' && /^-?\d{1,15}$/.test(x.trim())) c[f.name] = Number(x.trim());
    else c[f.name] = x;
  }
  return c;
}

function FieldInput(props: { f: TemplateField; value: Values[string] | undefined; problem?: string; set: (v: Values[string]) => void; touch: () => void }) {
  const { lang } = useLang();
  const { f } = props;
  const id = `field-${f.name}`;
  const err = props.problem ? `${id}-problem` : undefined;
  const label = f.labels[lang] ?? f.name;
  const common = { id, 'aria-describedby': err, 'aria-invalid': props.problem ? ('true' as const) : undefined, onBlur: props.touch, required: f.required };
  const problem = props.problem && (
    <span class="problem" id={err} lang="en">
      {props.problem}
    </span>
  );
  const max = Math.min(typeof f.max === 'number' ? f.max : MAX_TEXT, MAX_TEXT);
  const choices = (f['choices'] as Choice[] | undefined) ?? [];
  if (f.type === 'enum-list') {
    const cur = Array.isArray(props.value) ? props.value : [];
    return (
      <fieldset class="field" data-field={f.name} aria-describedby={err}>
        <legend>
          {label}
          {f.required && <span class="req"> *</span>}
        </legend>
        {choices.map((c) => (
          <label class="check" key={c.value}>
            <input
              type="checkbox"
              name={f.name}
              value={c.value}
              checked={cur.includes(c.value)}
              onChange={(e) => {
                props.touch();
                props.set((e.target as HTMLInputElement).checked ? [...cur, c.value] : cur.filter((x) => x !== c.value));
              }}
            />
            {c.labels[lang]}
          </label>
        ))}
        {problem}
      </fieldset>
    );
  }
  if (f.type === 'bool')
    return (
      <div class="field" data-field={f.name}>
        <label class="check">
          <input type="checkbox" {...common} checked={props.value === true} onChange={(e) => (props.touch(), props.set((e.target as HTMLInputElement).checked))} />
          {label}
          {f.required && <span class="req"> *</span>}
        </label>
        {problem}
      </div>
    );
  let input;
  const sv = typeof props.value === 'string' ? props.value : '';
  const onInput = (e: Event) => props.set((e.target as HTMLInputElement).value);
  if (f.type === 'enum')
    input = (
      <select {...common} value={sv} onChange={(e) => (props.touch(), props.set((e.target as HTMLSelectElement).value))}>
        <option value="">—</option>
        {choices.map((c) => (
          <option value={c.value} key={c.value}>
            {c.labels[lang]}
          </option>
        ))}
      </select>
    );
  else if (f.type === 'text') input = <textarea {...common} dir="auto" rows={4} maxLength={max} value={sv} onInput={onInput} />;
  else if (f.type === 'date') input = <input {...common} type="date" value={sv} onInput={onInput} />;
  else if (f.type === 'integer') input = <input {...common} type="text" inputMode="numeric" value={sv} onInput={onInput} />;
  else input = <input {...common} type="text" dir="auto" maxLength={max} value={sv} onInput={onInput} />;
  return (
    <div class="field" data-field={f.name}>
      <label for={id}>
        {label}
        {f.required && <span class="req"> *</span>}
      </label>
      {input}
      {problem}
    </div>
  );
}

export function Compose(props: { client: ParleyClient; reply?: string; me: Me | null }) {
  const { t, lang } = useLang();
  const kinds = useMemo(() => allTemplates(), []);
  const [kind, setKind] = useState(props.reply ? 'response' : '');
  const [values, setValues] = useState<Values>({});
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [tried, setTried] = useState(false);
  const [priority, setPriority] = useState<Draft['priority']>('routine');
  const [tlp, setTlp] = useState('AMBER');
  const [bodyLang, setBodyLang] = useState<string>(lang);
  const [recipients, setRecipients] = useState<{ state: string; poc: string }[]>([]);
  const [instrument, setInstrument] = useState('');
  const [article, setArticle] = useState('');
  const [original, setOriginal] = useState<OpenedMessage | null>(null);
  const [origError, setOrigError] = useState<unknown>(null);
  const [sendError, setSendError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!props.reply) return;
    props.client.open(props.reply).then((m) => {
      setOriginal(m);
      setPriority((['routine', 'urgent', 'critical'].includes(m.header.priority) ? m.header.priority : 'routine') as Draft['priority']);
      setTlp(m.header.tlp.replace(/^TLP:/, ''));
    }, setOrigError);
  }, [props.reply]);

  const tpl = kinds.find((k) => k.kind === kind);
  const content = tpl ? contentOf(tpl, values) : {};
  let problems: { field: string; problem: string }[] = [];
  try {
    problems = tpl ? validateContent(kind, content) : [];
  } catch (e) {
    problems = [{ field: '', problem: e instanceof Error ? e.message : String(e) }];
  }
  const problemOf = (name: string) => (tried || touched.has(name) ? problems.find((p) => p.field === name || p.field.startsWith(name + '['))?.problem : undefined);
  const loose = problems.filter((p) => !tpl?.fields.some((f) => p.field === f.name || p.field.startsWith(f.name + '[')));
  const legal = instrument.trim() && article.trim() ? { instrument: instrument.trim(), article: article.trim() } : undefined;

  const submit = async (e: Event) => {
    e.preventDefault();
    setTried(true);
    setSendError(null);
    if (!tpl || problems.length || (!props.reply && recipients.length === 0)) {
      document.querySelector<HTMLElement>('[aria-invalid="true"], #compose-problems')?.focus();
      return;
    }
    setBusy(true);
    try {
      const common = { kind, priority, tlp, content, language: bodyLang, ...(legal ? { legal_basis: legal } : {}) };
      const r = props.reply ? await props.client.reply(props.reply, common) : await props.client.send({ ...common, recipients });
      go({ name: 'message', id: r.id });
    } catch (err) {
      setSendError(err);
      setTimeout(() => document.getElementById('refusal')?.focus(), 0);
    } finally {
      setBusy(false);
    }
  };

  if (props.reply && origError)
    return (
      <section aria-labelledby="compose-title">
        <h1 id="compose-title" tabIndex={-1}>
          {t('compose.replyTitle')}
        </h1>
        <RefusalBox error={origError} />
      </section>
    );
  return (
    <section aria-labelledby="compose-title" class="compose">
      <h1 id="compose-title" tabIndex={-1}>
        {props.reply ? t('compose.replyTitle') : t('compose.title')}
      </h1>
      {props.reply && !original && <Loading />}
      {original && (
        <p id="reply-to" class="panel">
          {t('compose.replyTo', { kind: kindTitle(original.header.kind, lang), from: `${original.header.from.state} · ${original.header.from.poc}` })}
        </p>
      )}
      <form onSubmit={submit} class="wide" noValidate>
        <fieldset class="kinds" id="kinds">
          <legend>{t('compose.kind')}</legend>
          {kinds.map((k) => (
            <button type="button" key={k.kind} id={`kind-${k.kind}`} class={`kind-choice${kind === k.kind ? ' chosen' : ''}`} aria-pressed={kind === k.kind} onClick={() => (setKind(k.kind), setTried(false), setTouched(new Set()), setInstrument(''), setArticle(''))}>
              {k.title[lang]}
            </button>
          ))}
        </fieldset>
        {tpl && (
          <fieldset class="fields" id="fields">
            <legend>{tpl.title[lang]}</legend>
            {tpl.fields.map((f) => (
              <FieldInput
                key={`${kind}-${f.name}`}
                f={f}
                value={values[f.name]}
                problem={problemOf(f.name)}
                set={(v) => setValues((old) => ({ ...old, [f.name]: v }))}
                touch={() => setTouched((s) => (s.has(f.name) ? s : new Set(s).add(f.name)))}
              />
            ))}
          </fieldset>
        )}
        {!props.reply && <Recipients client={props.client} chosen={recipients} set={setRecipients} myState={props.me?.state} />}
        <div class="row3">
          <label>
            {t('field.priority')}
            <select id="priority" value={priority} onChange={(e) => setPriority((e.target as HTMLSelectElement).value as Draft['priority'])}>
              <option value="routine">{t('priority.routine')}</option>
              <option value="urgent">{t('priority.urgent')}</option>
              <option value="critical">{t('priority.critical')}</option>
            </select>
          </label>
          <label>
            TLP
            <select id="tlp" value={tlp} onChange={(e) => setTlp((e.target as HTMLSelectElement).value)}>
              {TLPS.map((x) => (
                <option value={x} key={x}>
                  TLP:{x}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('compose.bodyLanguage')}
            <select id="body-language" value={bodyLang} onChange={(e) => setBodyLang((e.target as HTMLSelectElement).value)}>
              {LANGS.map((l) => (
                <option value={l} key={l}>
                  {LANGUAGES.find((x) => x.code === l)?.name ?? l}
                </option>
              ))}
            </select>
          </label>
        </div>
        {tpl?.bases && tpl.bases.length > 0 && (
          <details class="legal">
            <summary>{t('compose.legalBasis')}</summary>
            <label>
              {t('compose.instrument')}
              <select
                id="legal-basis"
                value={instrument}
                onChange={(e) => {
                  const v = (e.target as HTMLSelectElement).value;
                  const b = tpl.bases!.find((x) => x.instrument === v);
                  setInstrument(v);
                  setArticle(b && b.article !== '*' ? b.article : '');
                }}
              >
                <option value="">—</option>
                {[...new Set(tpl.bases.map((b) => b.instrument))].map((i) => (
                  <option value={i} key={i}>
                    {i}
                  </option>
                ))}
              </select>
            </label>
            {instrument && (
              <label>
                {t('compose.article')}
                {tpl.bases.some((b) => b.instrument === instrument && b.article === '*') ? (
                  <input id="legal-article" type="text" maxLength={32} value={article} onInput={(e) => setArticle((e.target as HTMLInputElement).value)} />
                ) : (
                  <select id="legal-article" value={article} onChange={(e) => setArticle((e.target as HTMLSelectElement).value)}>
                    {tpl.bases
                      .filter((b) => b.instrument === instrument)
                      .map((b) => (
                        <option value={b.article} key={b.article}>
                          {b.article}
                        </option>
                      ))}
                  </select>
                )}
              </label>
            )}
          </details>
        )}
        {tried && (problems.length > 0 || !tpl || (!props.reply && recipients.length === 0)) && (
          <div id="compose-problems" class="error" role="alert" tabIndex={-1}>
            {!tpl && <p>{t('compose.pickKind')}</p>}
            {!props.reply && recipients.length === 0 && <p>{t('compose.pickRecipient')}</p>}
            {problems.length > 0 && <p>{t('compose.fixFields', { n: problems.length })}</p>}
            {loose.map((p, i) => (
              <p key={i} lang="en">
                {p.field ? `${p.field}: ` : ''}
                {p.problem}
              </p>
            ))}
          </div>
        )}
        {sendError ? <RefusalBox error={sendError} /> : null}
        <div class="actions">
          <button id="send" type="submit" disabled={busy}>
            {busy ? t('compose.sending') : props.reply ? t('compose.sendReply') : t('compose.send')}
          </button>
          <span class="note">{t('compose.sendNote')}</span>
        </div>
      </form>
    </section>
  );
}
