//! The feed bodies of docs/feeds.md as JSON Schemas, for the OpenAPI document only.
//!
//! The feeds themselves are written by hand (`feeds::render`, exact decimals, streaming), so these
//! structs are never built: they exist so that the document reads like the contract, field by
//! field, with the contract's words as descriptions. `openapi::document` then requires every
//! property (a missing value is `null`, never an absent key) and forbids any other, and a test
//! validates real demo feeds against the result, so the document and the feeds cannot drift.
//!
//! Field order is the order of the feed's keys.
#![allow(dead_code)]

use std::borrow::Cow;

use utoipa::{
    openapi::{
        schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type},
        Object, Ref, RefOr, Schema,
    },
    PartialSchema, ToSchema,
};

/// A date-time field (`dt_*`, `generated_at`): always `YYYY-MM-DD HH:mm:ss` in the account's time
/// zone, whatever `date_format` says.
pub struct DateTime;

impl PartialSchema for DateTime {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Date-time `YYYY-MM-DD HH:mm:ss` in the account's time zone (`meta.timezone`), \
                 whatever `date_format` says.",
            ))
            .pattern(Some(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"))
            .examples([serde_json::json!("2025-04-02 16:20:03")])
            .into()
    }
}

impl ToSchema for DateTime {
    fn name() -> Cow<'static, str> {
        "DateTime".into()
    }
}

/// A date-only field (`*_day`, `day_*`, `deadline`, a custom value of type `date`).
pub struct Date;

impl PartialSchema for Date {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Date-only field in the request's `date_format` (default `DD.MM.YYYY`, \
                 e.g. `14.03.2025`; with `date_format=YYYY-MM-DD`: `2025-03-14`).",
            ))
            .min_length(Some(1))
            .examples([serde_json::json!("14.03.2025")])
            .into()
    }
}

impl ToSchema for Date {
    fn name() -> Cow<'static, str> {
        "Date".into()
    }
}

/// The value of a custom field or param: its JSON type follows `type`.
fn custom_value() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Null,
        ]))
        .description(Some(
            "`string`: a string; `number`: a number; `date`: a date-only string in \
             `date_format`; `bool`: 0 or 1; null when not filled in.",
        ))
        .build()
}

/// Id and title of a project (ЖК) or a section.
#[derive(ToSchema)]
pub struct Titled {
    pub id: i64,
    pub title: String,
}

/// A house (корпус, дом).
#[derive(ToSchema)]
pub struct House {
    pub id: i64,
    pub title: String,
    pub address: Option<String>,
    /// Planned completion date (срок сдачи), a date-only field.
    pub deadline: Option<Date>,
}

/// The seller (организация-продавец).
#[derive(ToSchema)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    /// ИНН
    pub inn: Option<String>,
    /// КПП
    pub kpp: Option<String>,
    /// ОГРН
    pub ogrn: Option<String>,
    pub address: Option<String>,
}

/// Type of a custom field or param.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CustomType {
    String,
    Number,
    Date,
    Bool,
}

/// A custom unit param or deal field. Custom fields never become keys: they are items of an array.
#[derive(ToSchema)]
pub struct CustomValue {
    pub id: i64,
    pub title: String,
    #[schema(rename = "type")]
    pub kind: CustomType,
    #[schema(schema_with = custom_value)]
    pub value: serde_json::Value,
}

/// The unit object (помещение): `flat` of a deals-feed item; a units-feed item adds `deal`.
#[derive(ToSchema)]
pub struct Unit {
    /// Unit id.
    pub id: i64,
    /// Stable string id.
    pub sid: String,
    /// 0 flat, 1 parking, 2 storage room, 3 commercial.
    #[schema(rename = "type", minimum = 0, maximum = 3)]
    pub kind: i32,
    /// Number as printed ("125", "П-12").
    pub number: String,
    /// 0 free, 1 reserve (бронь), 2 processing (оформление), 3 sold.
    #[schema(minimum = 0, maximum = 3)]
    pub status: i32,
    /// Room count; null for non-flats.
    pub rooms: Option<i32>,
    /// 0 or 1.
    #[schema(minimum = 0, maximum = 1)]
    pub is_studio: i32,
    /// Total area, m², exact decimal.
    pub area: f64,
    pub area_living: Option<f64>,
    pub area_kitchen: Option<f64>,
    pub floor: i32,
    /// Current price.
    pub price: Option<f64>,
    /// Price per m².
    pub metr_price: Option<f64>,
    /// Residential complex (ЖК).
    pub project: Titled,
    pub house: House,
    pub section: Option<Titled>,
    /// The seller.
    pub organization: Option<Organization>,
    /// Custom unit params.
    pub params: Vec<CustomValue>,
    /// Last change of anything this object shows: the unit row, its params (values, titles and
    /// types), its project, house, section and organization. Changes of the unit's deal do not
    /// move it (in the units feed the item's `dt_updated_*` window counts them: compare
    /// `deal.id` and `deal.dt_updated` too).
    pub dt_updated: DateTime,
}

