//! Entry points for the cargo-fuzz targets of `crates/entra/fuzz` (compiled only under
//! `--cfg fuzzing`, which cargo-fuzz sets): what Entra ID and the managed-identity endpoints
//! send, read without a network. Not part of the API.

use crate::AccessToken;

/// A token endpoint's answer with `status` and `body`: the token, or the error's text.
///
/// # Errors
/// The text of the error the credential would return.
pub fn entra_answer(status: u16, body: &[u8]) -> Result<AccessToken, String> {
    crate::entra::read_answer(status, body)
}

/// A managed-identity endpoint's answer (IMDS, or App Service when `app_service`).
///
/// # Errors
/// The text of the error the credential would return.
pub fn managed_identity_answer(
    app_service: bool,
    status: u16,
    body: &[u8],
) -> Result<AccessToken, String> {
    crate::managed_identity::read_answer(app_service, status, body.to_vec())
        .map_err(|e| e.to_string())
}
