//! Attachments on `chat.send` and `agent`: `[{type?, mimeType?, fileName?, content}]` with
//! `content` base64 or a `data:` URL.
//!
//! [`parse`] validates them before the ack (a bad one fails the call with `INVALID_REQUEST`
//! and nothing is started); the run then [`deliver`]s them:
//! - **text** (a text MIME type, or bytes that are UTF-8 without NUL) up to
//!   [`MAX_INLINE_TEXT`] is inlined into the user's message, fenced;
//! - everything else is saved in the workspace under `attachments/` (a new name if a
//!   different file is already there, the same name if the same bytes are) and the message
//!   says where, so the tools can reach it;
//! - **images** (PNG, JPEG, GIF, WebP, recognised by their bytes, not by the name the client
//!   gave) up to [`MAX_IMAGE_BYTES`] are also sent to the model in this run when the model
//!   declares image input (`models.providers.<id>.models[].input` containing `"image"`).
//!   Later runs see only the note: images are not re-sent with every turn.
//!
//! It must never write outside the workspace (names are reduced to a safe file name and
//! resolved through [`Workspace`]) and never overwrite a file.

use std::fmt::Write as _;
use std::io::Write as _;

use base64::Engine as _;
use serde_json::Value;

use super::tools::workspace::Workspace;

/// Most decoded bytes of all attachments of one message (upstream's limit).
pub const MAX_TOTAL_BYTES: usize = tether_protocol::consts::MAX_ATTACHMENT_BYTES;
/// Largest image sent to a model; a larger one is only saved.
pub const MAX_IMAGE_BYTES: usize = tether_protocol::consts::MAX_ATTACHMENT_IMAGE_BYTES;
/// Most attachments on one message.
pub const MAX_COUNT: usize = 32;
/// Largest text attachment inlined into the message; larger ones are saved.
pub const MAX_INLINE_TEXT: usize = 64 * 1024;
/// The workspace folder attachments are saved in.
pub const DIR: &str = "attachments";

/// What an attachment is, by its bytes and declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An image format models accept.
    Image,
    /// UTF-8 text.
    Text,
    /// Anything else.
    Binary,
}

/// One validated attachment.
#[derive(Clone)]
pub struct Attachment {
    /// A safe file name (no directories, no leading dot).
    pub name: String,
    /// MIME type (sniffed for images).
    pub mime: String,
    /// What it is.
    pub kind: Kind,
    /// Decoded bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("kind", &self.kind)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// An image sent to the model with the run's user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub mime: String,
    /// Base64 (standard alphabet, padded).
    pub data: String,
}

/// Validates raw attachments. An empty or absent list is `Ok(vec![])`.
pub fn parse(raw: Option<&[Value]>) -> Result<Vec<Attachment>, String> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_COUNT {
        return Err(format!(
            "too many attachments: {} (at most {MAX_COUNT})",
            raw.len()
        ));
    }
    let mut total = 0usize;
    let mut out = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let n = i + 1;
        let obj = v
            .as_object()
            .ok_or_else(|| format!("attachment {n} is not an object"))?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim);
        let content = text("content")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("attachment {n} has no content"))?;
        let (url_mime, b64) = split_data_url(content)
            .ok_or_else(|| format!("attachment {n}: a data: URL must be base64"))?;
        let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        // Base64 is 4 chars per 3 bytes: refuse an oversized one before decoding it.
        if compact.len() / 4 * 3 > MAX_TOTAL_BYTES.saturating_sub(total) + 3 {
            return Err(too_large());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.as_bytes())
            })
            .map_err(|_| format!("attachment {n}: content is not valid base64"))?;
        total += bytes.len();
        if total > MAX_TOTAL_BYTES {
            return Err(too_large());
        }
        if bytes.is_empty() {
            return Err(format!("attachment {n} is empty"));
        }
        let declared = text("mimeType")
            .or(url_mime)
            .filter(|m| !m.is_empty())
            .map(str::to_ascii_lowercase);
        let (kind, mime) = classify(&bytes, declared.as_deref());
        let name = safe_name(text("fileName"), n, &mime);
        out.push(Attachment {
            name,
            mime,
            kind,
            bytes,
        });
    }
    Ok(out)
}

fn too_large() -> String {
    format!("attachments are larger than {MAX_TOTAL_BYTES} bytes in total")
}

