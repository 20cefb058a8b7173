//! What an Airflow deployment's secrets backend reads, written and read by vaultref: a
//! connection stored in the URI form Airflow's `AzureKeyVaultBackend` reads, under the name
//! it builds (`airflow-connections-orders-db` for `orders_db`), read back through the
//! resolver's cache, and a variable beside it.
//!
//! ```text
//! cargo run -p vaultref-airflow --example airflow_connection
//! ```
//!
//! The example starts the emulator itself and configures the backend only as Airflow is
//! configured (`AIRFLOW__SECRETS__BACKEND_KWARGS` and the variables Azure's credentials read),
//! pointing every Azure endpoint at the emulator: nothing leaves the machine.

// An example speaks to whoever runs it: its output is its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use secrecy::{ExposeSecret as _, SecretString};
use vaultref_airflow::{AirflowBackend, AirflowConnection, AirflowSettings, ConnectionForm};
use vaultref_core::{Environment, ResolverOptions};
use vaultref_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig {
        tls: true,
        ..EmulatorConfig::default()
    })
    .await?;

    // airflow.cfg's [secrets] backend_kwargs, as its environment variable, and what the
    // platform sets for Azure's credentials (the managed-identity endpoint too, so that no
    // credential can reach Azure's real one).
    let kwargs = serde_json::json!({
        "vault_url": emulator.vault_url().as_str(),
        "tenant_id": emulator.tenant_id(),
        "client_id": emulator.client_id(),
        "client_secret": emulator.client_secret(),
    });
    let env = Environment::from_pairs([
        ("AIRFLOW__SECRETS__BACKEND_KWARGS", kwargs.to_string()),
        (
            "AZURE_AUTHORITY_HOST",
            emulator.authority_host().to_string(),
        ),
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            emulator.imds_endpoint().to_string(),
        ),
        (
            "SSL_CERT_FILE",
            emulator
                .ca_cert_path()
                .expect("the emulator serves TLS")
                .display()
                .to_string(),
        ),
    ]);
    let settings = AirflowSettings::load(&env, None)?;
    let backend = AirflowBackend::connect(&settings, &env, ResolverOptions::default())?;

    let connection = AirflowConnection::parse("postgres://orders:s3cret@db.internal:5432/orders")?;
    let name = backend
        .set_connection("orders_db", None, &connection, ConnectionForm::Uri)
        .await?;
    println!("stored connection `orders_db` as the secret `{name}`");
    backend
        .set_variable("report_bucket", None, &SecretString::from("s3://reports"))
        .await?;

    let read = backend
        .get_connection("orders_db", None)
        .await?
        .ok_or("the connection just stored is missing")?;
    println!(
        "read back: conn_type {:?}, host {:?}, port {:?}, login {:?}, password {} characters",
        read.conn_type,
        read.host,
        read.port,
        read.login,
        read.password
            .as_ref()
            .map_or(0, |p| p.expose_secret().len())
    );
    let bucket = backend.get_variable("report_bucket", None).await?;
    println!(
        "variable report_bucket: {}",
        bucket.as_ref().map_or("(none)", |v| v.expose_secret())
    );
    for listed in backend.list().await? {
        println!("in the vault: {} {}", listed.kind, listed.name);
    }
    Ok(())
}
