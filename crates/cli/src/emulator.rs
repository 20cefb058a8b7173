//! `vaultref emulator`: serves the Key Vault + Entra ID + managed-identity emulator of
//! `vaultref-emulator`, prints ONE JSON line once ready (`vault_url`, `authority_host`,
//! `tenant_id`, `client_id`, `client_secret`, `ca_cert`, `imds_endpoint`, `identity_endpoint`,
//! `identity_header`, `federated_token_file`, ..., `admin_url`, `admin_token`), and runs until
//! stdin closes or SIGTERM/SIGINT arrives. `--fault` starts it with faults in effect; the
//! admin endpoint changes them while it runs. See docs/emulator.md.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use vaultref_emulator::{Emulator, EmulatorConfig, FaultSpec};

/// Options of `vaultref emulator`.
#[derive(clap::Args)]
pub(crate) struct EmulatorArgs {
    /// Port to listen on (0 picks a free one; the ready line says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on; `0.0.0.0` in a container (the image sets it). The URLs of the
    /// ready line still name 127.0.0.1: publish the port on the same number.
    #[arg(
        long,
        value_name = "ADDR",
        env = "VAULTREF_EMULATOR_LISTEN",
        default_value = "127.0.0.1"
    )]
    listen: std::net::IpAddr,
    /// Also serve HTTPS on the same port, with a self-signed CA written as PEM (`ca_cert`).
    #[arg(long)]
    tls: bool,
    /// Keep secrets, credentials and the CA in DIR across restarts.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Serve another vault at NAME.localhost:PORT, over https (repeatable).
    #[arg(long = "vault", value_name = "NAME")]
    vaults: Vec<String>,
    /// Start with a fault in effect (repeatable): KIND[:KEY=VALUE,...] or a JSON object, e.g.
    /// `throttle:requests=2,retry_after=1`, `status:status=503,requests=3`,
    /// `latency:target=entra,duration=200ms`, `token_lifetime:duration=0`. Kinds: throttle,
    /// status, status_for, latency, drop, rate_limit, forbidden_by_policy, recover_delay,
    /// delete_delay, token_lifetime (docs/emulator.md).
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<FaultSpec>,
    /// Port on 127.0.0.1 of the admin endpoint, which injects and clears faults and serves the
    /// request log (0 picks a free one; the ready line's `admin_url` says which).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    admin_port: u16,
    /// How many requests the request log keeps, oldest dropped first (a long fault or load
    /// run reads more than the default).
    #[arg(long, value_name = "N", default_value_t = EmulatorConfig::default().request_log_capacity)]
    request_log_capacity: usize,
}

pub(crate) fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: EmulatorArgs) -> anyhow::Result<()> {
    let mut config = EmulatorConfig {
        port: args.port,
        listen: args.listen,
        tls: args.tls,
        state_dir: args.state_dir,
        vaults: args.vaults,
        admin_port: Some(args.admin_port),
        request_log_capacity: args.request_log_capacity,
        ..EmulatorConfig::default()
    };
    for fault in args.faults {
        config.apply(fault);
    }
    let emulator = Emulator::start(config)
        .await
        .context("starting the emulator")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", emulator.ready_line()).context("writing the ready line")?;
        stdout.flush().context("writing the ready line")?;
    }
    // stdin is read on a plain thread: it blocks, and closing it is the usual way for a
    // parent process (a test harness) to stop the emulator. Only a pipe, socket or terminal
    // can close later: /dev/null (a container without -i, a job in the background) or a file
    // is at its end from the start and must not stop the emulator.
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    // Held until the end when stdin is not watched, so the receiver never completes.
    let _unwatched = if stdin_can_close() {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = closed_tx.send(());
        });
        None
    } else {
        Some(closed_tx)
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::select! {
        _ = closed_rx => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    emulator.shutdown().await;
    Ok(())
}

/// Whether stdin is a pipe, a socket or a terminal: something that can be closed later.
fn stdin_can_close() -> bool {
    use std::io::IsTerminal as _;
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::FileTypeExt as _;

    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return true;
    }
    let Ok(fd) = stdin.as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|meta| meta.file_type().is_fifo() || meta.file_type().is_socket())
}
