//! Where each engine's server comes from, decided once per process: the URL variable when
//! set, else a container.

use sqlx::Connection as _;
use tokio::sync::OnceCell;

use crate::{Engine, Error, Result, container};

/// The admin URL of `engine`'s server (tests create their own databases on it). The first
/// call of the process decides, and later calls get the same answer, failure included.
///
/// # Errors
/// [`Error::InvalidUrl`] or [`Error::Unreachable`] when the URL variable is set but does not
/// lead to a server; [`Error::NoServer`] when it is not set and no container could be
/// started.
pub(crate) async fn admin_url(engine: Engine) -> Result<String> {
    static POSTGRES: OnceCell<Result<String>> = OnceCell::const_new();
    static MYSQL: OnceCell<Result<String>> = OnceCell::const_new();
    let (Some(cell), Some(url_var), Some(image_var)) = (
        match engine {
            Engine::Postgres => Some(&POSTGRES),
            Engine::Mysql => Some(&MYSQL),
            Engine::Sqlite => None,
        },
        engine.url_var(),
        engine.image_var(),
    ) else {
        unreachable!("SQLite needs no server");
    };
    cell.get_or_init(|| async move {
        match std::env::var(url_var)
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            Some(url) => check_reachable(engine, url_var, url).await,
            None => {
                let image = container::image(engine);
                container::start(engine, image.clone())
                    .await
                    .map_err(|reason| Error::NoServer {
                        engine,
                        url_var,
                        image_var,
                        image,
                        example: engine.example_url(),
                        reason,
                    })
            }
        }
    })
    .await
    .clone()
}

async fn check_reachable(engine: Engine, url_var: &'static str, url: String) -> Result<String> {
    let parsed = url::Url::parse(&url).map_err(|e| Error::InvalidUrl {
        engine,
        url_var,
        example: engine.example_url(),
        reason: e.to_string(),
    })?;
    match sqlx::AnyConnection::connect(&url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Ok(url)
        }
        Err(e) => Err(Error::Unreachable {
            engine,
            url_var,
            address: address(&parsed),
            reason: e.to_string(),
        }),
    }
}

/// `host:port` of `url`: what messages may show of it.
pub(crate) fn address(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => "no host".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_leaves_out_user_info_and_query() {
        let url = url::Url::parse("postgres://admin:hunter2@db.example:5433/test?sslmode=require")
            .unwrap();
        assert_eq!(address(&url), "db.example:5433");
    }
}
