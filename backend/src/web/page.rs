//! The built page (trunk's `dist/`) as static files: right content types,
//! compression (precompressed gzip where the build left it, else on the fly),
//! long caching for hashed assets, none for `index.html`.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// Hashed file names never change content, so browsers may keep them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else, `index.html` above all, is checked with the server on every load.
const REVALIDATE: &str = "no-cache";

/// The command that builds the page, named wherever the page is missing.
pub(crate) const BUILD_COMMAND: &str = "scripts/build-page.sh";

/// Where the built page is: `configured` if given, else the first `dist/`
/// holding an `index.html` among the working directory's and that of the
/// workspace the binary was built in (`target/<profile>/../../dist`).
pub(crate) fn resolve_dir(configured: Option<&Path>) -> PathBuf {
    let dir = configured.map(Path::to_path_buf).unwrap_or_else(find_dist);
    std::path::absolute(&dir).unwrap_or(dir)
}

fn find_dist() -> PathBuf {
    let beside_workspace =
        std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("dist")));
    let cwd = PathBuf::from("dist");
    [Some(cwd.clone()), beside_workspace]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("index.html").is_file())
        .unwrap_or(cwd)
}

/// Serves the files under `dir`; `/` says how to build the page while it is missing.
pub(crate) fn router(dir: PathBuf) -> Router {
    let index = dir.join("index.html");
    let missing = move |request: Request| {
        let index = index.clone();
        async move {
            let asks_for_the_page = matches!(request.uri().path(), "/" | "/index.html");
            if asks_for_the_page && !index.is_file() {
                not_built(&index).into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
    };
    // scripts/build-page.sh leaves a `gzip -9` copy beside each text and wasm file: served when
    // the browser takes gzip, they are a fifth smaller than what fast on-the-fly compression makes.
    let files = ServeDir::new(&dir)
        .append_index_html_on_directories(true)
        .precompressed_gzip()
        .fallback(missing.into_service());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_control))
        .layer(CompressionLayer::new().gzip(true).br(true).quality(tower_http::CompressionLevel::Fastest))
}

fn not_built(index: &Path) -> (StatusCode, Html<String>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>ordermgt: page not built</title>\
             <h1>The page has not been built</h1>\
             <p>This server looks for it at <code>{}</code>. Build it with <code>{BUILD_COMMAND}</code> \
             from the repository (or start the server with <code>scripts/run.sh</code>, which builds it), then reload.</p>\
             <p>The gRPC and gRPC-Web services work meanwhile on this port.</p>",
            index.display()
        )),
    )
}

/// Sets `Cache-Control` on successful responses by whether the file name carries a content hash.
async fn cache_control(request: Request, next: Next) -> Response {
    let hashed = is_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Whether a path's file name holds a content hash as trunk writes them:
/// `-` then 16 hex digits (`frontend-0a1b2c3d4e5f6789_bg.wasm`, `style-0a1b2c3d4e5f6789.css`).
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.match_indices('-').any(|(at, _)| {
        let digits = &name[at + 1..];
        digits.len() > 16
            && digits.as_bytes()[..16].iter().all(u8::is_ascii_hexdigit)
            && matches!(digits.as_bytes()[16], b'.' | b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunks_hashed_names_are_recognised() {
        assert!(is_hashed("/frontend-5d1c7f0d8f2e6a1b_bg.wasm"));
        assert!(is_hashed("/frontend-5d1c7f0d8f2e6a1b.js"));
        assert!(is_hashed("/style-0123456789abcdef.css"));
        assert!(!is_hashed("/"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/order-management.js"));
        assert!(!is_hashed("/frontend-5d1c7f0d8f2e6a1.js"));
    }
}
