//! The OpenAPI 3.1 document of the feed URL, served at `/openapi.json`.

use utoipa::{
    openapi::{schema::AdditionalProperties, OpenApi as Document, RefOr, Schema},
    OpenApi,
};

use super::{params::FeedQuery, schemas::*, write::*};

/// A live JSON feed of a developer's CRM for 1C: deals ("Полный от сделок") or units ("Полный от
/// помещений"), built from the database at each request (no caching), one consistent snapshot
/// per response, items ordered by id. The contract, key by key with every rule (in Russian), is
/// docs/feeds.md, served at `/docs/feeds.md`.
///
/// The URL is a secret: `feed` is `{feed_id}-{token}`, the token 64 letters and digits. The
/// trailing slash is optional. Unknown id, wrong token and revoked feed all answer the same 404.
/// Every answer is `application/json; charset=utf-8` (no BOM) with `Cache-Control: no-store`;
/// gzip, br or zstd only when `Accept-Encoding` asks, and only for a 200 (error bodies are never
/// compressed). The status is sent once the first batch of items is loaded: a failure before it
/// is a status with an error body. If the database fails after the body has started, the transfer
/// is cut off (the chunked body is never terminated): a body that does not parse is an
/// incomplete feed and must be fetched again. With `limit`, the feed comes in pages:
/// `meta.next` is the next page's URL; `deleted` lists what left the feed within a
/// `dt_updated_*` window, on the first page. `strict=1` refuses unknown parameters. `HEAD` runs
/// the same checks (token, allow-list, rate, parameters) and answers the same status and headers
/// without building the feed.
#[utoipa::path(
    get,
    path = "/dc-api/feeds/{feed}/",
    operation_id = "feed",
    tag = "feeds",
    params(
        ("feed" = String, Path, description = "`{feed_id}-{token}`: the feed's id, a dash, its 64-character token.",
         pattern = r"^[1-9][0-9]*-[A-Za-z0-9]{64}$"),
        FeedQuery,
    ),
    responses(
        (status = 200, description = "The feed: `DealsFeed` or `UnitsFeed` by the link's kind.",
         body = FeedBody, content_type = "application/json"),
        (status = 400, description = "A known parameter with a wrong value; `parameter` names it.",
         body = ErrorBody, content_type = "application/json",
         example = json!({"status": "error", "parameter": "dt_updated_from",
                          "text": "dt_updated_from: expected a date YYYY-MM-DD, got \"2023-13-01\""})),
        (status = 403, description = "The feed has an address allow-list and the caller is not on it.",
         body = ErrorBody, content_type = "application/json",
         example = json!({"status": "error", "parameter": null, "text": "this feed may not be read from 203.0.113.7"})),
        (status = 404, description = "Unknown feed id, wrong token or revoked feed (all the same).",
         body = ErrorBody, content_type = "application/json",
         example = json!({"status": "error", "parameter": null, "text": "feed not found"})),
        (status = 429, description = "This feed was asked for too often: retry after `Retry-After` seconds.",
         body = ErrorBody, content_type = "application/json",
         headers(("Retry-After" = u32, description = "Seconds to wait before retrying."))),
        (status = 503, description = "The database is unavailable or busy: retry after `Retry-After` seconds.",
         body = ErrorBody, content_type = "application/json",
         headers(("Retry-After" = u32, description = "Seconds to wait before retrying.")),
         example = json!({"status": "error", "parameter": null, "text": "the database is unavailable, retry later"})),
    )
)]
#[allow(dead_code)]
fn feed() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "domofeed",
        description = "Two live JSON feeds of a real-estate CRM for 1C, compatible with \
                       Domoplaner's «Фиды данных для 1С». Every parameter and every field of \
                       both bodies is described below. The contract for integrators (in \
                       Russian: every key, the date rules, paging, `deleted`, errors, what \
                       moves `dt_updated`) is [docs/feeds.md](/docs/feeds.md); a 1C loader \
                       (paged, incremental, with deletions and retries) is \
                       [docs/1c.md](/docs/1c.md). Both are in the domofeed repository and \
                       served by this server.",
    ),
    paths(feed, write_deals, write_units, delete_deal, delete_unit),
    components(schemas(
        DealsFeed, UnitsFeed, FeedBody, DealsItem, UnitsItem, Meta, Deleted, FeedKind, Deal, Unit,
        Participant, ParticipantType, Passport, Payment, PaymentType, Manager, CustomValue,
        CustomType, Titled, House, Organization, Date, DateTime, ErrorBody, ErrorStatus,
        DealsWrite, UnitsWrite, WriteCounts, WriteProblem, WriteRefused, Deletion, DeletedId,
    )),
    modifiers(&BearerKey),
    tags(
        (name = "feeds", description = "The feed URL"),
        (name = "write", description = "The CRM write API: the feeds' items written back with an account's API key"),
    )
)]
struct FeedsApi;

/// The document, made strict: every object requires all its properties (a missing value is
/// `null`, never an absent key) and allows no others, so a validator catches any drift.
pub fn document() -> Document {
    let mut doc = FeedsApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    if let Some(components) = doc.components.as_mut() {
        for schema in components.schemas.values_mut() {
            if let RefOr::T(Schema::Object(object)) = schema {
                if object.properties.is_empty() {
                    continue;
                }
                object.required = object.properties.keys().cloned().collect();
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
    doc
}
