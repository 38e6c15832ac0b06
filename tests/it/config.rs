//! Settings: defaults, precedence, and errors that name the setting in one line.

use domofeed::config::{RawSettings, ServerArgs, Settings};

fn load(raw: RawSettings) -> Result<Settings, String> {
    Settings::from_raw(raw).map_err(|e| e.to_string())
}

#[test]
fn defaults() {
    let settings = load(RawSettings::default()).unwrap();
    assert_eq!(
        settings.database_url.as_str(),
        "postgres://postgres@127.0.0.1:5432/domofeed"
    );
    assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(settings.pool_size, 10);
    assert_eq!(settings.header_read_timeout.as_secs(), 10);
    assert_eq!(settings.idle_timeout.as_secs(), 75);
    assert_eq!(settings.max_connections, 512);
    assert_eq!(settings.metrics_bind, None);
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    assert_eq!(settings.max_password_checks, cores);
}

#[test]
fn connection_and_login_limits_from_flags_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("domofeed.toml");
    std::fs::write(
        &file,
        "header_read_timeout = 5\nidle_timeout = 30\nmax_connections = 100\n\
         metrics_bind = \"127.0.0.1:9090\"\nmax_password_checks = 3\n",
    )
    .unwrap();
    let settings = Settings::load(Some(&file), |raw| raw).unwrap();
    assert_eq!(settings.header_read_timeout.as_secs(), 5);
    assert_eq!(settings.idle_timeout.as_secs(), 30);
    assert_eq!(settings.max_connections, 100);
    assert_eq!(settings.metrics_bind.unwrap().to_string(), "127.0.0.1:9090");
    assert_eq!(settings.max_password_checks, 3);
    let cli = ServerArgs {
        max_connections: Some("7".into()),
        ..Default::default()
    };
    let merged = Settings::load(Some(&file), |raw| cli.onto(raw)).unwrap();
    assert_eq!(merged.max_connections, 7);
}

#[test]
fn wrong_values_name_the_setting_in_one_line() {
    let cases = [
        (
            RawSettings {
                bind: Some("localhost".into()),
                ..Default::default()
            },
            "DOMOFEED_BIND",
        ),
        (
            RawSettings {
                database_url: Some("mysql://x".into()),
                ..Default::default()
            },
            "DATABASE_URL",
        ),
        (
            RawSettings {
                public_url: Some("feeds.example.ru".into()),
                ..Default::default()
            },
            "DOMOFEED_PUBLIC_URL",
        ),
        (
            RawSettings {
                secret_key: Some("abc".into()),
                ..Default::default()
            },
            "DOMOFEED_SECRET_KEY",
        ),
        (
            RawSettings {
                pool_size: Some("0".into()),
                ..Default::default()
            },
            "DOMOFEED_POOL_SIZE",
        ),
        (
            RawSettings {
                pool_size: Some("ten".into()),
                ..Default::default()
            },
            "DOMOFEED_POOL_SIZE",
        ),
        (
            RawSettings {
                acquire_timeout: Some("-1".into()),
                ..Default::default()
            },
            "DOMOFEED_ACQUIRE_TIMEOUT",
        ),
        (
            RawSettings {
                statement_timeout: Some("1e9".into()),
                ..Default::default()
            },
            "DOMOFEED_STATEMENT_TIMEOUT",
        ),
        (
            RawSettings {
                header_read_timeout: Some("0".into()),
                ..Default::default()
            },
            "DOMOFEED_HEADER_READ_TIMEOUT",
        ),
        (
            RawSettings {
                idle_timeout: Some("soon".into()),
                ..Default::default()
            },
            "DOMOFEED_IDLE_TIMEOUT",
        ),
        (
            RawSettings {
                max_connections: Some("0".into()),
                ..Default::default()
            },
            "DOMOFEED_MAX_CONNECTIONS",
        ),
        (
            RawSettings {
                metrics_bind: Some("9090".into()),
                ..Default::default()
            },
            "DOMOFEED_METRICS_BIND",
        ),
        (
            RawSettings {
                max_password_checks: Some("0".into()),
                ..Default::default()
            },
            "DOMOFEED_MAX_PASSWORD_CHECKS",
        ),
    ];
    for (raw, name) in cases {
        let error = load(raw).unwrap_err();
        assert!(error.starts_with(name), "{error:?} should name {name}");
        assert!(!error.contains('\n'), "{error:?}");
    }
}

