//! The start-up check: is MOODLE_URL a Moodle site, is the token good, does its service hold
//! every function the shop calls? Each failure says which, in words an administrator can act on.

use super::Moodle;
use super::api::{self, FUNCTIONS};
use super::client::CallError;

/// `Ok` with the site's name and release, or the reason the shop cannot work with it.
pub async fn check(moodle: &Moodle) -> anyhow::Result<String> {
    let url = &moodle.config.url;
    let info = match api::site_info(&moodle.client).await {
        Ok(info) => info,
        Err(CallError::Unreachable(e)) => {
            anyhow::bail!("cannot reach Moodle at MOODLE_URL {url}: {e}")
        }
        Err(CallError::Http(status)) => anyhow::bail!(
            "MOODLE_URL {url} is not a Moodle site with web services: {url}/webservice/rest/server.php answered HTTP {status} (is the URL the site's root, and the REST protocol enabled?)"
        ),
        Err(CallError::NotMoodle(answer)) => anyhow::bail!(
            "MOODLE_URL {url} is not a Moodle site with web services: the REST endpoint answered {answer:?}"
        ),
        Err(e) if e.errorcode() == Some("invalidtoken") => anyhow::bail!(
            "MOODLE_TOKEN is not valid for {url}: Moodle says {e} (create a token for the shop's service: README, Moodle)"
        ),
        Err(e) => anyhow::bail!("Moodle at {url} refused core_webservice_get_site_info: {e}"),
    };
    let missing: Vec<&str> = FUNCTIONS
        .iter()
        .copied()
        .filter(|f| !info.functions.iter().any(|g| g.name == *f))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "the external service of MOODLE_TOKEN on {url} lacks these functions: {} (add them to the service: README, Moodle)",
            missing.join(", ")
        );
    }
    Ok(format!("{} (Moodle {})", info.sitename, info.release))
}
