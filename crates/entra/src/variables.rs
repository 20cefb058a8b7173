//! The environment variables the credentials read (from the injected
//! [`Env`](crate::Env)), and how missing ones are reported.

/// `AZURE_TENANT_ID`: the directory (tenant) id of the app registration.
pub(crate) const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`: the application (client) id; also the user-assigned managed identity in
/// the default chain.
pub(crate) const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`: the client secret value.
pub(crate) const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_CLIENT_CERTIFICATE_PATH`: certificate credentials (recognised, not supported).
pub(crate) const AZURE_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// `AZURE_USERNAME`: username/password credentials (recognised, not supported).
pub(crate) const AZURE_USERNAME: &str = "AZURE_USERNAME";
/// `AZURE_FEDERATED_TOKEN_FILE`: path of the workload identity (federated) token.
pub(crate) const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// `AZURE_AUTHORITY_HOST`: the Entra ID host, `https://login.microsoftonline.com` by default.
pub(crate) const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST`: replaces `http://169.254.169.254` for IMDS.
pub(crate) const AZURE_POD_IDENTITY_AUTHORITY_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
/// `IDENTITY_ENDPOINT`: App Service / Functions managed identity endpoint.
pub(crate) const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// `IDENTITY_HEADER`: the secret header value the App Service endpoint expects.
pub(crate) const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// `IDENTITY_SERVER_THUMBPRINT`: marks Service Fabric (recognised, not supported).
pub(crate) const IDENTITY_SERVER_THUMBPRINT: &str = "IDENTITY_SERVER_THUMBPRINT";
/// `AZURE_IDENTITY_DISABLE_MULTITENANTAUTH`: ignore tenants requested by a challenge.
pub(crate) const AZURE_IDENTITY_DISABLE_MULTITENANTAUTH: &str =
    "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH";
/// `AZURE_TOKEN_CREDENTIALS`: restricts the default chain (`prod` or one credential name).
pub(crate) const AZURE_TOKEN_CREDENTIALS: &str = "AZURE_TOKEN_CREDENTIALS";

/// The names of the variables that are missing, comma-separated, for "... not set"
/// messages: `checks` pairs "is it missing" with the variable's name, in the order to list.
pub(crate) fn missing_names<const N: usize>(checks: [(bool, &str); N]) -> String {
    let missing: Vec<&str> = checks
        .into_iter()
        .filter_map(|(missing, name)| missing.then_some(name))
        .collect();
    missing.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_names_are_listed_in_order() {
        assert_eq!(
            missing_names([
                (true, AZURE_TENANT_ID),
                (false, AZURE_CLIENT_ID),
                (true, AZURE_CLIENT_SECRET)
            ]),
            "AZURE_TENANT_ID, AZURE_CLIENT_SECRET"
        );
    }
}
