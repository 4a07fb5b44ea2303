//! Serving upstream's Control UI (the web dashboard in an installed openclaw's
//! `dist/control-ui`) from `gateway.controlUi.root`, the way upstream's gateway serves it, so a
//! browser on this machine can open `http://127.0.0.1:PORT/` against Tether's gateway. Nothing
//! is bundled: without `root` nothing is served.
//!
//! - `GET`/`HEAD` only. `/` and any path ending in `/` are `index.html`; a path holding
//!   `/assets/` is the file under `assets/` (deep links load their assets); other paths name a
//!   file under the root. A name with `..`, `.`, a NUL, a backslash or `%` is refused, and the
//!   file must resolve (symlinks followed) inside the root and be a regular file.
//! - A missing file with an extension is 404; otherwise a page that accepts HTML gets
//!   `index.html` (the SPA's own routes).
//! - `index.html` gets upstream's attributes on `<html>` (empty base path, no terminal) and a
//!   `Content-Security-Policy` that allows exactly its inline scripts by their SHA-256, as
//!   upstream computes it; every response carries upstream's other security headers.
//! - `control-ui-config.json` (also under `/__openclaw/` and `/__openclaw__/`), behind the
//!   gateway's Bearer credential: the bootstrap the UI reads (assistant name and avatar, server
//!   version, no terminal).

use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::socket::body::{full, Body};

/// Largest file served (the UI's biggest bundle is a few MiB).
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Upstream's policy for every Control UI response but `index.html`.
const CSP: &str =
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; \
                   frame-src 'self' http: https:; script-src 'self'; style-src 'self' \
                   'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: blob: \
                   https:; media-src 'self' data: blob:; font-src 'self' \
                   https://fonts.gstatic.com; worker-src 'self'; connect-src 'self' ws: wss: data:";

/// The paths of the bootstrap config.
pub const CONFIG_PATHS: &[&str] = &[
    "/control-ui-config.json",
    "/__openclaw/control-ui-config.json",
    "/__openclaw__/control-ui-config.json",
];

/// What a request path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asset {
    /// `index.html`, whatever path asked (the SPA's routes included).
    Index,
    /// A file under the root, by its relative path.
    File(PathBuf),
    /// Nothing may be served for this path.
    Refused,
}

/// Maps a request path to what it asks for (pure).
pub fn resolve(path: &str) -> Asset {
    if path.contains(['\0', '\\', '%']) || path.split('/').any(|seg| seg == "." || seg == "..") {
        return Asset::Refused;
    }
    let rel = match path.find("/assets/") {
        Some(i) => &path[i + 1..],
        None => path.trim_start_matches('/'),
    };
    // Upstream also serves the root's public files (icons, manifest) under `/__openclaw__/`.
    let rel = rel.strip_prefix("__openclaw__/").unwrap_or(rel);
    if rel.is_empty() || rel.ends_with('/') || rel == "index.html" {
        return Asset::Index;
    }
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Asset::Refused;
    }
    Asset::File(rel.to_path_buf())
}

/// The MIME type for a file name.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "application/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        _ => "application/octet-stream",
    }
}

/// Whether a missing file should fall back to `index.html`: the path has no extension and the
/// client takes HTML (or says nothing about what it takes).
fn spa_fallback(rel: &Path, headers: &HeaderMap) -> bool {
    if rel.extension().is_some() {
        return false;
    }
    match headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(accept) => accept.split(',').any(|part| {
            let mut it = part.split(';');
            let kind = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            !refused && (kind == "text/html" || kind == "*/*")
        }),
    }
}

/// `index.html` as served: upstream's attributes on `<html>` and `./assets/` made absolute.
pub fn rewrite_index(html: &str) -> String {
    let html = html
        .replace("src=\"./assets/", "src=\"/assets/")
        .replace("href=\"./assets/", "href=\"/assets/");
    match html.find("<html") {
        Some(i) => {
            let at = i + "<html".len();
            format!(
                "{} data-openclaw-control-ui-base-path=\"\" data-openclaw-terminal-enabled=\"false\"{}",
                &html[..at],
                &html[at..]
            )
        }
        None => html,
    }
}

/// The SHA-256 sources of every inline `<script>` (one without `src`), as CSP wants them.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let tag = &rest[..open_end];
        let body_and_more = &rest[open_end + 1..];
        let Some(close) = body_and_more.find("</script>") else {
            break;
        };
        if !tag.contains("src=") {
            let body = &body_and_more[..close];
            let digest = Sha256::digest(body.as_bytes());
            out.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body_and_more[close + "</script>".len()..];
    }
    out
}

fn index_csp(html: &str) -> String {
    let hashes = inline_script_hashes(html).join(" ");
    CSP.replace("script-src 'self'", &format!("script-src 'self' {hashes}"))
        .replace("  ", " ")
}

