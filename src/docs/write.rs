//! The CRM write API in the OpenAPI document: its paths, request and answer bodies. The items
//! are the feeds' own (`DealsItem`, `UnitsItem`): what you read is what you write.
#![allow(dead_code)]

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, ToSchema,
};

use super::schemas::{DealsItem, ErrorBody, UnitsItem};

/// `POST /api/v1/deals`: deals-feed items, each the whole new state of its deal and unit.
#[derive(ToSchema)]
pub struct DealsWrite {
    /// At most 10,000 items (and 64 MB) a request.
    pub data: Vec<DealsItem>,
}

/// `POST /api/v1/units`: units-feed items, each the whole new state of its unit and its deal.
#[derive(ToSchema)]
pub struct UnitsWrite {
    /// At most 10,000 items (and 64 MB) a request.
    pub data: Vec<UnitsItem>,
}

/// What a write did, item by item.
#[derive(ToSchema)]
pub struct WriteCounts {
    /// Items whose id did not exist.
    pub created: u64,
    /// Items of which something shown changed (their `dt_updated` moved).
    pub updated: u64,
    /// Items equal to what was stored: nothing changed, no timestamp moved.
    pub unchanged: u64,
}

/// One problem of one item.
#[derive(ToSchema)]
pub struct WriteProblem {
    /// The item's position in `data`, from 0.
    pub index: u64,
    /// Where in the request, e.g. `$.data[3].flat.area`.
    pub path: String,
    pub text: String,
}

/// A write refused: every problem of every item; nothing was written.
#[derive(ToSchema)]
pub struct WriteRefused {
    /// Always "error".
    pub status: String,
    /// Always null.
    pub parameter: Option<String>,
    /// How many problems.
    pub text: String,
    pub problems: Vec<WriteProblem>,
}

/// The deal or unit deleted.
#[derive(ToSchema)]
pub struct Deletion {
    pub deleted: DeletedId,
}

#[derive(ToSchema)]
pub struct DeletedId {
    pub id: i64,
}

/// Writes deals-feed items: each deal is upserted by its `id` with its unit (`flat`) and
/// everything they embed (project, house, section, organization, stage, manager, clients, field
/// and param definitions), upserted by their ids; participants, field values, payments and unit
/// params are replaced as sets. One request is one transaction. Date-only fields as
/// `DD.MM.YYYY` or `YYYY-MM-DD`; date-times as `YYYY-MM-DD HH:mm:ss` in the account's zone or
/// RFC 3339 with an offset. The server stamps `dt_updated` and `dt_status_changed` itself (the
/// body's values are ignored); `dt_created` is kept when given. An item equal to what is stored
/// changes nothing and moves no timestamp.
#[utoipa::path(
    post,
    path = "/api/v1/deals",
    operation_id = "write_deals",
    tag = "write",
    request_body(content = DealsWrite, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Written.", body = WriteCounts,
         example = json!({"created": 1, "updated": 3, "unchanged": 996})),
        (status = 400, description = "The body is not `{\"data\": [...]}` JSON.", body = ErrorBody),
        (status = 401, description = "No API key, or a wrong or revoked one.", body = ErrorBody),
        (status = 413, description = "More than 10,000 items or 64 MB.", body = ErrorBody),
        (status = 422, description = "Every problem of every item (another account's id too); nothing written.",
         body = WriteRefused,
         example = json!({"status": "error", "parameter": null, "text": "1 problem: nothing was written",
                          "problems": [{"index": 3, "path": "$.data[3].flat.area", "text": "expected a number, got the string \"big\""}]})),
        (status = 429, description = "Too many requests with this key: retry after `Retry-After` seconds.", body = ErrorBody),
    )
)]
fn write_deals() {}

/// Writes units-feed items: each unit with its `deal` (the unit's active deal, or null), as
/// `POST /api/v1/deals` does for deals.
#[utoipa::path(
    post,
    path = "/api/v1/units",
    operation_id = "write_units",
    tag = "write",
    request_body(content = UnitsWrite, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Written.", body = WriteCounts),
        (status = 400, description = "The body is not `{\"data\": [...]}` JSON.", body = ErrorBody),
        (status = 401, description = "No API key, or a wrong or revoked one.", body = ErrorBody),
        (status = 413, description = "More than 10,000 items or 64 MB.", body = ErrorBody),
        (status = 422, description = "Every problem of every item; nothing written.", body = WriteRefused),
        (status = 429, description = "Too many requests with this key.", body = ErrorBody),
    )
)]
fn write_units() {}

/// Deletes a deal: the deals feeds list it under `deleted` for `DOMOFEED_TOMBSTONE_DAYS`.
#[utoipa::path(
    delete,
    path = "/api/v1/deals/{id}",
    operation_id = "delete_deal",
    tag = "write",
    params(("id" = i64, Path, description = "The deal's id.")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Deleted.", body = Deletion, example = json!({"deleted": {"id": 58190}})),
        (status = 401, description = "No API key, or a wrong or revoked one.", body = ErrorBody),
        (status = 404, description = "No such deal in the key's account.", body = ErrorBody),
    )
)]
fn delete_deal() {}

/// Deletes a unit and its deals: both feeds list them under `deleted`.
#[utoipa::path(
    delete,
    path = "/api/v1/units/{id}",
    operation_id = "delete_unit",
    tag = "write",
    params(("id" = i64, Path, description = "The unit's id.")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Deleted, with its deals.", body = Deletion),
        (status = 401, description = "No API key, or a wrong or revoked one.", body = ErrorBody),
        (status = 404, description = "No such unit in the key's account.", body = ErrorBody),
    )
)]
fn delete_unit() {}

/// `Authorization: Bearer dfk_…`, an account's API key (`domofeed apikey create`, or the
/// settings page).
pub struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("dfk_ and 64 letters and digits")
                        .build(),
                ),
            );
        }
    }
}