/// `data:<mime>;base64,<data>` → `(Some(mime), data)`; anything else is plain base64.
/// `None` for a `data:` URL that is not base64.
fn split_data_url(content: &str) -> Option<(Option<&str>, &str)> {
    let Some(rest) = content.strip_prefix("data:") else {
        return Some((None, content));
    };
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((Some(mime).filter(|m| !m.is_empty()), data))
}

/// The image format of `bytes`, by magic number.
fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn textual_mime(m: &str) -> bool {
    m.starts_with("text/")
        || matches!(
            m,
            "application/json"
                | "application/xml"
                | "application/x-yaml"
                | "application/yaml"
                | "application/toml"
                | "application/javascript"
                | "application/x-sh"
        )
}

/// Kind and MIME type. Images are recognised by their bytes only: a declared `image/*` that
/// is not one is a binary file, so a model is never sent bytes it cannot decode.
fn classify(bytes: &[u8], declared: Option<&str>) -> (Kind, String) {
    if let Some(m) = sniff_image(bytes) {
        return (Kind::Image, m.to_owned());
    }
    let utf8 = std::str::from_utf8(bytes).is_ok_and(|s| !s.contains('\0'));
    let pdf = bytes.starts_with(b"%PDF");
    match declared {
        Some(m) if textual_mime(m) && utf8 => (Kind::Text, m.to_owned()),
        Some(m)
            if !textual_mime(m) && !m.starts_with("image/") && m != "application/octet-stream" =>
        {
            (Kind::Binary, m.to_owned())
        }
        _ if utf8 && !pdf => (Kind::Text, "text/plain".into()),
        _ if pdf => (Kind::Binary, "application/pdf".into()),
        _ => (Kind::Binary, "application/octet-stream".into()),
    }
}

/// The last path segment of the client's name, reduced to `[A-Za-z0-9._-]`, without leading
/// dots, at most 100 characters; `attachment-<n>.<ext>` when nothing usable is left.
fn safe_name(given: Option<&str>, n: usize, mime: &str) -> String {
    let base = given
        .and_then(|g| g.rsplit(['/', '\\']).next())
        .unwrap_or_default();
    let mut s: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s = s.trim_start_matches('.').to_owned();
    if s.len() > 100 {
        // Keep the extension.
        let ext = s
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| e.len() <= 10)
            .unwrap_or("");
        let keep = 100 - ext.len() - usize::from(!ext.is_empty());
        let ext = ext.to_owned();
        s.truncate(keep);
        if !ext.is_empty() {
            s.push('.');
            s.push_str(&ext);
        }
    }
    if s.is_empty() || s.chars().all(|c| c == '_' || c == '.') {
        let ext = match mime {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/gif" => "gif",
            "image/webp" => "webp",
            "application/pdf" => "pdf",
            m if m.starts_with("text/") => "txt",
            _ => "bin",
        };
        s = format!("attachment-{n}.{ext}");
    }
    s
}

/// What a run does with its attachments: the text appended to the user's message and the
/// images for the model.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Appended to the user's message (starts with a blank line when not empty).
    pub note: String,
    /// Images, in order.
    pub images: Vec<Image>,
}

/// Inlines text attachments, saves the others in the workspace and collects the images.
/// A file that cannot be saved is reported in the note; it never fails the run.
pub fn deliver(ws: &Workspace, list: &[Attachment]) -> Delivered {
    let mut d = Delivered::default();
    for a in list {
        let size = human_size(a.bytes.len());
        if a.kind == Kind::Text && a.bytes.len() <= MAX_INLINE_TEXT {
            let body = String::from_utf8_lossy(&a.bytes);
            let fence = fence_for(&body);
            let _ = write!(
                d.note,
                "\n\n[Attached file {} ({}, {size})]\n{fence}\n{}{}{fence}",
                a.name,
                a.mime,
                body,
                if body.ends_with('\n') { "" } else { "\n" },
            );
            continue;
        }
        let what = match a.kind {
            Kind::Image if a.bytes.len() > MAX_IMAGE_BYTES => {
                "image (too large to show to the model)"
            }
            Kind::Image => "image",
            _ => "file",
        };
        match save(ws, a) {
            Ok(rel) => {
                let _ = write!(
                    d.note,
                    "\n\n[Attached {what} {} ({}, {size}), saved in the workspace at {rel}]",
                    a.name, a.mime
                );
            }
            Err(e) => {
                tracing::warn!(name = %crate::process::logging::Clean(&a.name), error = %e, "could not save an attachment");
                let _ = write!(
                    d.note,
                    "\n\n[Attached {what} {} ({}, {size}) could not be saved in the workspace: {e}]",
                    a.name, a.mime
                );
            }
        }
        if a.kind == Kind::Image && a.bytes.len() <= MAX_IMAGE_BYTES {
            d.images.push(Image {
                mime: a.mime.clone(),
                data: base64::engine::general_purpose::STANDARD.encode(&a.bytes),
            });
        }
    }
    d
}

