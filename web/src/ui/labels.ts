/* The directory's role and region codes in the interface's language; an unknown code
 * is shown as it is. */
import type { useLang } from './i18n';

export function roleLabel(r: string, t: ReturnType<typeof useLang>['t']): string {
  return r === 'diplomatic' ? t('role.diplomatic') : r === 'technical' ? t('role.technical') : r === 'law-enforcement-24x7' ? t('role.le') : r;
}

export function regionLabel(r: string, t: ReturnType<typeof useLang>['t']): string {
  switch (r) {
    case 'african':
      return t('region.african');
    case 'asia-pacific':
      return t('region.asiaPacific');
    case 'eastern-european':
      return t('region.eastern');
    case 'latin-american-and-caribbean':
      return t('region.latin');
    case 'western-european-and-others':
      return t('region.western');
    default:
      return r;
  }
}
