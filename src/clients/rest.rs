//! What the REST clients (Connect, Schema Registry) share: a base URL, the one HTTP client, a
//! bound per request, and the HTTP basic login both APIs demand from phase 5.

use std::time::Duration;

use super::Login;

#[derive(Debug, Clone)]
pub(super) struct RestClient {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
    /// Sent as HTTP basic auth on every request (None: anonymous).
    login: Option<Login>,
}

impl RestClient {
    pub(super) fn new(base: &str, http: reqwest::Client, timeout: Duration) -> RestClient {
        RestClient {
            base: base.to_string(),
            http,
            timeout,
            login: None,
        }
    }

    pub(super) fn set_login(&mut self, login: Option<Login>) {
        self.login = login;
    }

    /// A request to `path` (below the base URL), bounded and authenticated.
    pub(super) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout);
        match &self.login {
            Some(l) => request.basic_auth(&l.user, Some(l.password.expose())),
            None => request,
        }
    }

    /// The HTTP status of a GET of `path` (to prove a login is accepted or refused).
    pub(super) async fn status_of(&self, path: &str) -> Result<u16, reqwest::Error> {
        Ok(self
            .request(reqwest::Method::GET, path)
            .send()
            .await?
            .status()
            .as_u16())
    }
}
