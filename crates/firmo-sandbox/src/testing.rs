//! Starting a sandbox from a test: the one helper the connectors' sandbox tests share.

use crate::emulators::EmulatorSettings;
use crate::{SandboxConfig, SandboxHandle, start};

/// Companies a test sandbox seeds: the named demo domains (`complete.example`,
/// `notfound.example`, ...) plus a few generated ones; enough for a connector test.
pub const TEST_COMPANIES: usize = 5;

/// A sandbox on 127.0.0.1 (an ephemeral port) with [`TEST_COMPANIES`] companies and
/// these emulator settings.
///
/// # Panics
/// When the sandbox can't bind 127.0.0.1:0 (a test helper: the test can't run anyway).
pub async fn sandbox(emulators: EmulatorSettings) -> SandboxHandle {
    let config = SandboxConfig {
        companies: TEST_COMPANIES,
        emulators,
        ..SandboxConfig::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    start(config, addr)
        .await
        .unwrap_or_else(|e| panic!("starting a test sandbox on 127.0.0.1:0: {e}"))
}
