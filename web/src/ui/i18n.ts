/* The six UN languages the interface will be offered in. Only English strings exist
 * yet; the switcher already sets the document's language and direction (Arabic is
 * right to left), so translations can be dropped in without touching the layout. */
export interface Language {
  code: string;
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

export function applyLanguage(code: string): void {
  const lang = LANGUAGES.find((l) => l.code === code) ?? LANGUAGES[2]!;
  document.documentElement.lang = lang.code;
  document.documentElement.dir = lang.dir;
}