#[test]
fn debug_never_prints_secrets() {
    let settings = load(RawSettings {
        database_url: Some("postgres://app:hunter2-secret@db:5432/domofeed".into()),
        secret_key: Some("ab".repeat(32)),
        ..Default::default()
    })
    .unwrap();
    let shown = format!("{settings:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains(&"ab".repeat(32)), "{shown}");
    assert!(shown.contains("app:***@db"), "{shown}");
    // Even a URL that does not parse keeps its password out of the error.
    let error = load(RawSettings {
        database_url: Some("postgres//app:hunter2@db".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn toml_file_is_below_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("domofeed.toml");
    std::fs::write(
        &file,
        "bind = \"0.0.0.0:9000\"\npool_size = 3\npublic_url = \"https://feeds.example.ru\"\n",
    )
    .unwrap();
    let from_file = Settings::load(Some(&file), |raw| raw).unwrap();
    assert_eq!(from_file.bind.to_string(), "0.0.0.0:9000");
    assert_eq!(from_file.pool_size, 3);
    let cli = ServerArgs {
        pool_size: Some("7".into()),
        ..Default::default()
    };
    let merged = Settings::load(Some(&file), |raw| cli.onto(raw)).unwrap();
    assert_eq!(merged.pool_size, 7);
    assert_eq!(merged.bind.to_string(), "0.0.0.0:9000");
    assert_eq!(merged.public_url.as_str(), "https://feeds.example.ru/");

    std::fs::write(&file, "pool_sise = 3\n").unwrap();
    let error = Settings::load(Some(&file), |raw| raw)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("pool_sise") && !error.contains('\n'),
        "{error}"
    );
    let missing = Settings::load(Some(&dir.path().join("nope.toml")), |raw| raw)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.toml"), "{missing}");
}

/// `--help` of each command lists the settings it uses and no others.
#[test]
fn each_command_shows_its_own_options() {
    let help = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_domofeed"))
            .args(args)
            .arg("--help")
            .env_clear()
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let server_only = [
        "--pool-size",
        "--shutdown-grace",
        "--send-timeout",
        "--max-feed-builds",
        "--read-database-url",
        "--trusted-proxies",
        "--header-read-timeout",
        "--idle-timeout",
        "--max-connections",
        "--metrics-bind",
        "--max-password-checks",
    ];
    for args in [&["serve"][..], &["demo"]] {
        let text = help(args);
        for option in server_only
            .iter()
            .chain(&["--bind", "--public-url", "--secret-key"])
        {
            assert!(text.contains(option), "{args:?} lacks {option}:\n{text}");
        }
    }
    for args in [
        &["seed"][..],
        &["migrate"],
        &["feed", "create"],
        &["admin", "add"],
        &["healthcheck"],
    ] {
        let text = help(args);
        assert!(text.contains("--database-url"), "{args:?}:\n{text}");
        assert!(text.contains("--config"), "{args:?}:\n{text}");
        for option in server_only {
            assert!(!text.contains(option), "{args:?} shows {option}:\n{text}");
        }
    }
    for args in [
        &["seed"][..],
        &["migrate"],
        &["admin", "add"],
        &["healthcheck"],
    ] {
        let text = help(args);
        assert!(!text.contains("--secret-key"), "{args:?}:\n{text}");
    }
    for option in ["--private-db", "--data-dir", "--pg-bindir"] {
        assert!(help(&["demo"]).contains(option), "demo lacks {option}");
        assert!(!help(&["serve"]).contains(option), "serve shows {option}");
    }
    assert!(help(&["feed", "create"]).contains("--secret-key"));
    assert!(!help(&["seed"]).contains("--bind"));
    assert!(help(&["healthcheck"]).contains("--bind"));
}
