//! ClickHouse over its HTTP interface, with credentials in the `X-ClickHouse-User`/`-Key` headers
//! (never in the URL, where they would land in logs).

use std::time::Duration;

use super::Login;

/// A ClickHouse HTTP endpoint.
#[derive(Debug, Clone)]
pub struct ClickHouse {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// The ClickHouse error code (`Code: NNN`) of an error answer.
    pub code: Option<u32>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status == 200
    }
}

/// The exception code of an error answer: the `X-ClickHouse-Exception-Code` header where the
/// server sends it, else `NNN` from the body's `Code: NNN, e.displayText() = …` (ClickHouse 18).
pub fn exception_code(header: Option<&str>, body: &str) -> Option<u32> {
    header
        .and_then(|h| h.trim().parse().ok())
        .or_else(|| error_code(body))
}

/// Extracts `NNN` from `Code: NNN, e.displayText() = …`.
pub fn error_code(body: &str) -> Option<u32> {
    let start = body.find("Code: ")? + "Code: ".len();
    let digits: String = body[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

impl ClickHouse {
    /// A client of the service at `base`; made by [`super::Endpoints`].
    pub(super) fn new(base: &str, http: reqwest::Client, timeout: Duration) -> ClickHouse {
        ClickHouse {
            base: base.to_string(),
            http,
            timeout,
        }
    }

    /// Runs `sql` (POST: GET would force readonly) as `login`, or with no credentials at all.
    /// `data` is sent as the request body after the query (e.g. JSONEachRow rows for INSERT).
    pub async fn query(
        &self,
        login: Option<&Login>,
        sql: &str,
        data: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        // Without data the statement is the body (ClickHouse wants a Content-Length on POST);
        // with data it goes in the query string and the data follows as the body.
        let (mut request, body) = match data {
            Some(data) => (
                self.http.post(&self.base).query(&[("query", sql)]),
                data.to_string(),
            ),
            None => (self.http.post(&self.base), sql.to_string()),
        };
        if let Some(login) = login {
            request = request
                .header("X-ClickHouse-User", &login.user)
                .header("X-ClickHouse-Key", login.password.expose());
        }
        let response = request.body(body).timeout(self.timeout).send().await?;
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get("X-ClickHouse-Exception-Code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await?;
        let code = if status == 200 {
            None
        } else {
            exception_code(header.as_deref(), &body)
        };
        Ok(Answer { status, body, code })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_codes() {
        assert_eq!(
            error_code("Code: 516, e.displayText() = DB::Exception: x"),
            Some(516)
        );
        assert_eq!(
            error_code("Code: 192. DB::Exception: Unknown user"),
            Some(192)
        );
        assert_eq!(error_code("nothing"), None);
        assert_eq!(exception_code(Some("497"), "Code: 516"), Some(497));
        assert_eq!(exception_code(Some("x"), "Code: 516"), Some(516));
        assert_eq!(exception_code(None, "no code"), None);
    }
}