/// A backtick fence longer than any run of backticks in `body`.
fn fence_for(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn human_size(n: usize) -> String {
    if n < 1024 {
        format!("{n} bytes")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// Saves `a` under `attachments/`, never over a different file; the workspace-relative path.
fn save(ws: &Workspace, a: &Attachment) -> Result<String, String> {
    let (stem, ext) = match a.name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
        _ => (a.name.clone(), String::new()),
    };
    for i in 1..=100 {
        let name = if i == 1 {
            a.name.clone()
        } else {
            format!("{stem}-{i}{ext}")
        };
        let rel = format!("{DIR}/{name}");
        let path = ws.resolve_for_write(&rel).map_err(|e| e.to_string())?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let written = f.write_all(&a.bytes).and_then(|()| f.sync_data());
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&path);
                    return Err(e.to_string());
                }
                return Ok(rel);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // The same bytes already there (a resend, or the same file again): reuse it.
                let same = ws
                    .open_read(&path)
                    .and_then(|mut f| {
                        let mut buf = Vec::with_capacity(a.bytes.len());
                        std::io::Read::read_to_end(&mut f, &mut buf).map(|_| buf)
                    })
                    .is_ok_and(|b| b == a.bytes);
                if same {
                    return Ok(rel);
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "100 different files named like {} are already there",
        a.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn one(v: Value) -> Result<Attachment, String> {
        parse(Some(&[v])).map(|mut l| l.remove(0))
    }

    #[test]
    fn images_are_recognised_by_their_bytes_not_their_declared_type() {
        let a = one(json!({"mimeType": "text/plain", "fileName": "x.txt", "content": b64(PNG)}))
            .unwrap();
        assert_eq!((a.kind, a.mime.as_str()), (Kind::Image, "image/png"));
        let fake =
            one(json!({"mimeType": "image/png", "content": b64(b"\x00\x01 not a png")})).unwrap();
        assert_eq!(fake.kind, Kind::Binary);
        let jpeg = one(json!({"content": format!("data:image/jpeg;base64,{}", b64(&[0xFF, 0xD8, 0xFF, 0xE0]))}))
            .unwrap();
        assert_eq!((jpeg.kind, jpeg.mime.as_str()), (Kind::Image, "image/jpeg"));
        assert_eq!(jpeg.name, "attachment-1.jpg");
    }

    #[test]
    fn text_is_utf8_without_nul_and_binary_is_the_rest() {
        let t = one(json!({"fileName": "notes.md", "content": b64("héllo\n".as_bytes())})).unwrap();
        assert_eq!((t.kind, t.mime.as_str()), (Kind::Text, "text/plain"));
        let j = one(json!({"mimeType": "application/json", "content": b64(b"{}")})).unwrap();
        assert_eq!((j.kind, j.mime.as_str()), (Kind::Text, "application/json"));
        let pdf = one(json!({"content": b64(b"%PDF-1.7\n\xff\xfe")})).unwrap();
        assert_eq!(
            (pdf.kind, pdf.mime.as_str()),
            (Kind::Binary, "application/pdf")
        );
        let nul = one(json!({"content": b64(b"a\0b")})).unwrap();
        assert_eq!(nul.kind, Kind::Binary);
        let declared =
            one(json!({"mimeType": "application/zip", "content": b64(b"PK..")})).unwrap();
        assert_eq!(
            (declared.kind, declared.mime.as_str()),
            (Kind::Binary, "application/zip")
        );
    }

    #[test]
    fn wrapped_and_unpadded_base64_decode() {
        let wrapped = "aGVs\nbG8g\r\nd29y bGQ=";
        assert_eq!(
            one(json!({"content": wrapped})).unwrap().bytes,
            b"hello world"
        );
        assert_eq!(one(json!({"content": "aGk"})).unwrap().bytes, b"hi");
    }

    #[test]
    fn bad_attachments_are_refused_with_the_reason() {
        let err = |v: Value| one(v).unwrap_err();
        assert!(err(json!("x")).contains("not an object"));
        assert!(err(json!({"fileName": "a"})).contains("no content"));
        assert!(err(json!({"content": "%%%"})).contains("not valid base64"));
        assert!(err(json!({"content": "data:text/plain,hello"})).contains("must be base64"));
        let big = b64(&vec![b'a'; MAX_TOTAL_BYTES + 1]);
        assert!(err(json!({"content": big})).contains(&format!("larger than {MAX_TOTAL_BYTES}")));
        let half = b64(&vec![b'a'; MAX_TOTAL_BYTES / 2 + 1]);
        let two = [json!({"content": half}), json!({"content": half})];
        assert!(parse(Some(&two)).unwrap_err().contains("larger than"));
        let many = vec![json!({"content": b64(b"x")}); MAX_COUNT + 1];
        assert!(parse(Some(&many)).unwrap_err().contains("too many"));
        assert!(parse(None).unwrap().is_empty());
    }

    #[test]
    fn names_are_reduced_to_one_safe_segment() {
        assert_eq!(
            safe_name(Some("../../etc/passwd"), 1, "text/plain"),
            "passwd"
        );
        assert_eq!(
            safe_name(Some("C:\\a\\b c.txt"), 1, "text/plain"),
            "b_c.txt"
        );
        assert_eq!(safe_name(Some(".bashrc"), 2, "text/plain"), "bashrc");
        assert_eq!(safe_name(Some(".."), 3, "image/png"), "attachment-3.png");
        assert_eq!(safe_name(Some("ü ï"), 4, "x/y"), "attachment-4.bin");
        let long = format!("{}.tar", "n".repeat(300));
        let s = safe_name(Some(&long), 1, "x/y");
        assert_eq!(s.len(), 100);
        assert!(s.ends_with(".tar"));
    }

    #[test]
    fn delivery_inlines_text_saves_the_rest_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join(DIR)).unwrap();
        std::fs::write(dir.path().join(DIR).join("pic.png"), b"someone else's").unwrap();
        let list = parse(Some(&[
            json!({"fileName": "a.txt", "content": b64(b"has ``` inside")}),
            json!({"fileName": "pic.png", "content": b64(PNG)}),
            json!({"fileName": "doc.pdf", "content": b64(b"%PDF-1.4 \xff")}),
        ]))
        .unwrap();
        let d = deliver(&ws, &list);
        assert!(
            d.note.contains(
                "[Attached file a.txt (text/plain, 14 bytes)]\n````\nhas ``` inside\n````"
            ),
            "{}",
            d.note
        );
        assert!(
            d.note
                .contains("saved in the workspace at attachments/pic-2.png"),
            "{}",
            d.note
        );
        assert!(
            d.note
                .contains("saved in the workspace at attachments/doc.pdf"),
            "{}",
            d.note
        );
        assert_eq!(
            std::fs::read(dir.path().join(DIR).join("pic.png")).unwrap(),
            b"someone else's"
        );
        assert_eq!(
            std::fs::read(dir.path().join(DIR).join("pic-2.png")).unwrap(),
            PNG
        );
        assert_eq!(
            d.images,
            [Image {
                mime: "image/png".into(),
                data: b64(PNG)
            }]
        );
        // The same bytes again reuse the file instead of piling up copies.
        let again = deliver(&ws, &list[1..2]);
        assert!(
            again.note.contains("attachments/pic-2.png"),
            "{}",
            again.note
        );
        assert!(!dir.path().join(DIR).join("pic-3.png").exists());
        // An image too large for a model is saved, and said to be, but not sent.
        let mut huge = PNG.to_vec();
        huge.resize(MAX_IMAGE_BYTES + 1, 0);
        let big = parse(Some(&[
            json!({"fileName": "huge.png", "content": b64(&huge)}),
        ]))
        .unwrap();
        let d = deliver(&ws, &big);
        assert!(d.images.is_empty());
        assert!(
            d.note.contains("[Attached image (too large to show to the model) huge.png (image/png, 6.0 MiB), saved in the workspace at attachments/huge.png]"),
            "{}",
            d.note
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_attachments_symlink_out_of_the_workspace_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join(DIR)).unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let list = parse(Some(&[
            json!({"fileName": "x.bin", "content": b64(b"\0\x01")}),
        ]))
        .unwrap();
        let d = deliver(&ws, &list);
        assert!(d.note.contains("could not be saved"), "{}", d.note);
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
