//! The feed API described for integrators: the OpenAPI 3.1 document at `/openapi.json` and a page
//! that renders it at `/docs`.
//!
//! The page is Swagger UI, vendored in `swagger-ui/` and built into the binary: the servers that
//! run domofeed, and the people who read the page, may have no way to any CDN.

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

/// `/openapi.json` and `/docs`, each answer with its own content type.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(page))
        .route("/docs/", get(page))
        .route("/docs/init.js", get(init_js))
        .route("/docs/swagger-ui.css", get(css))
        .route("/docs/swagger-ui-bundle.js", get(bundle))
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

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
