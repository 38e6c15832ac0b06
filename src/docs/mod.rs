//! The feed API described for integrators: the OpenAPI 3.1 document at `/openapi.json`, a page
//! that renders it at `/docs`, and the contract and the 1C guide as text (`/docs/feeds.md`,
//! `/docs/1c.md`), so that an integrator who has only the server has the whole description.
//!
//! The page is Swagger UI, vendored in `swagger-ui/` and built into the binary: the servers that
//! run domofeed, and the people who read the page, may have no way to any CDN. The two guides are
//! the repository's `docs/feeds.md` and `docs/1c.md`, built in as they are.

mod openapi;
mod params;
mod schemas;
mod write;

use std::sync::OnceLock;

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

pub use openapi::document;

/// `/openapi.json`, `/docs` and the guides, each answer with its own content type.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(page))
        .route("/docs/", get(page))
        .route("/docs/init.js", get(init_js))
        .route("/docs/swagger-ui.css", get(css))
        .route("/docs/swagger-ui-bundle.js", get(bundle))
        .route("/docs/feeds.md", get(contract))
        .route("/docs/1c.md", get(guide_1c))
}

/// The document as JSON; it never changes while the process runs.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // An `OpenApi` is plain data: serializing it to a string cannot fail.
        document().to_pretty_json().unwrap_or_default()
    })
}

async fn openapi_json() -> Response {
    asset("application/json; charset=utf-8", document_json())
}

/// The page allows scripts and styles from this server only (Swagger UI sets inline styles).
async fn page() -> Response {
    let mut response = asset(
        "text/html; charset=utf-8",
        include_str!("swagger-ui/index.html"),
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             frame-ancestors 'none'",
        ),
    );
    response
}

async fn init_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("swagger-ui/init.js"),
    )
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("swagger-ui/swagger-ui.css"),
    )
}

async fn bundle() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("swagger-ui/swagger-ui-bundle.js"),
    )
}

/// docs/feeds.md: every key, parameter, error and rule of the feeds, in Russian.
async fn contract() -> Response {
    asset(MARKDOWN, include_str!("../../docs/feeds.md"))
}

/// docs/1c.md: the 1C loader and curl checks, in Russian.
async fn guide_1c() -> Response {
    asset(MARKDOWN, include_str!("../../docs/1c.md"))
}

/// The guides are Markdown, served as plain text: every browser shows `text/plain` (some offer
/// `text/markdown` as a download), and Markdown reads well as it is.
const MARKDOWN: &str = "text/plain; charset=utf-8";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