fn with_security(mut r: Response<Body>, csp: &str) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(full(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    with_security(r, CSP)
}

fn file_response(bytes: Vec<u8>, ctype: &'static str, csp: &str, head: bool) -> Response<Body> {
    let len = bytes.len();
    let mut r = Response::new(if head {
        full(Bytes::new())
    } else {
        full(bytes)
    });
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if head {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    with_security(r, csp)
}

/// Reads a regular file under `root` (symlinks resolved, never outside the root).
async fn read_under(root: &Path, rel: &Path) -> Option<Vec<u8>> {
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let path = tokio::fs::canonicalize(root.join(rel)).await.ok()?;
    if !path.starts_with(&root) {
        return None;
    }
    let meta = tokio::fs::metadata(&path).await.ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    tokio::fs::read(&path).await.ok()
}

async fn index(root: &Path, head: bool) -> Response<Body> {
    match read_under(root, Path::new("index.html")).await {
        Some(bytes) => {
            let html = rewrite_index(&String::from_utf8_lossy(&bytes));
            let csp = index_csp(&html);
            file_response(html.into_bytes(), "text/html; charset=utf-8", &csp, head)
        }
        None => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Control UI assets not found: gateway.controlUi.root has no readable index.html",
        ),
    }
}

/// Serves a `GET`/`HEAD` for the Control UI at `root`; `None` when the path is not the UI's.
pub async fn serve(
    root: &Path,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return None;
    }
    let head = *method == Method::HEAD;
    match resolve(path) {
        Asset::Refused => Some(plain(StatusCode::NOT_FOUND, "Not Found")),
        Asset::Index => Some(index(root, head).await),
        Asset::File(rel) => match read_under(root, &rel).await {
            Some(bytes) => Some(file_response(bytes, content_type(&rel), CSP, head)),
            None if spa_fallback(&rel, headers) => Some(index(root, head).await),
            None => Some(plain(StatusCode::NOT_FOUND, "Not Found")),
        },
    }
}

/// The bootstrap config the UI reads before it connects.
pub fn config_json(version: &str) -> Response<Body> {
    let body = json!({
        "basePath": "",
        "assistantName": "Assistant",
        "assistantAvatar": "A",
        "assistantAvatarSource": null,
        "assistantAvatarStatus": null,
        "assistantAvatarReason": null,
        "assistantAgentId": tether_protocol::consts::DEFAULT_AGENT_ID,
        "serverVersion": version,
        "embedSandbox": "strict",
        "allowExternalEmbedUrls": false,
        "automaticallyFetchFavicons": false,
        "communityInvite": false,
        "terminalEnabled": false,
        "cliAgentsEnabled": false,
        "pluginAssetsRequireAuth": true,
        "pluginFrameGrants": [],
    });
    let mut r = Response::new(full(body.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_security(r, CSP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_files_the_index_or_nothing() {
        assert_eq!(resolve("/"), Asset::Index);
        assert_eq!(resolve("/chat/"), Asset::Index);
        assert_eq!(resolve("/index.html"), Asset::Index);
        assert_eq!(
            resolve("/assets/index-abc.js"),
            Asset::File("assets/index-abc.js".into())
        );
        assert_eq!(
            resolve("/sessions/x/assets/a.css"),
            Asset::File("assets/a.css".into())
        );
        assert_eq!(resolve("/favicon.svg"), Asset::File("favicon.svg".into()));
        assert_eq!(
            resolve("/__openclaw__/favicon.svg"),
            Asset::File("favicon.svg".into())
        );
        assert_eq!(resolve("/chat"), Asset::File("chat".into()));
        for bad in [
            "/../etc/passwd",
            "/assets/../../x",
            "/a/./b",
            "/%2e%2e/x",
            "/a\\b",
            "/a\0b",
        ] {
            assert_eq!(resolve(bad), Asset::Refused, "{bad:?}");
        }
    }

    #[test]
    fn only_extensionless_html_requests_fall_back_to_the_index() {
        let mut h = HeaderMap::new();
        assert!(spa_fallback(Path::new("chat"), &h));
        assert!(!spa_fallback(Path::new("missing.js"), &h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,*/*;q=0.8"),
        );
        assert!(spa_fallback(Path::new("settings"), &h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!spa_fallback(Path::new("settings"), &h));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html;q=0"));
        assert!(!spa_fallback(Path::new("settings"), &h));
    }

    #[test]
    fn the_index_policy_allows_exactly_its_inline_scripts() {
        let html = "<!doctype html><html lang=\"en\"><head><script>a()</script>\
                    <script type=\"module\" src=\"./assets/i.js\"></script></head>\
                    <body><script>b()</script></body></html>";
        let served = rewrite_index(html);
        assert!(served.contains("<html data-openclaw-control-ui-base-path=\"\" data-openclaw-terminal-enabled=\"false\" lang=\"en\">"));
        assert!(served.contains("src=\"/assets/i.js\""));
        let hashes = inline_script_hashes(&served);
        assert_eq!(hashes.len(), 2);
        let a = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"a()"));
        assert_eq!(hashes[0], format!("'sha256-{a}'"));
        let csp = index_csp(&served);
        assert!(csp.contains(&format!("script-src 'self' 'sha256-{a}' 'sha256-")));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
