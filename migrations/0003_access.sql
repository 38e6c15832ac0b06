-- Who may read a feed from where, and who did.

-- Optional per-feed allow-list of client networks; empty: any address.
alter table feeds add column allowed_networks cidr[] not null default '{}';

-- One row per authenticated feed request (152-FZ asks who read personal data, and when). No token
-- and no personal data: the feed, the client address, the outcome and its size.
create table feed_access_log (
    id          bigint generated always as identity primary key,
    account_id  bigint not null references accounts on delete cascade,
    feed_id     bigint not null references feeds on delete cascade,
    dt          timestamptz not null default now(),
    client_addr inet not null,
    status      smallint not null,
    -- false when the body was cut off (client gone, database error, send timeout)
    complete    boolean not null,
    items       bigint not null default 0,
    bytes       bigint not null default 0,
    duration_ms integer not null default 0
);

create index feed_access_log_feed on feed_access_log (feed_id, dt);
