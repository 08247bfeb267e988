//! Shared by the test binaries and the benchmark (`#[path]`): a port free on loopback now.

/// A loopback port nobody listens on at this moment (the caller binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}
