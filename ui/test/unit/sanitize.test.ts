import { describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/lib/markdown/pipeline';
import { isSafeLink, sanitize } from '../../src/lib/markdown/sanitize';
import { XSS_MARKDOWN } from '../../src/testing/corpus';

const pipeline = createPipeline();

function dom(html: string): HTMLElement {
  const el = document.createElement('div');
  el.innerHTML = html;
  return el;
}

function dangerous(el: HTMLElement): string[] {
  const found: string[] = [];
  for (const node of el.querySelectorAll('*')) {
    for (const attr of node.attributes) {
      if (/^on/i.test(attr.name)) found.push(`${node.tagName} ${attr.name}`);
      if (
        /^(href|src|action|formaction|xlink:href)$/i.test(attr.name) &&
        !/^(https?:|mailto:|data:image\/(png|jpeg|gif|webp);base64,)/i.test(attr.value)
      ) {
        found.push(`${node.tagName} ${attr.name}=${attr.value}`);
      }
      if (attr.name === 'style') found.push(`${node.tagName} style`);
    }
    if (/^(SCRIPT|IFRAME|OBJECT|EMBED|SVG|MATH|FORM|STYLE|DETAILS|LINK|META|BASE)$/i.test(node.tagName))
      found.push(node.tagName);
  }
  return found;
}

describe('sanitizer', () => {
  it('renders the XSS corpus with no handler, no dangerous URL and no active element', () => {
    const html = pipeline.renderFull(XSS_MARKDOWN);
    expect(dangerous(dom(html))).toEqual([]);
    expect(html).not.toMatch(/<a[^>]+javascript:/i);
  });

  it('the corpus is live: without the sanitizer and escaping it yields handlers and javascript: links', () => {
    const unsafe = createPipeline({ sanitize: false, escapeRawHtml: false }).renderFull(XSS_MARKDOWN);
    const found = dangerous(dom(unsafe));
    expect(found.some((f) => f.includes('onerror'))).toBe(true);
    expect(found.some((f) => f.includes('javascript:'))).toBe(true);
  });

  const cases: [string, string][] = [
    ['<img src=x onerror=alert(1)>', 'onerror'],
    ['<a href="javascript:alert(1)">x</a>', 'javascript:'],
    ['<a href="JaVaScRiPt:alert(1)">x</a>', 'javascript:'],
    ['<a href=" javascript:alert(1)">x</a>', 'javascript:'],
    ['<a href="data:text/html,<script>alert(1)</script>">x</a>', 'data:text'],
    ['<a href="vbscript:msgbox(1)">x</a>', 'vbscript'],
    ['<svg><script>alert(1)</script></svg>', '<script'],
    ['<iframe src="https://evil.example"></iframe>', 'iframe'],
    ['<img src="https://evil.example/track.png">', 'evil.example'],
    ['<p style="background:url(javascript:alert(1))">x</p>', 'style'],
    ['<form action="https://evil.example"><input type=submit></form>', 'form'],
    ['<input type="text" value="x">', 'type="text"'],
    ['<button onclick="alert(1)">b</button>', 'onclick'],
    ['<a href="https://ok.example" onmouseover="alert(1)">ok</a>', 'onmouseover'],
  ];
  it.each(cases)('strips %s', (input, bad) => {
    const out = sanitize(input);
    expect(out.toLowerCase()).not.toContain(bad.toLowerCase());
  });

  it('keeps safe links, marks them noreferrer, and keeps inline raster images only', () => {
    const out = sanitize(
      '<a href="https://example.com/x">x</a><img src="data:image/png;base64,iVBORw0KGgo=" alt="d">',
    );
    expect(out).toContain('href="https://example.com/x"');
    expect(out).toContain('rel="noreferrer noopener"');
    expect(out).toContain('src="data:image/png;base64,iVBORw0KGgo="');
    expect(sanitize('<img src="data:image/svg+xml;base64,PHN2Zz4=">')).not.toContain('src=');
  });

  it('shows remote images as links, never loads them', () => {
    const html = pipeline.renderFull('![chart](https://example.com/c.png)');
    expect(html).not.toContain('<img');
    expect(html).toContain('<a class="md-image-link" href="https://example.com/c.png"');
  });

  it('turns incomplete streamed links into text without a target', () => {
    const html = pipeline.renderTail('see [the docs](https://exa');
    expect(html).not.toMatch(/href="streamdown:/);
  });

  it('judges link schemes', () => {
    expect(isSafeLink('https://a.b')).toBe(true);
    expect(isSafeLink('mailto:a@b.c')).toBe(true);
    expect(isSafeLink('javascript:alert(1)')).toBe(false);
    expect(isSafeLink('file:///etc/passwd')).toBe(false);
    expect(isSafeLink('/relative')).toBe(false);
  });
});
