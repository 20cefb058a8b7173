//! TLS-only servers reached through OpenMetadata's JDBC form and a CA file: PostgreSQL with
//! `sslmode=verify-full`, MariaDB with `sslMode=VERIFY_IDENTITY` (and the legacy
//! `useSSL`/`verifyServerCertificate`). Each server is a throw-away instance this test starts
//! (initdb and pg_ctl from /usr/lib/postgresql/*/bin; mariadb-install-db and mariadbd), on a
//! free port, in a temporary folder, with a certificate the test makes; the machine's own
//! servers are never touched.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use secrecy::SecretString;
use serde_json::json;
use vaultref_core::DatabaseConfig;
use vaultref_store::{EntityType, Error, Store};

use crate::support::absent;

/// A certificate authority and a server certificate for `localhost` / 127.0.0.1 signed by it,
/// as PEM: (CA certificate, server certificate, server key).
fn certificates() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem(), server.pem(), key.serialize_pem())
}

/// A CA that signed nothing the server holds, written beside `ca`.
fn foreign_ca(ca: &Path) -> PathBuf {
    let (other_ca, _, _) = certificates();
    let other = ca.with_file_name("other-ca.pem");
    std::fs::write(&other, other_ca).unwrap();
    other
}

/// PostgreSQL's server binaries, the newest version installed.
fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// A throw-away PostgreSQL server that accepts TLS connections only; stopped when dropped.
struct TlsOnlyPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

