/* The interface in the six UN languages. Each catalog is typed against the English one
 * (Catalog), so a missing or misspelt string fails the type check. The chosen language
 * is remembered in localStorage; Arabic sets dir=rtl on <html> and the layout mirrors
 * through CSS logical properties. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Lang } from '../lib/client';
import { ar } from './i18n/ar';
import { en, type Catalog, type Key } from './i18n/en';
import { es } from './i18n/es';
import { fr } from './i18n/fr';
import { ru } from './i18n/ru';
import { zh } from './i18n/zh';

export type { Key };

export interface Language {
  code: Lang;
  name: string; /* in the language itself */
  dir: 'ltr' | 'rtl';
}

export const LANGUAGES: Language[] = [
  { code: 'ar', name: 'العربية', dir: 'rtl' },
  { code: 'zh', name: '中文', dir: 'ltr' },
  { code: 'en', name: 'English', dir: 'ltr' },
  { code: 'fr', name: 'Français', dir: 'ltr' },
  { code: 'ru', name: 'Русский', dir: 'ltr' },
  { code: 'es', name: 'Español', dir: 'ltr' },
];

const CATALOGS: Record<Lang, Catalog> = { ar, zh, en, fr, ru, es };
const STORAGE_KEY = 'parley-language';

export function isLang(s: unknown): s is Lang {
  return typeof s === 'string' && LANGUAGES.some((l) => l.code === s);
}

export function savedLanguage(): Lang {
  try {
    const s = localStorage.getItem(STORAGE_KEY);
    if (isLang(s)) return s;
  } catch {
    /* storage disabled: fall back to English */
  }
  return 'en';
}

export function applyLanguage(code: Lang): void {
  const lang = LANGUAGES.find((l) => l.code === code) ?? LANGUAGES[2]!;
  document.documentElement.lang = lang.code;
  document.documentElement.dir = lang.dir;
  try {
    localStorage.setItem(STORAGE_KEY, lang.code);
  } catch {
    /* not remembered: nothing else depends on it */
  }
}

/* t('key', {n: 3}) replaces {n} in the string. */
export type T = (key: Key, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): T {
  const cat = CATALOGS[lang];
  return (key, vars) => {
    let s: string = cat[key];
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

export interface LangState {
  lang: Lang;
  t: T;
}

export const LangContext = createContext<LangState>({ lang: 'en', t: translator('en') });

export function useLang(): LangState {
  return useContext(LangContext);
}
