-- Logins under attack (issue 17): device cookies, attempts counted per device, CSRF tokens that
-- are not stored.

-- Browsers that have logged in as an admin (admin::devices). The cookie holds a random token;
-- only its SHA-256 is kept. A known device's login attempts count against the device, not the
-- login, so wrong passwords typed elsewhere cannot lock the admin out of their own browser.
create table admin_devices (
    token_sha256 bytea primary key,
    admin_id     bigint not null references admins on delete cascade,
    dt_created   timestamptz not null default now(),
    dt_expires   timestamptz not null
);
create index admin_devices_admin_id on admin_devices (admin_id);

-- A row of login_failures is now written before the password is checked (and deleted when it
-- was right: admin::throttle); an attempt from a known device names the device.
alter table login_failures add column device_sha256 bytea;
create index login_failures_device on login_failures (device_sha256, dt)
    where device_sha256 is not null;

-- A session's CSRF token is derived from the session's token when a request shows it
-- (admin::sessions): nothing a reader of the database could post with.
alter table admin_sessions drop column csrf_token;