/// initdb and pg_ctl refuse to run as root: as root, they run as the `postgres` account.
fn run(bin: &Path, tool: &str, args: &[&str]) {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let tool = bin.join(tool);
    let output = if root {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&tool)
            .args(args)
            .output()
    } else {
        Command::new(&tool).args(args).output()
    }
    .unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        tool.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TlsOnlyPostgres {
    fn start(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (ca, cert, key) = certificates();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca).unwrap();
        // As root, the server's account (`postgres`) must own its folder; otherwise the
        // folder is the test user's already and chown changes nothing.
        let own = || {
            let _ = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status();
        };
        own();
        let data_str = data.to_str().unwrap();
        run(
            &bin,
            "initdb",
            &[
                "-D",
                data_str,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        std::fs::write(data.join("server.crt"), cert).unwrap();
        std::fs::write(data.join("server.key"), key).unwrap();
        // Only TLS connections over TCP; the socket folder is the test's own.
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .unwrap();
        own();
        let _ = Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key"))
            .status();
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on \
             -c ssl_cert_file=server.crt -c ssl_key_file=server.key",
            dir.path().display()
        );
        let log = dir.path().join("server.log");
        run(
            &bin,
            "pg_ctl",
            &[
                "-D",
                data_str,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Self {
            bin,
            data,
            port,
            ca: ca_path,
            _dir: dir,
        }
    }

    fn jdbc(&self, parameters: &str) -> DatabaseConfig {
        DatabaseConfig::Jdbc {
            url: format!(
                "jdbc:postgresql://localhost:{}/postgres?{parameters}",
                self.port
            ),
            user: "postgres".to_owned(),
            password: SecretString::from(""),
        }
    }
}

impl Drop for TlsOnlyPostgres {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_owned();
        // Best effort, and never a panic while unwinding: the folder goes with the test.
        let _ = std::panic::catch_unwind(|| {
            run(
                &self.bin,
                "pg_ctl",
                &["-D", &data, "-m", "immediate", "stop"],
            );
        });
    }
}

#[tokio::test]
async fn a_tls_only_postgres_is_reached_with_verify_full_and_a_ca_file() {
    let Some(bin) = postgres_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no PostgreSQL server binaries under /usr/lib/postgresql (CI is set)"
        );
        eprintln!("SKIPPED: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    };
    let server = TlsOnlyPostgres::start(bin);
    let ca = server.ca.display().to_string();

    // OpenMetadata's JDBC form with verify-full and the CA: connected, and the store works.
    let store = Store::connect_database(&server.jdbc(&format!(
        "sslmode=verify-full&sslrootcert={ca}&allowPublicKeyRetrieval=true&serverTimezone=UTC"
    )))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
        .upsert(EntityType::Bot, json!({"name": "ingestion-bot"}))
        .await
        .unwrap();
    assert!(!absent(&store, EntityType::Bot, "ingestion-bot").await);
    store.close().await;

    // The server refuses plain connections: OpenMetadata's `useSSL=false` does not turn TLS
    // off on PostgreSQL (pgjdbc ignores it), and sslmode=disable is refused by the server.
    let err = Store::connect_database(&server.jdbc("sslmode=disable"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");

    // verify-full checks the certificate: another CA is not trusted.
    let other = foreign_ca(&server.ca);
    let err = Store::connect_database(&server.jdbc(&format!(
        "sslmode=verify-full&sslrootcert={}",
        other.display()
    )))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throw-away MariaDB that requires TLS (root without a password, as installed);
/// killed when dropped.
struct TlsOnlyMariaDb {
    child: Child,
    port: u16,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsOnlyMariaDb {
    fn start() -> Option<Self> {
        let server = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())?;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (ca, cert, key) = certificates();
        let file = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let ca = file("ca.pem", ca);
        let cert = file("server.crt", cert);
        let key = file("server.key", key);
        let status = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--user=root", "--auth-root-authentication-method=normal"])
            .output()
            .ok()?;
        assert!(
            status.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let port = free_port();
        let path = |p: &Path| p.display().to_string();
        let child = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", path(&data)))
            .arg("--user=root")
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", path(&dir.path().join("sock"))))
            .arg(format!("--pid-file={}", path(&dir.path().join("pid"))))
            .arg("--require-secure-transport=ON")
            .arg(format!("--ssl-ca={}", path(&ca)))
            .arg(format!("--ssl-cert={}", path(&cert)))
            .arg(format!("--ssl-key={}", path(&key)))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            port,
            ca,
            _dir: dir,
        };
        // Ready once it accepts TCP connections.
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the throw-away MariaDB did not start on port {port}");
    }

    fn jdbc(&self, parameters: &str) -> DatabaseConfig {
        DatabaseConfig::Jdbc {
            url: format!("jdbc:mysql://localhost:{}/mysql?{parameters}", self.port),
            user: "root".to_owned(),
            password: SecretString::from(""),
        }
    }
}

impl Drop for TlsOnlyMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_tls_only_mariadb_is_reached_with_verify_identity_and_a_ca_file() {
    let Some(server) = TlsOnlyMariaDb::start() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no mariadbd or mariadb-install-db (CI is set)"
        );
        eprintln!("SKIPPED: no mariadbd or mariadb-install-db");
        return;
    };
    let ca = server.ca.display().to_string();
    for parameters in [
        format!(
            "sslMode=VERIFY_IDENTITY&sslca={ca}&allowPublicKeyRetrieval=true&serverTimezone=UTC"
        ),
        // Connector/J's legacy form: verifyServerCertificate=true is VERIFY_CA.
        format!("useSSL=true&verifyServerCertificate=true&sslca={ca}"),
    ] {
        let store = Store::connect_database(&server.jdbc(&parameters))
            .await
            .unwrap();
        // A query over the verified connection: the catalog is read.
        let layout = store.layout().await.unwrap();
        assert_eq!(layout.kind(), &vaultref_store::LayoutKind::Empty);
        store.close().await;
    }
    // OpenMetadata's default `useSSL=false` turns TLS off: the server refuses it.
    let err = Store::connect_database(&server.jdbc("useSSL=false"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    // VERIFY_IDENTITY checks the certificate: another CA is not trusted.
    let other = foreign_ca(&server.ca);
    let err = Store::connect_database(&server.jdbc(&format!(
        "sslMode=VERIFY_IDENTITY&sslca={}",
        other.display()
    )))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
}
