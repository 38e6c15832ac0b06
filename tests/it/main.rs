//! Integration tests: one binary, each test on its own PostgreSQL database (`#[sqlx::test]`).
