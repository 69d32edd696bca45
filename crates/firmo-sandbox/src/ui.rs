//! The demo CRM company card: static files read from disk at request time, so a rebuilt
//! WASM package shows up without restarting the sandbox.
//!
//! `ui_dir` is the `wasm/` directory of the repository (or a copy of it) holding
//!
//! - `www/`: the card page, its script and stylesheet;
//! - `pkg/`: the package `wasm/build.sh` writes (ES module, `.d.ts`, `.wasm`).
//!
//! Routes:
//!
//! | route | file |
//! |---|---|
//! | `GET /ui/companies/{id}` | `www/card.html` (the page reads the id from its URL) |
//! | `GET /ui/pkg/{file}` | `pkg/{file}` |
//! | `GET /ui/{file}` | `www/{file}` |
//!
//! This is a local demo: the page talks to the sandbox's HubSpot API with the token it is
//! given in its URL (`?token=`), or the sandbox's default demo token.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The card router; mount it at the root of the sandbox (its routes start with `/ui/`).
pub fn router(ui_dir: PathBuf) -> Router {
    let pkg = ui_dir.join("pkg");
    let mut www = ui_dir;
    www.push("www");
    let dirs = Arc::new(UiDirs { www, pkg });
    Router::new()
        .route("/ui/companies/{id}", get(card))
        .route("/ui/pkg/{*file}", get(pkg_file))
        .route("/ui/{*file}", get(www_file))
        .with_state(dirs)
}

struct UiDirs {
    www: PathBuf,
    pkg: PathBuf,
}

async fn card(State(dirs): State<Arc<UiDirs>>, UrlPath(_id): UrlPath<String>) -> Response {
    serve(&dirs.www, "card.html").await
}

async fn pkg_file(State(dirs): State<Arc<UiDirs>>, UrlPath(file): UrlPath<String>) -> Response {
    serve(&dirs.pkg, &file).await
}

async fn www_file(State(dirs): State<Arc<UiDirs>>, UrlPath(file): UrlPath<String>) -> Response {
    serve(&dirs.www, &file).await
}

/// Sends `dir/relative`, refusing anything that would leave `dir` (`..`, absolute paths).
async fn serve(dir: &Path, relative: &str) -> Response {
    let Some(path) = confined(dir, relative) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            );
            // A demo under development: always fetch the freshly built package.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let hint = if dir.ends_with("pkg") {
                "not found (build the package first: wasm/build.sh)\n"
            } else {
                "not found\n"
            };
            (StatusCode::NOT_FOUND, hint).into_response()
        }
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "ui file unreadable");
            (StatusCode::INTERNAL_SERVER_ERROR, "file unreadable\n").into_response()
        }
    }
}

/// `dir/relative` if `relative` is a plain relative path (only normal components).
fn confined(dir: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    (plain && relative.components().next().is_some()).then(|| dir.join(relative))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("ts") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confined_refuses_paths_that_leave_the_directory() {
        let dir = Path::new("/srv/ui");
        assert_eq!(
            confined(dir, "card.js"),
            Some(PathBuf::from("/srv/ui/card.js"))
        );
        assert_eq!(
            confined(dir, "a/b.css"),
            Some(PathBuf::from("/srv/ui/a/b.css"))
        );
        assert_eq!(confined(dir, "../secret"), None);
        assert_eq!(confined(dir, "a/../../secret"), None);
        assert_eq!(confined(dir, "/etc/passwd"), None);
        assert_eq!(confined(dir, ""), None);
    }

    #[test]
    fn wasm_is_served_with_its_streaming_mime_type() {
        // `WebAssembly.instantiateStreaming` refuses any other content type.
        assert_eq!(
            content_type(Path::new("x/firmo_wasm_bg.wasm")),
            "application/wasm"
        );
        assert_eq!(
            content_type(Path::new("firmo_wasm.js")),
            "text/javascript; charset=utf-8"
        );
    }
}
