//! `JsonObject<T>`: a JSON request body that must be an object. serde happily reads a
//! struct from an array (`[null, null]` fills two fields), which the API's contract
//! (`type: object`) does not allow; this extractor refuses it. Size limits, timeouts
//! and errors are those of `web::Json` (see `configure_extractors`).

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A request body that is a JSON object, deserialized into `T`.
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }

    /// `value` as `T`, if it is an object.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ApiError>
    where
        T: DeserializeOwned,
    {
        if !value.is_object() {
            return Err(ApiError::bad_request("invalid JSON body: expected a JSON object"));
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

impl<T> Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move { Ok(Self::from_value(json.await?.into_inner())?) })
    }
}

/// An integer that JSON may also write as `3.0` (JSON has one number type, and a
/// schema's `integer` includes `3.0`), for `#[serde(deserialize_with = "integral")]`.
pub fn integral<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i128>,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let n = serde_json::Number::deserialize(de)?;
    let value: i128 = if let Some(i) = n.as_i64() {
        i.into()
    } else if let Some(u) = n.as_u64() {
        u.into()
    } else {
        // Above 2^53 a float no longer holds every integer: refuse rather than guess.
        match n.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => f as i128,
            _ => return Err(D::Error::custom(format!("expected an integer, got {n}"))),
        }
    };
    T::try_from(value).map_err(|_| D::Error::custom(format!("{value} is out of range")))
}

/// [`integral`] for an optional field (absent or `null` is `None`).
pub fn integral_option<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i128>,
{
    use serde::Deserialize as _;
    #[derive(serde::Deserialize)]
    struct Wrap<T: TryFrom<i128>>(#[serde(deserialize_with = "integral")] T);
    Ok(Option::<Wrap<T>>::deserialize(de)?.map(|w| w.0))
}

/// A field that may be absent (leave it), `null` (clear it) or a value: use with
/// `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
