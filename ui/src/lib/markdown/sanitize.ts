// The last stage of the Markdown pipeline: an allowlist sanitizer. Raw HTML in model output is
// already escaped by the renderer; this is the second wall. It keeps only the tags and
// attributes the renderer emits, links only to http(s) and mailto, and images only from inline
// raster data (no remote images: nothing in the page may fetch from the network).

import DOMPurify from 'dompurify';

const ALLOWED_TAGS = [
  'a',
  'blockquote',
  'br',
  'button',
  'code',
  'del',
  'div',
  'em',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'img',
  'input',
  'li',
  'ol',
  'p',
  'pre',
  's',
  'span',
  'strong',
  'sub',
  'sup',
  'table',
  'tbody',
  'td',
  'th',
  'thead',
  'tr',
  'ul',
];
const ALLOWED_ATTR = [
  'href',
  'title',
  'alt',
  'src',
  'class',
  'type',
  'checked',
  'disabled',
  'start',
  'align',
  'data-md-copy',
  'data-lang',
];

const LINK = /^(?:https?:\/\/|mailto:)/i;
const IMAGE = /^data:image\/(?:png|jpeg|gif|webp);base64,[a-z0-9+/=\s]+$/i;

/** Whether a link target may be opened (in the system browser). */
export function isSafeLink(href: string): boolean {
  return LINK.test(href.trim());
}

/** Whether an image source may be shown in the page. */
export function isSafeImage(src: string): boolean {
  return IMAGE.test(src.trim());
}

let purifier: ReturnType<typeof DOMPurify> | undefined;

function instance(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier;
  const p = DOMPurify(window);
  p.addHook('afterSanitizeAttributes', (node) => {
    const el = node as Element;
    switch (el.nodeName) {
      case 'A': {
        const href = el.getAttribute('href');
        if (href !== null && !isSafeLink(href)) el.removeAttribute('href');
        if (el.hasAttribute('href')) el.setAttribute('rel', 'noreferrer noopener');
        break;
      }
      case 'IMG': {
        const src = el.getAttribute('src');
        if (src === null || !isSafeImage(src)) el.removeAttribute('src');
        break;
      }
      case 'INPUT':
        if (el.getAttribute('type') !== 'checkbox') el.remove();
        else el.setAttribute('disabled', '');
        break;
      case 'BUTTON':
        el.setAttribute('type', 'button');
        break;
    }
  });
  // One configuration, parsed once (not on every call).
  p.setConfig({
    IN_PLACE: true,
    ALLOWED_TAGS,
    ALLOWED_ATTR: [...ALLOWED_ATTR, 'rel'],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|data:image\/(?:png|jpeg|gif|webp);base64,)/i,
    KEEP_CONTENT: true,
  });
  purifier = p;
  return p;
}

let host: HTMLElement | undefined;

/**
 * Sanitizes HTML produced by the Markdown renderer. The HTML is parsed into an element of an
 * inert document (no scripts run, nothing loads, no handler fires there) and cleaned in place:
 * DOMPurify would otherwise build a new document per call, which costs a millisecond or more per
 * block in WebKitGTK.
 */
export function sanitize(html: string): string {
  host ??= document.implementation.createHTMLDocument('').createElement('div');
  host.innerHTML = html;
  instance().sanitize(host);
  const clean = host.innerHTML;
  host.textContent = '';
  return clean;
}
