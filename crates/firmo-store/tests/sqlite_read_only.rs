//! What only an SQLite file has: read-only opening of files and directories this process
//! may not write, and files that are no firmo state. The rest of the read-only and lock
//! behaviour is in conformance.rs, on both backends.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use firmo_core::UnixMillis;
use firmo_store::{LookupEntry, LookupStatus, RunStart, Store, StoreError};

/// Set (to a state file path) when this test binary is re-run as a child.
const CHILD_ENV: &str = "FIRMO_STORE_LOCK_TEST_CHILD";
const MODE_ENV: &str = "FIRMO_STORE_LOCK_TEST_MODE";

/// The child half of the tests below: not a test of its own when run normally.
#[test]
fn lock_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = Path::new(&path);
    let mut out = std::io::stdout();
    match std::env::var(MODE_ENV).as_deref() {
        Ok("read-only") => {
            // As an unprivileged user: the file and the directory are not ours to write.
            match Store::open(path) {
                Ok(_) => writeln!(out, "read-write: opened").unwrap(),
                Err(e) => writeln!(out, "read-write: {e}").unwrap(),
            }
            let mut store = Store::open_read_only(path).unwrap();
            let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
            writeln!(out, "read-only: {:?}", got.status).unwrap();
            let err = store
                .put_lookup(&LookupEntry::new(
                    "clearbit",
                    "b.com",
                    UnixMillis(1),
                    LookupStatus::Miss,
                ))
                .unwrap_err();
            writeln!(out, "write: {err}").unwrap();
        }
        other => panic!("unknown child mode {other:?}"),
    }
}

fn child(path: &Path, mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["lock_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .env(MODE_ENV, mode);
    cmd
}

/// A state file with one cached hit, closed cleanly (no `-wal`/`-shm` left).
fn seeded(path: &Path) {
    let mut store = Store::open(path).unwrap();
    store
        .put_lookup(&LookupEntry::new(
            "clearbit",
            "acme.com",
            UnixMillis(1),
            LookupStatus::Hit,
        ))
        .unwrap();
    drop(store);
    assert!(!path.with_extension("db-shm").exists());
}

#[test]
fn a_read_only_store_leaves_a_read_only_file_byte_for_byte_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    seeded(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&path).unwrap();

    let mut store = Store::open_read_only(&path).unwrap();
    let err = store
        .start_run(&RunStart::new("sync", UnixMillis(2)))
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!(
            "{}: the state file was opened read-only",
            path.display()
        )),
        "{err}"
    );
    assert_eq!(store.list_runs(10).unwrap(), Vec::new());
    drop(store);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
}

#[test]
fn a_read_only_open_creates_no_directory_and_refuses_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope/state.db");
    let err = Store::open_read_only(&missing).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("there is no state file"), "{err}");
    assert!(!dir.path().join("nope").exists());

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0xAB; 8192]).unwrap();
    let err = Store::open_read_only(&garbage).unwrap_err();
    assert!(err.to_string().contains("garbage.db"), "{err}");

    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = Store::open_read_only(&other).unwrap_err();
    assert!(matches!(err, StoreError::NotFirmo { .. }), "{err:?}");
}

/// Root ignores file modes, so the unwritable case runs this binary again as `nobody`
/// (uid 65534) when the tests run as root, and in-process otherwise.
#[test]
fn a_file_in_a_directory_nobody_may_write_opens_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    seeded(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();

    let mut cmd = child(&path, "read-only");
    if is_root() {
        cmd.uid(65_534).gid(65_534);
    }
    let out = cmd.stderr(Stdio::inherit()).output().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("read-write: opening") && !stdout.contains("read-write: opened"),
        "a read-write open must fail here: {stdout}"
    );
    assert!(stdout.contains("read-only: Hit"), "{stdout}");
    assert!(
        stdout.contains("write: writing to") && stdout.contains("opened read-only"),
        "{stdout}"
    );
    assert!(!dir.path().join("state.db-shm").exists());
}

fn is_root() -> bool {
    // The owner of a file we just created is our effective uid.
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap()) == 0
}
