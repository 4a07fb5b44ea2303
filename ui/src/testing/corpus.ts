// Markdown that exercises every block the renderer knows, in three languages, plus an XSS
// section. Shared by the unit tests, the browser tests and the stress stream.

export const RICH_MARKDOWN = `# Workspace report

Here is what I found in **your workspace** — three projects, one of them *stale*, and a \`Cargo.lock\` that is ~~out of date~~ current.

## Files

1. \`src/main.rs\`: the entry point
2. \`src/lib.rs\`: the library, with **bold _nested_ emphasis**
3. \`README.md\`

- [x] build passes
- [ ] docs updated
  - nested item with a [link](https://example.com/docs "Docs")
  - another one, see <https://openclaw.ai>

> A quote from the log:
> \`error[E0425]: cannot find value\`
>
> > nested quote

\`\`\`rust
fn main() {
    let files = std::fs::read_dir(".").unwrap();
    for f in files {
        println!("{}", f.unwrap().path().display());
    }
}
\`\`\`

| file | size | changed |
|:-----|-----:|:-------:|
| main.rs | 1.2 KB | yes |
| lib.rs | 14 KB | no |

Setext heading
--------------

1. first

2. second, loose

3. third

---

## 中文部分

这是一个**测试**段落，包含中文标点：逗号、句号。还有一个链接 [文档](https://example.com/zh)。

- 第一项
- 第二项

## ภาษาไทย

นี่คือย่อหน้าทดสอบ พร้อม *ตัวเอียง* และ \`โค้ด\` ในบรรทัด

\`\`\`json
{ "name": "tether", "ok": true, "n": 3 }
\`\`\`

\`\`\`
plain fence without a language
    indented inside
\`\`\`

    indented code block
    second line

Line one
line two with a hard break  
line three

Trailing paragraph with an image ![diagram](https://example.com/d.png) and an inline ![dot](data:image/png;base64,iVBORw0KGgo=) image.
`;

export const XSS_MARKDOWN = `## Attempts

<img src=x onerror="window.__pwned=1">

[click me](javascript:window.__pwned2=1)

<a href="javascript:window.__pwned3=1">raw link</a>

[entity](&#106;avascript:window.__pwned4=1)

<svg onload="window.__pwned5=1"><circle r="4"/></svg>

<iframe src="javascript:window.__pwned6=1"></iframe>

<details open ontoggle="window.__pwned7=1"><summary>s</summary>x</details>

![img](javascript:window.__pwned8=1)

[data link](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZDk9MTwvc2NyaXB0Pg==)

<script>window.__pwned10=1</script>

<a href="#" onclick="window.__pwned11=1">hash link</a>

<form action="javascript:window.__pwned12=1"><button>go</button></form>

<style>body{display:none}</style>

[vbs](vbscript:msgbox(1)) and [file](file:///etc/passwd) and [rel](../../etc)

<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned13=1"></style></mglyph></table></mtext></math>
`;

/** The flags the XSS corpus tries to set; none may ever be set by the app. */
export const XSS_FLAGS = Array.from({ length: 13 }, (_, i) => (i === 0 ? '__pwned' : `__pwned${i + 1}`));
