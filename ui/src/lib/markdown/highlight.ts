// Syntax highlighting for closed code fences only: highlight.js core with the languages models
// write most, class-based output (no inline styles, so the strict CSP holds), cached by source.

import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

hljs.registerLanguage('bash', bash);
hljs.registerLanguage('c', c);
hljs.registerLanguage('css', css);
hljs.registerLanguage('diff', diff);
hljs.registerLanguage('go', go);
hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('json', json);
hljs.registerLanguage('python', python);
hljs.registerLanguage('rust', rust);
hljs.registerLanguage('sql', sql);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('xml', xml);
hljs.registerLanguage('yaml', yaml);
hljs.registerAliases(['sh', 'shell', 'zsh', 'console'], { languageName: 'bash' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['h', 'cpp', 'c++'], { languageName: 'c' });

const SAMPLES: Record<string, string> = {
  bash: 'cargo build --release && echo "$HOME"',
  c: 'int main(void) { return 0; }',
  css: '.a { color: red; }',
  diff: '- a\n+ b',
  go: 'func main() { fmt.Println("x") }',
  javascript: 'const x = () => 1;',
  json: '{ "a": [1, true, null] }',
  python: 'def f(x):\n    return x',
  rust: 'fn main() { let x: u8 = 1; }',
  sql: 'SELECT a FROM b WHERE c = 1;',
  typescript: 'const x: number = 1;',
  xml: '<a href="x">y</a>',
  yaml: 'a: [1, 2]',
};

/**
 * highlight.js compiles a language's grammar the first time it is used, which costs a frame or
 * more. This compiles them one per call (one per frame after the first paint), so a reply's first
 * code block does not pay for it. Returns whether any language is left.
 */
export function warmUpNext(): boolean {
  const next = Object.keys(SAMPLES).find((lang) => !warmed.has(lang));
  if (next === undefined) return false;
  warmed.add(next);
  hljs.highlight(SAMPLES[next] ?? '', { language: next, ignoreIllegals: true });
  return warmed.size < Object.keys(SAMPLES).length;
}
const warmed = new Set<string>();

const cache = new Map<string, string>();
const CACHE_MAX = 300;
/** Larger fences stay plain: highlighting them would cost a frame or more in WebKitGTK. */
const MAX_HIGHLIGHT_CHARS = 60_000;

/** The highlighted HTML of `code` in `lang`, or `undefined` when the language is not known. */
export function highlight(code: string, lang: string): string | undefined {
  const name = lang.toLowerCase();
  if (!name || code.length > MAX_HIGHLIGHT_CHARS || !hljs.getLanguage(name)) return undefined;
  const key = `${name}\u0000${code}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let html: string;
  try {
    html = hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
  } catch {
    return undefined;
  }
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, html);
  return html;
}
