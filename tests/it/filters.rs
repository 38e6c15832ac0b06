//! The query-string parser on its own: no server, no database.

use chrono::NaiveDate;
use domofeed::{
    feeds::{
        dates::{DateFormat, DayRange},
        filter::{parse_deals, parse_units, DealFilter, UnitFilter},
    },
    Error,
};
use proptest::prelude::*;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn rejected_parameter(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::BadRequest { parameter, text }) => {
            assert!(text.starts_with(&format!("{parameter}: ")), "{text}");
            parameter
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn every_deal_parameter() {
    let query = parse_deals(
        "dt_updated_last_days=2&dt_updated_from=2023-08-23&dt_updated_to=2023-08-26&deal_status=14-12-12\
         &deal_ids=5-3&deal_dogovor_number=%D0%94%D0%94%D0%A3-%D0%9A2%2F118&dt_status_changed_from=2023-01-01\
         &dogovor_day_to=2024-02-29&day_reg_start_from=2023-01-02&day_reg_end_from=2023-01-03&day_reg_end_to=2023-01-03\
         &flat_status=3-1&only_active=1&flat_ids=9&date_format=YYYY-MM-DD&_t=123",
    )
    .unwrap();
    assert_eq!(
        query.filter,
        DealFilter {
            dt_updated: DayRange {
                from: Some(day("2023-08-23")),
                to: Some(day("2023-08-26"))
            },
            dt_updated_last_days: Some(2),
            deal_status: Some(vec![12, 14]),
            deal_ids: Some(vec![3, 5]),
            deal_dogovor_number: Some("ДДУ-К2/118".into()),
            dt_status_changed: DayRange {
                from: Some(day("2023-01-01")),
                to: None
            },
            dogovor_day: DayRange {
                from: None,
                to: Some(day("2024-02-29"))
            },
            day_reg_start: DayRange {
                from: Some(day("2023-01-02")),
                to: None
            },
            day_reg_end: DayRange {
                from: Some(day("2023-01-03")),
                to: Some(day("2023-01-03"))
            },
            flat_status: Some(vec![1, 3]),
            only_active: true,
            flat_ids: Some(vec![9]),
        }
    );
    assert_eq!(query.date_format.pattern(), "YYYY-MM-DD");
    assert_eq!(query.ignored_params, vec!["_t"]);
}

#[test]
fn units_take_their_parameters_and_ignore_deal_ones() {
    let query = parse_units(
        "ids=3-1&flat_ids=1&flat_status=0&dt_updated_last_days=7&deal_status=1&only_active=1&_t=9",
    )
    .unwrap();
    assert_eq!(
        query.filter,
        UnitFilter {
            ids: Some(vec![1, 3]),
            flat_ids: Some(vec![1]),
            flat_status: Some(vec![0]),
            dt_updated: DayRange::default(),
            dt_updated_last_days: Some(7),
        }
    );
    assert_eq!(
        query.ignored_params,
        vec!["deal_status", "only_active", "_t"]
    );
}

#[test]
fn empty_and_trivial_queries() {
    let query = parse_deals("").unwrap();
    assert_eq!(query.filter, DealFilter::default());
    assert_eq!(query.date_format.pattern(), "DD.MM.YYYY");
    assert!(query.ignored_params.is_empty());
    assert_eq!(
        parse_deals("&&only_active=0&").unwrap().filter,
        DealFilter::default()
    );
    // The same value twice is one parameter.
    assert_eq!(
        parse_deals("deal_ids=1&deal_ids=1")
            .unwrap()
            .filter
            .deal_ids,
        Some(vec![1])
    );
}

#[test]
fn every_error_names_its_parameter() {
    let cases = [
        ("dt_updated_from=2023-13-01", "dt_updated_from"),
        ("dt_updated_to=2023-02-30", "dt_updated_to"),
        ("dt_updated_from=2023-8-23", "dt_updated_from"),
        ("dt_updated_from=23-08-2023", "dt_updated_from"),
        ("dt_updated_from=2023-08-23T00:00", "dt_updated_from"),
        ("dt_updated_from=", "dt_updated_from"),
        (
            "dt_updated_from=2023-08-26&dt_updated_to=2023-08-23",
            "dt_updated_from",
        ),
        (
            "dt_status_changed_from=2023-08-26&dt_status_changed_to=2023-08-25",
            "dt_status_changed_from",
        ),
        (
            "dogovor_day_from=2024-01-02&dogovor_day_to=2024-01-01",
            "dogovor_day_from",
        ),
        ("day_reg_start_to=2024-00-01", "day_reg_start_to"),
        ("day_reg_end_from=x", "day_reg_end_from"),
        ("dt_updated_last_days=0", "dt_updated_last_days"),
        ("dt_updated_last_days=-1", "dt_updated_last_days"),
        ("dt_updated_last_days=1.5", "dt_updated_last_days"),
        (
            "dt_updated_last_days=99999999999999999999999",
            "dt_updated_last_days",
        ),
        ("deal_status=12-x", "deal_status"),
        ("deal_status=12--13", "deal_status"),
        ("deal_status=-12", "deal_status"),
        ("deal_status=0", "deal_status"),
        ("deal_ids=", "deal_ids"),
        ("deal_ids=99999999999999999999", "deal_ids"),
        ("deal_ids=+5", "deal_ids"),
        ("deal_dogovor_number=", "deal_dogovor_number"),
        ("deal_dogovor_number=%00", "deal_dogovor_number"),
        ("deal_dogovor_number=%D0%94%00%D0%94", "deal_dogovor_number"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("after_id=-5", "after_id"),
        ("after_id=1.5", "after_id"),
        ("after_id=", "after_id"),
        ("strict=yes", "strict"),
        ("strict=1&dt_updated_form=2025-01-01", "dt_updated_form"),
        ("strict=1&_t=1&flat_ids=1", "_t"),
        ("flat_status=4", "flat_status"),
        ("flat_status=1-2-", "flat_status"),
        ("flat_ids=1,2", "flat_ids"),
        ("only_active=yes", "only_active"),
        ("only_active=2", "only_active"),
        ("date_format=%Y", "date_format"),
        ("date_format=", "date_format"),
        ("deal_ids=1&deal_ids=2", "deal_ids"),
    ];
    for (query, parameter) in cases {
        assert_eq!(rejected_parameter(parse_deals(query)), parameter, "{query}");
    }
    assert_eq!(rejected_parameter(parse_units("ids=1-a")), "ids");
    assert_eq!(rejected_parameter(parse_units("flat_ids=0")), "flat_ids");
}

#[test]
fn lists_hold_at_most_ten_thousand_values() {
    let ok: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
    assert_eq!(
        parse_deals(&format!("deal_ids={}", ok.join("-")))
            .unwrap()
            .filter
            .deal_ids
            .unwrap()
            .len(),
        10_000
    );
    let too_many: Vec<String> = (1..=10_001).map(|i| i.to_string()).collect();
    assert_eq!(
        rejected_parameter(parse_deals(&format!("deal_ids={}", too_many.join("-")))),
        "deal_ids"
    );
}

#[test]
fn ignored_params_are_bounded() {
    let many: Vec<String> = (0..1000).map(|i| format!("p{i}=1")).collect();
    let query = parse_deals(&many.join("&")).unwrap();
    assert_eq!(query.ignored_params.len(), 100);
    let long = parse_deals(&format!("{}=1", "x".repeat(5000))).unwrap();
    assert_eq!(long.ignored_params[0].len(), 100);
}

#[test]
fn filters_render_back_to_the_same_filter() {
    for raw in [
        "deal_status=12-13&only_active=1&date_format=D%2FM%2FYY&deal_dogovor_number=%E2%84%96+1%26",
        "dt_updated_from=2024-02-29&dt_updated_last_days=3&flat_status=0-3",
    ] {
        let query = parse_deals(raw).unwrap();
        let again = parse_deals(&query.to_query()).unwrap();
        assert_eq!(again.filter, query.filter);
        assert_eq!(again.date_format, query.date_format);
    }
}

fn deal_filter_strategy() -> impl Strategy<Value = DealFilter> {
    let date = (1i32..=9999, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap());
    let range = (
        proptest::option::of(date.clone()),
        proptest::option::of(date),
    )
        .prop_map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => DayRange {
                from: Some(a.min(b)),
                to: Some(a.max(b)),
            },
            (from, to) => DayRange { from, to },
        });
    let ids = proptest::option::of(
        proptest::collection::btree_set(1i64..=i64::MAX, 1..20)
            .prop_map(|s| s.into_iter().collect::<Vec<_>>()),
    );
    let statuses = proptest::option::of(
        proptest::collection::btree_set(0i16..=3, 1..4)
            .prop_map(|s| s.into_iter().collect::<Vec<_>>()),
    );
    (
        (
            range.clone(),
            proptest::option::of(1u64..=u64::MAX),
            ids.clone(),
            ids.clone(),
        ),
        (
            // Any text but NUL, which PostgreSQL cannot store (a 400, tested above).
            proptest::option::of("[^\\x00]{1,20}"),
            range.clone(),
            range.clone(),
            range.clone(),
            range,
        ),
        (statuses, any::<bool>(), ids),
    )
        .prop_map(
            |(
                (dt_updated, last, deal_status, deal_ids),
                (number, status_changed, dogovor, start, end),
                (flat_status, only_active, flat_ids),
            )| DealFilter {
                dt_updated,
                dt_updated_last_days: last,
                deal_status,
                deal_ids,
                deal_dogovor_number: number,
                dt_status_changed: status_changed,
                dogovor_day: dogovor,
                day_reg_start: start,
                day_reg_end: end,
                flat_status,
                only_active,
                flat_ids,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the parser, and every rejection names a parameter.
    #[test]
    fn parsing_arbitrary_strings_never_panics(raw in ".{0,200}") {
        for result in [parse_deals(&raw).map(|_| ()), parse_units(&raw).map(|_| ())] {
            if let Err(e) = result {
                let names_one = matches!(e, Error::BadRequest { ref parameter, .. } if !parameter.is_empty());
                prop_assert!(names_one, "{:?}", e);
            }
        }
    }

    /// Query-shaped noise from a small alphabet, where collisions of names and values are likely.
    #[test]
    fn query_shaped_noise_never_panics(raw in "[a-z_=&%0-9.-]{0,80}") {
        for result in [parse_deals(&raw).map(|_| ()), parse_units(&raw).map(|_| ())] {
            if let Err(e) = result {
                let names_one = matches!(e, Error::BadRequest { ref parameter, .. } if !parameter.is_empty());
                prop_assert!(names_one, "{:?}", e);
            }
        }
    }

    /// `date_format`: any text is accepted or rejected without a panic, and an accepted pattern
    /// renders any date as digits and the allowed separators only.
    #[test]
    fn date_format_never_panics(pattern in ".{0,40}|[YMD.,/ -]{0,40}", days in 0i64..3_000_000) {
        if let Ok(format) = DateFormat::parse(&pattern) {
            let date = NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Days::new(days as u64);
            let mut out = Vec::new();
            format.write(date, &mut out);
            prop_assert!(out.iter().all(|b| b.is_ascii_digit() || b".,/ -".contains(b)), "{:?}", out);
            prop_assert!(!out.is_empty());
        }
    }

    /// Query-shaped noise: known names with random values.
    #[test]
    fn known_names_with_random_values(name in prop::sample::select(vec![
        "dt_updated_last_days", "dt_updated_from", "dt_updated_to", "deal_status", "deal_ids",
        "deal_dogovor_number", "dogovor_day_from", "flat_status", "only_active", "flat_ids", "date_format", "ids",
    ]), value in "[-0-9a-zA-Z%.+/ ]{0,40}") {
        let raw = format!("{name}={value}");
        let _ = parse_deals(&raw);
        let _ = parse_units(&raw);
    }

    /// Every accepted filter renders to a query string that parses to the same filter.
    #[test]
    fn accepted_filters_round_trip(filter in deal_filter_strategy()) {
        let query = parse_deals("").map(|mut q| { q.filter = filter.clone(); q }).unwrap();
        let again = parse_deals(&query.to_query()).unwrap();
        prop_assert_eq!(again.filter, filter);
    }

    /// Anything the parser accepts from raw text round-trips too.
    #[test]
    fn parsed_filters_round_trip(raw in "(deal_ids=[0-9-]{1,12}|flat_status=[0-4-]{1,6}|only_active=[01]|dt_updated_last_days=[0-9]{1,3}|date_format=[DMY./ -]{1,10})(&(deal_ids=[0-9-]{1,12}|flat_status=[0-4-]{1,6}|only_active=[01]))?") {
        if let Ok(query) = parse_deals(&raw) {
            let again = parse_deals(&query.to_query()).unwrap();
            prop_assert_eq!(again.filter, query.filter);
            prop_assert_eq!(again.date_format, query.date_format);
        }
    }
}
