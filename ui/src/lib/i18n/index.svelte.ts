// A small typed i18n: three catalogs, a reactive locale, Intl for plurals, numbers, units, times.
// `t()` reads the locale, so anything that renders through it follows a live language switch.

import type { Language } from '../../api';
import { en, type MessageKey } from './en';
import { th } from './th';
import type { Catalog, Plural } from './types';
import { zhCN } from './zh-CN';

export type Locale = 'en' | 'zh-CN' | 'th';
export type { MessageKey };

export const LOCALES: readonly Locale[] = ['en', 'zh-CN', 'th'];

/** Each language by its own name (never translated). */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文', th: 'ไทย' };

export const catalogs: Record<Locale, Catalog> = { en, 'zh-CN': zhCN, th };

/** The locale for a BCP 47 tag: any Chinese is Simplified Chinese, any Thai is Thai, else English. */
export function resolveLocale(tag: string | undefined): Locale {
  const lower = (tag ?? '').toLowerCase().replace('_', '-');
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('th')) return 'th';
  return 'en';
}

/** The locale a language setting means, given the OS locale. */
export function localeFor(language: Language, osLocale: string | undefined): Locale {
  return language === 'auto' ? resolveLocale(osLocale) : language;
}

type Params = Record<string, string | number>;

class I18n {
  locale = $state<Locale>('en');
  #plural = new Map<Locale, Intl.PluralRules>();
  #numbers = new Map<string, Intl.NumberFormat>();
  #relative = new Map<Locale, Intl.RelativeTimeFormat>();
  #times = new Map<string, Intl.DateTimeFormat>();

  /** The message for `key` in the current locale, with `{param}`s filled in. */
  t = (key: MessageKey, params?: Params): string => {
    const catalog = catalogs[this.locale];
    const entry: string | Plural = catalog[key] ?? en[key];
    let text: string;
    if (typeof entry === 'string') {
      text = entry;
    } else {
      const count = Number(params?.['count'] ?? 0);
      const category = this.#rules().select(count) as keyof Plural;
      text = entry[category] ?? entry.other;
    }
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = params[name];
      if (value === undefined) return whole;
      return typeof value === 'number' ? this.number(value) : value;
    });
  };

  number(n: number, options?: Intl.NumberFormatOptions): string {
    const o = options ?? {};
    const key = `${this.locale}|${o.style}|${o.unit}|${o.unitDisplay}|${o.maximumFractionDigits}`;
    let format = this.#numbers.get(key);
    if (!format) {
      format = new Intl.NumberFormat(this.locale, options);
      this.#numbers.set(key, format);
    }
    return format.format(n);
  }

  /** A duration: `840 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min` in the locale's units. */
  duration(ms: number): string {
    const unit = (n: number, u: string, digits = 0): string =>
      this.number(n, { style: 'unit', unit: u, unitDisplay: 'short', maximumFractionDigits: digits });
    if (ms < 1000) return unit(Math.max(0, Math.round(ms)), 'millisecond');
    if (ms < 10_000) return unit(Math.floor(ms / 100) / 10, 'second', 1);
    const s = Math.floor(ms / 1000);
    if (s < 60) return unit(s, 'second');
    const m = Math.floor(s / 60);
    if (m < 60) return s % 60 ? `${unit(m, 'minute')} ${unit(s % 60, 'second')}` : unit(m, 'minute');
    const h = Math.floor(m / 60);
    return m % 60 ? `${unit(h, 'hour')} ${unit(m % 60, 'minute')}` : unit(h, 'hour');
  }

  /** Whole seconds, for countdowns and elapsed time that tick once a second. */
  seconds(ms: number): string {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) {
      return this.number(s, { style: 'unit', unit: 'second', unitDisplay: 'short' });
    }
    return this.duration(s * 1000);
  }

  bytes(n: number): string {
    const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];
    let value = n;
    let i = 0;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i++;
    }
    return this.number(value, {
      style: 'unit',
      unit: units[i],
      unitDisplay: i === 0 ? 'long' : 'short',
      maximumFractionDigits: value < 10 && i > 0 ? 1 : 0,
    });
  }

  /** `5 minutes ago`, `yesterday`, in the locale. */
  relative(atMs: number, nowMs: number): string {
    let format = this.#relative.get(this.locale);
    if (!format) {
      format = new Intl.RelativeTimeFormat(this.locale, { numeric: 'auto', style: 'long' });
      this.#relative.set(this.locale, format);
    }
    const diff = (atMs - nowMs) / 1000;
    const abs = Math.abs(diff);
    if (abs < 45) return format.format(0, 'second');
    if (abs < 2700) return format.format(Math.round(diff / 60), 'minute');
    if (abs < 79_200) return format.format(Math.round(diff / 3600), 'hour');
    if (abs < 26 * 86_400) return format.format(Math.round(diff / 86_400), 'day');
    if (abs < 320 * 86_400) return format.format(Math.round(diff / (30 * 86_400)), 'month');
    return format.format(Math.round(diff / (365 * 86_400)), 'year');
  }

  /** A clock time, `14:05`. */
  time(atMs: number, seconds = false): string {
    return this.#dateFormat(seconds ? 'hms' : 'hm').format(atMs);
  }

  /** A date and time, for the journal and logs. */
  dateTime(atMs: number): string {
    return this.#dateFormat('mdhms').format(atMs);
  }

  #dateFormat(kind: 'hm' | 'hms' | 'mdhms'): Intl.DateTimeFormat {
    const key = `${this.locale}|${kind}`;
    let format = this.#times.get(key);
    if (!format) {
      const time: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hour12: false };
      if (kind !== 'hm') time.second = '2-digit';
      if (kind === 'mdhms') Object.assign(time, { month: 'short', day: 'numeric' });
      format = new Intl.DateTimeFormat(this.locale, time);
      this.#times.set(key, format);
    }
    return format;
  }

  #rules(): Intl.PluralRules {
    let rules = this.#plural.get(this.locale);
    if (!rules) {
      rules = new Intl.PluralRules(this.locale);
      this.#plural.set(this.locale, rules);
    }
    return rules;
  }
}

export const i18n = new I18n();
export const t = i18n.t;
