//! End-to-end tests: the built `firmo` binary against a sandbox CRM and provider
//! emulators started in the test process (127.0.0.1, port 0; nothing leaves the machine).
//! Each test has its own sandbox and state file, so they run in parallel.
mod contacts;
mod doctor;
mod dry_run;
mod enrich_csv;
mod errors;
mod failures;
mod fleet;
mod hardening;
mod hubspot;
mod quality;
mod readme;
mod support;
mod sync;
mod waterfall;
