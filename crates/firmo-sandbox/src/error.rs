//! HubSpot's error body: `{status: "error", message, correlationId, category, errors?,
//! context?}`, plus the extra fields of a 429 (`policyName`, `errorType`).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::properties::ValueError;

/// An error answer in HubSpot's shape (boxed: handlers return it in every `Err`).
#[derive(Debug, Clone)]
pub(crate) struct ApiError(pub(crate) Box<ErrorParts>);

#[derive(Debug, Clone)]
pub(crate) struct ErrorParts {
    pub(crate) status: StatusCode,
    pub(crate) category: &'static str,
    pub(crate) message: String,
    pub(crate) errors: Vec<Value>,
    pub(crate) context: Option<Map<String, Value>>,
    /// Extra top-level fields (`policyName`, `errorType`, `subCategory`).
    pub(crate) extra: Map<String, Value>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        category: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(ErrorParts {
            status,
            category,
            message: message.into(),
            errors: Vec::new(),
            context: None,
            extra: Map::new(),
            headers: Vec::new(),
        }))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    /// A 400 for property values, with HubSpot's message and one `errors[]` entry each.
    pub(crate) fn invalid_values(problems: &[ValueError]) -> Self {
        let mut err = ApiError::bad_request(values_message(problems));
        err.errors = problems.iter().map(error_detail).collect();
        err
    }

    pub(crate) fn with_extra(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    pub(crate) fn with_context(mut self, key: &str, values: &[String]) -> Self {
        self.context
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), json!(values));
        self
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("status".into(), json!("error"));
        body.insert("message".into(), json!(self.message));
        body.insert("correlationId".into(), json!(correlation_id()));
        body.insert("category".into(), json!(self.category));
        if !self.errors.is_empty() {
            body.insert("errors".into(), Value::Array(self.errors.clone()));
        }
        if let Some(context) = &self.context {
            body.insert("context".into(), Value::Object(context.clone()));
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

impl std::ops::Deref for ApiError {
    type Target = ErrorParts;
    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorParts {
        &mut self.0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        for (name, value) in self.0.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// HubSpot's message for invalid property values: a JSON list of per-property results.
pub(crate) fn values_message(problems: &[ValueError]) -> String {
    let results: Vec<Value> = problems
        .iter()
        .map(|p| {
            json!({
                "isValid": false,
                "message": p.message,
                "error": p.code,
                "name": p.property,
                "localizedErrorMessage": p.message,
            })
        })
        .collect();
    format!("Property values were not valid: {}", Value::Array(results))
}

/// One `ErrorDetail` for a property value.
pub(crate) fn error_detail(problem: &ValueError) -> Value {
    json!({
        "message": problem.message,
        "code": problem.code,
        "in": problem.property,
        "context": { "propertyName": [problem.property] },
    })
}

/// A version-4 UUID, as HubSpot's `correlationId` is.
pub(crate) fn correlation_id() -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_look_like_uuids() {
        let id = correlation_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{id}"
        );
        assert!(parts[2].starts_with('4'));
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn value_errors_read_like_hubspot() {
        let err = ApiError::invalid_values(&[ValueError::unknown("bogus")]);
        let body = err.body();
        assert_eq!(body["category"], "VALIDATION_ERROR");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Property values were not valid: [{")
        );
        assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
        assert_eq!(body["errors"][0]["context"]["propertyName"][0], "bogus");
    }
}