/// Deal manager.
#[derive(ToSchema)]
pub struct Manager {
    pub id: i64,
    pub name: String,
}

/// Participant kind.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ParticipantType {
    Person,
    Company,
}

/// Passport of a person.
#[derive(ToSchema)]
pub struct Passport {
    pub series: Option<String>,
    pub number: Option<String>,
    pub issued_by: Option<String>,
    pub issue_day: Option<Date>,
    pub department_code: Option<String>,
}

/// A buyer (участник сделки); fields that do not apply are null.
#[derive(ToSchema)]
pub struct Participant {
    pub id: i64,
    #[schema(rename = "type")]
    pub kind: ParticipantType,
    /// Share like "1/2", or null.
    pub share: Option<String>,
    /// Full name or company name.
    pub name: String,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub birth_day: Option<Date>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub passport: Option<Passport>,
    /// СНИЛС
    pub snils: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub address: Option<String>,
    pub dt_created: DateTime,
}

/// "plan" (schedule) or "fact" (received).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum PaymentType {
    Plan,
    Fact,
}

/// A payment of a deal.
#[derive(ToSchema)]
pub struct Payment {
    pub id: i64,
    #[schema(rename = "type")]
    pub kind: PaymentType,
    pub day: Date,
    pub sum: f64,
    pub comment: Option<String>,
    pub dt_created: DateTime,
}

/// The deal object (сделка): a deals-feed item adds `flat`; a units-feed item's `deal` is this.
#[derive(ToSchema)]
pub struct Deal {
    /// Deal id.
    pub id: i64,
    /// Deal stage id (what `deal_status` filters on).
    pub status_id: i64,
    /// Stage name.
    pub status_title: String,
    /// 0 once the deal is in a failed/cancelled stage; a unit has at most one active deal.
    #[schema(minimum = 0, maximum = 1)]
    pub is_active: i32,
    /// Contract number.
    pub dogovor_number: Option<String>,
    /// Contract (ДДУ) date.
    pub dogovor_day: Option<Date>,
    /// Submitted for state registration.
    pub day_reg_start: Option<Date>,
    /// Registered.
    pub day_reg_end: Option<Date>,
    /// Contract amount.
    pub sum: Option<f64>,
    pub manager: Option<Manager>,
    pub dt_created: DateTime,
    /// Last change of anything the deals-feed item shows: the deal row, its stage (title),
    /// manager, participants (link and client record), custom field values and definitions,
    /// payments (insert, update and delete all count) and its unit (`flat`), so it is never
    /// older than `flat.dt_updated`. A write that changes no value moves nothing.
    pub dt_updated: DateTime,
    /// Last change of `status_id` (= `dt_created` until the first change).
    pub dt_status_changed: DateTime,
    /// Buyers, ordered by id.
    pub participants: Vec<Participant>,
    /// Custom deal fields.
    pub fields: Vec<CustomValue>,
    pub payments: Vec<Payment>,
}

