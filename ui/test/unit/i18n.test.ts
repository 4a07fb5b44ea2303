import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from '../../src/lib/i18n/en';
import { catalogs, i18n, localeFor, LOCALES, resolveLocale, t } from '../../src/lib/i18n/index.svelte';

function params(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();
}
function texts(v: string | { one?: string; other: string }): string[] {
  return typeof v === 'string' ? [v] : [v.other, ...(v.one ? [v.one] : [])];
}

describe('i18n', () => {
  const keys = Object.keys(en).sort();

  it.each(LOCALES)('%s has exactly the English keys', (locale) => {
    expect(Object.keys(catalogs[locale]).sort()).toEqual(keys);
  });

  it.each(LOCALES)('%s uses the same parameters and plural shape as English, and no empty text', (locale) => {
    const catalog = catalogs[locale] as Record<string, string | { one?: string; other: string }>;
    for (const key of keys) {
      const source = (en as Record<string, string | { one?: string; other: string }>)[key] as
        string | { other: string };
      const target = catalog[key];
      expect(target, key).toBeDefined();
      if (target === undefined) continue;
      expect(typeof target, key).toBe(typeof source);
      const want = params(texts(source)[0] as string);
      for (const text of texts(target)) {
        expect(text.trim(), key).not.toBe('');
        expect(params(text), `${locale} ${key}`).toEqual(want);
      }
    }
  });

  it('every message key the code names exists', () => {
    const root = resolve(import.meta.dirname, '../../src');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(svelte|ts)$/.test(name) && !p.includes('/i18n/')) files.push(p);
      }
    };
    walk(root);
    const used = new Set<string>();
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g))
        used.add(m[1] as string);
    }
    expect(used.size).toBeGreaterThan(100);
    const missing = [...used].filter((k) => !(k in en));
    expect(missing).toEqual([]);
  });

  it('chooses the locale from the OS or the setting', () => {
    expect(resolveLocale('zh-TW')).toBe('zh-CN');
    expect(resolveLocale('th_TH')).toBe('th');
    expect(resolveLocale('de-DE')).toBe('en');
    expect(localeFor('auto', 'th-TH')).toBe('th');
    expect(localeFor('en', 'th-TH')).toBe('en');
  });

  it('fills parameters and plurals, and switches live', () => {
    i18n.locale = 'en';
    expect(t('tool.label', { name: 'ls', status: 'running' })).toBe('Tool ls: running');
    expect(t('tool.group', { count: 1 })).toBe('1 tool call');
    expect(t('tool.group', { count: 3 })).toBe('3 tool calls');
    i18n.locale = 'zh-CN';
    expect(t('tool.group', { count: 3 })).toBe('3 次工具调用');
    i18n.locale = 'th';
    expect(t('composer.send')).toBe('ส่ง');
    i18n.locale = 'en';
  });
});
