//! The `vaultref` image (`cargo xtask images`) as other projects run it: started through
//! testcontainers, configured from the ready line it prints, driven by the official Python SDK.

use crate::emulator::assert_python_sdk_passes;

#[tokio::test]
async fn the_image_serves_the_python_sdk_configured_from_its_ready_line() {
    let Some(python) = crate::support::python(&["azure.identity", "azure.keyvault.secrets"]) else {
        return;
    };
    let Some(emulator) = vaultref_testkit::emulator_container_or_skip(&["team-a"]).await else {
        return;
    };
    // The CA reached the mounted folder, where a CI job picks it up.
    let ca = std::fs::read_to_string(emulator.state_dir().join("ca.pem")).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    // The workload mode needs the federated token file, which stays inside the container.
    assert_python_sdk_passes(
        &python,
        emulator.ready(),
        &["client-secret", "mi-appservice", "mi-imds"],
        "the vaultref image",
    );
}