/// `Object` of a derived schema, with one more property.
fn with_property(base: RefOr<Schema>, name: &str, property: RefOr<Schema>) -> RefOr<Schema> {
    match base {
        RefOr::T(Schema::Object(mut object)) => {
            object.properties.insert(name.to_owned(), property);
            object.required.push(name.to_owned());
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// One item of the deals feed ("Полный от сделок"): the deal object plus `flat`.
pub struct DealsItem;

impl PartialSchema for DealsItem {
    fn schema() -> RefOr<Schema> {
        let mut flat = Ref::from_schema_name("Unit");
        flat.description = "The deal's unit.".to_owned();
        let item = with_property(Deal::schema(), "flat", flat.into());
        describe(
            item,
            "One item per deal: the deal object plus `flat`, its unit.",
        )
    }
}

impl ToSchema for DealsItem {
    fn name() -> Cow<'static, str> {
        "DealsItem".into()
    }
}

/// One item of the units feed ("Полный от помещений"): the unit object plus `deal`.
pub struct UnitsItem;

impl PartialSchema for UnitsItem {
    fn schema() -> RefOr<Schema> {
        let deal = OneOfBuilder::new()
            .item(Ref::from_schema_name("Deal"))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some("The unit's active deal (without `flat`), or null."));
        let item = with_property(Unit::schema(), "deal", deal.into());
        describe(
            item,
            "One item per unit: the unit object plus `deal`, its active deal or null.",
        )
    }
}

impl ToSchema for UnitsItem {
    fn name() -> Cow<'static, str> {
        "UnitsItem".into()
    }
}

fn describe(schema: RefOr<Schema>, text: &str) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.description = Some(text.to_owned());
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// Which feed a body comes from.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum FeedKind {
    Deals,
    Units,
}

/// What the body is: it comes last, after all the items.
#[derive(ToSchema)]
pub struct Meta {
    pub feed_id: i64,
    pub kind: FeedKind,
    /// Items in `data` (of this page, with `limit`).
    #[schema(minimum = 0)]
    pub count: i64,
    /// When the server began this response: everything committed before it is in the response.
    /// The mark of the next incremental sync (from its day minus one: docs/feeds.md, section 12).
    pub generated_at: DateTime,
    /// IANA time zone of the account, e.g. Europe/Moscow: every date-time of the body is in it.
    /// A change of the zone moves no `dt_updated`: load everything again after one.
    pub timezone: String,
    /// The date-only format of this body.
    pub date_format: String,
    /// Parameters the feed does not know (a cache-buster `_t`, a deal filter on the units feed).
    pub ignored_params: Vec<String>,
    /// With `limit`: the absolute URL of the next page (the same parameters, `after_id` = this
    /// page's last id), or null on the last page. Without `limit`: null.
    pub next: Option<String>,
}

/// An item of the feed's kind that was deleted (or moved out of the feed's houses) within the
/// request's `dt_updated_*` window.
#[derive(ToSchema)]
pub struct Deleted {
    /// The deal's or unit's id.
    pub id: i64,
    /// When it left the feed.
    pub dt_deleted: DateTime,
}

/// The deals feed body: `data` first (it streams), ordered by id; then `deleted`, then `meta`.
#[derive(ToSchema)]
pub struct DealsFeed {
    pub data: Vec<DealsItem>,
    /// Deals deleted within the request's `dt_updated_*` window (same day rules), within the
    /// feed's houses; `[]` without such a window, and on pages after the first.
    pub deleted: Vec<Deleted>,
    pub meta: Meta,
}

/// The units feed body: `data` first (it streams), ordered by id; then `deleted`, then `meta`.
#[derive(ToSchema)]
pub struct UnitsFeed {
    pub data: Vec<UnitsItem>,
    /// Units deleted within the request's `dt_updated_*` window (same day rules), within the
    /// feed's houses; `[]` without such a window, and on pages after the first.
    pub deleted: Vec<Deleted>,
    pub meta: Meta,
}

/// The answer of a feed URL: which body depends on the feed's kind, a setting of the link.
pub struct FeedBody;

impl PartialSchema for FeedBody {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name("DealsFeed"))
            .item(Ref::from_schema_name("UnitsFeed"))
            .description(Some(
                "A deals feed link answers `DealsFeed`, a units feed link `UnitsFeed`.",
            ))
            .into()
    }
}

impl ToSchema for FeedBody {
    fn name() -> Cow<'static, str> {
        "FeedBody".into()
    }
}

/// Always "error".
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ErrorStatus {
    Error,
}

/// Every error answer (400, 403, 404, 429, 503).
#[derive(ToSchema)]
pub struct ErrorBody {
    pub status: ErrorStatus,
    /// The query parameter at fault (400), else null.
    pub parameter: Option<String>,
    /// What went wrong, for a person; it never contains the token.
    pub text: String,
}
