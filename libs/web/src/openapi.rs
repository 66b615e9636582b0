//! The API contract, derived from the code: each [`RouteSpec`] a service mounts carries
//! its [`Doc`], whose request and response bodies and query parameters are Rust types
//! (`utoipa::ToSchema`, `utoipa::IntoParams`) with their validation rules as schema
//! constraints. [`document`] turns any set of routes into the OpenAPI 3.1 document, so
//! a route cannot be served undocumented and a renamed field changes the document.

use actix_web::http::Method;
use serde_json::{Map, Value, json};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{IntoParams, ToSchema};

use crate::RouteSpec;

type Components = Vec<(String, RefOr<Schema>)>;

/// A body's schema, taken from a type: its inline form and the named schemas it uses.
#[derive(Clone, Copy)]
pub struct SchemaOf {
    inline: fn() -> RefOr<Schema>,
    collect: fn(&mut Components),
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

fn named<T: ToSchema>(out: &mut Components) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

fn array_of<T: ToSchema>() -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(reference::<T>())
        .into()
}

/// The body is one `T`, referenced by name.
pub fn schema<T: ToSchema>() -> SchemaOf {
    SchemaOf {
        inline: reference::<T>,
        collect: named::<T>,
    }
}

fn page_name<T: ToSchema>() -> String {
    format!("{}Page", T::name())
}

fn page_reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(page_name::<T>()))
}

fn named_page<P: ToSchema, T: ToSchema>(out: &mut Components) {
    out.push((page_name::<T>(), P::schema()));
    named::<T>(out);
}

/// The body is `P`, a page of `T` (utoipa names every instance of a generic type
/// alike): named `{T}Page`, with `T`'s schema collected.
pub fn page_of<P: ToSchema, T: ToSchema>() -> SchemaOf {
    SchemaOf {
        inline: page_reference::<T>,
        collect: named_page::<P, T>,
    }
}

/// The body is a JSON array of `T`.
pub fn list<T: ToSchema>() -> SchemaOf {
    SchemaOf {
        inline: array_of::<T>,
        collect: named::<T>,
    }
}

/// Query parameters, taken from a type.
pub type Params = fn() -> Vec<Parameter>;

fn query_params<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// The query parameters of `T` (its fields, with their constraints).
pub fn params<T: IntoParams>() -> Params {
    query_params::<T>
}

/// What a request carries.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    /// JSON, required.
    Json(SchemaOf),
    /// JSON, optional (an empty body takes the defaults).
    OptionalJson(SchemaOf),
    /// A text body in one of these media types (captions), with an example.
    Text(&'static [&'static str], &'static str),
    /// `multipart/form-data` with these fields.
    Multipart(SchemaOf),
    /// JSON, or CSV with this header.
    JsonOrCsv(SchemaOf, &'static str),
    /// Raw bytes of this media type (a tus PATCH).
    Bytes(&'static str),
}

/// What a route answers when it succeeds.
#[derive(Clone, Copy)]
pub enum Success {
    /// 200 with a JSON body.
    Json(SchemaOf),
    /// 201 with a JSON body.
    Created(SchemaOf),
    /// 200 (replaced) or 201 (created) with a JSON body.
    CreatedOrOk(SchemaOf),
    /// 204, no body.
    NoContent,
    /// 201 with headers only.
    CreatedEmpty,
    /// 200 with headers only (a tus HEAD).
    HeadersOnly,
    /// 200 with a file (playback).
    File,
    /// 200 with JSON, or CSV with this header when the client asks for `text/csv`.
    JsonOrCsv(SchemaOf, &'static str),
}

/// A request header a route reads.
#[derive(Clone, Copy)]
pub struct Header {
    pub name: &'static str,
    pub about: &'static str,
    pub required: bool,
    /// Its values: a regular expression they match.
    pub pattern: &'static str,
}

/// A route's documentation.
#[derive(Clone, Copy)]
pub struct Doc {
    pub tag: &'static str,
    pub summary: &'static str,
    pub body: Body,
    pub query: Option<Params>,
    pub success: Success,
    /// Needs `Authorization: Bearer` (everything but signed playback files).
    pub authenticated: bool,
    /// Headers the route reads (tus).
    pub headers: &'static [Header],
}

impl Doc {
    pub const fn new(tag: &'static str, summary: &'static str, success: Success) -> Self {
        Self {
            tag,
            summary,
            body: Body::None,
            query: None,
            success,
            authenticated: true,
            headers: &[],
        }
    }

    pub const fn body(self, body: Body) -> Self {
        Self { body, ..self }
    }

    pub const fn query(self, query: Params) -> Self {
        Self {
            query: Some(query),
            ..self
        }
    }

    pub const fn public(self) -> Self {
        Self {
            authenticated: false,
            ..self
        }
    }

    pub const fn headers(self, headers: &'static [Header]) -> Self {
        Self { headers, ..self }
    }
}

/// `{path:.*}` → `{path}`, `{id:[0-9a-f-]{36}}` → `{id}`: OpenAPI templates have no
/// patterns (which may hold braces of their own).
pub fn openapi_path(actix: &str) -> String {
    let (mut out, mut depth, mut in_pattern) = (String::with_capacity(actix.len()), 0usize, false);
    for c in actix.chars() {
        match c {
            '{' => {
                depth += 1;
                if !in_pattern {
                    out.push(c);
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    in_pattern = false;
                    out.push(c);
                }
            }
            ':' if depth == 1 && !in_pattern => in_pattern = true,
            _ if in_pattern => {}
            _ => out.push(c),
        }
    }
    out
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A path parameter's schema: ids are UUIDs, a caption language two letters, a
/// playback path one or more segments.
fn path_parameter(name: &str) -> Value {
    let schema = match name {
        "id" | "user_id" | "video_id" => json!({ "type": "string", "format": "uuid" }),
        "lang" => json!({ "type": "string", "pattern": "^[a-z]{2}$" }),
        _ => json!({ "type": "string", "minLength": 1 }),
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

fn json_content(media: &str, schema: &SchemaOf, components: &mut Components) -> Value {
    (schema.collect)(components);
    json!({ media: { "schema": to_json(&(schema.inline)()) } })
}

fn operation(method: &Method, path: &str, doc: &Doc, components: &mut Components) -> Value {
    let mut parameters: Vec<Value> = path
        .split('{')
        .skip(1)
        .filter_map(|p| p.split('}').next())
        .map(path_parameter)
        .collect();
    if let Some(query) = doc.query {
        parameters.extend(query().iter().map(to_json));
    }
    parameters.extend(doc.headers.iter().map(|h| {
        json!({ "name": h.name, "in": "header", "required": h.required, "description": h.about,
                "schema": { "type": "string", "pattern": h.pattern } })
    }));
    let mut responses = Map::new();
    let ok = |content: Option<Value>| {
        let mut ok = json!({ "description": "success" });
        if let Some(content) = content {
            ok["content"] = content;
        }
        ok
    };
    match &doc.success {
        Success::Json(s) => {
            responses.insert("200".into(), ok(Some(json_content("application/json", s, components))));
        }
        Success::Created(s) => {
            responses.insert("201".into(), ok(Some(json_content("application/json", s, components))));
        }
        Success::CreatedOrOk(s) => {
            let content = json_content("application/json", s, components);
            responses.insert("200".into(), ok(Some(content.clone())));
            responses.insert("201".into(), ok(Some(content)));
        }
        Success::NoContent => {
            responses.insert("204".into(), ok(None));
        }
        Success::CreatedEmpty => {
            responses.insert("201".into(), ok(None));
        }
        Success::HeadersOnly => {
            responses.insert("200".into(), ok(None));
        }
        Success::File => {
            let file = json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } });
            responses.insert("200".into(), ok(Some(file)));
            responses.insert("206".into(), json!({ "description": "a range of the file" }));
        }
        Success::JsonOrCsv(s, header) => {
            let mut content = json_content("application/json", s, components);
            content["text/csv"] =
                json!({ "schema": { "type": "string", "description": format!("CSV with the header `{header}`") } });
            responses.insert("200".into(), ok(Some(content)));
        }
    }
    responses.insert(
        "4XX".into(),
        json!({ "description": "refused: an RFC 9457 problem document", "content": { "application/problem+json": { "schema": schema_ref("Problem") } } }),
    );
    responses.insert(
        "503".into(),
        json!({ "description": "a dependency is unavailable; retry later", "content": { "application/problem+json": { "schema": schema_ref("Problem") } } }),
    );
    let mut op = json!({
        "tags": [doc.tag],
        "summary": doc.summary,
        "operationId": format!("{}{}", method.as_str().to_lowercase(), path.replace(['/', '{', '}', ':', '.', '-'], "_")),
        "parameters": parameters,
        "responses": responses,
    });
    if !doc.authenticated {
        op["security"] = json!([]);
    }
    let body = match &doc.body {
        Body::None => None,
        Body::Json(s) => Some((true, json_content("application/json", s, components))),
        Body::OptionalJson(s) => Some((false, json_content("application/json", s, components))),
        Body::Text(types, example) => Some((
            true,
            Value::Object(
                types
                    .iter()
                    .map(|t| {
                        (
                            (*t).to_owned(),
                            json!({ "schema": { "type": "string", "minLength": 1 }, "example": example }),
                        )
                    })
                    .collect(),
            ),
        )),
        Body::Multipart(s) => Some((true, json_content("multipart/form-data", s, components))),
        Body::Bytes(media) => Some((
            true,
            json!({ *media: { "schema": { "type": "string", "format": "binary" } } }),
        )),
        Body::JsonOrCsv(s, header) => {
            let mut content = json_content("application/json", s, components);
            content["text/csv"] =
                json!({ "schema": { "type": "string", "description": format!("CSV with the header `{header}`") } });
            Some((true, content))
        }
    };
    if let Some((required, content)) = body {
        op["requestBody"] = json!({ "required": required, "content": content });
    }
    op
}

/// Every request type refuses unknown fields (`#[serde(deny_unknown_fields)]`), which
/// utoipa states for structs but not for the object variants of an enum: state it.
fn close_variants(schema: &mut Value) {
    if let Some(variants) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        for variant in variants {
            if variant.get("properties").is_some() && variant.get("additionalProperties").is_none() {
                variant["additionalProperties"] = Value::Bool(false);
            }
        }
    }
}

/// The problem document every refusal is.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": { "type": "string" },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "code": { "type": "string", "description": "one per cause, stable: match on it" },
            "detail": { "type": "string" },
            "instance": { "type": "string" },
        },
    })
}

/// The OpenAPI 3.1 document of every documented route in `routes`.
pub fn document(routes: &[&[RouteSpec]]) -> Value {
    let mut paths = Map::new();
    let mut components = Components::new();
    for spec in routes.iter().flat_map(|r| r.iter()) {
        let Some(doc) = &spec.doc else { continue };
        let path = openapi_path(spec.path);
        let item = paths.entry(path.clone()).or_insert_with(|| json!({}));
        item[spec.method.as_str().to_lowercase()] = operation(&spec.method, &path, doc, &mut components);
    }
    let mut schemas: Map<String, Value> = components
        .iter()
        .map(|(name, s)| {
            let mut schema = to_json(s);
            close_variants(&mut schema);
            (name.clone(), schema)
        })
        .collect();
    schemas.insert("Problem".into(), problem_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Skillreel API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Upload, transcode, find and watch microlearning videos. Errors are RFC 9457 problem documents; lists are cursor-paginated. The API guide (docs/API.md) has curl examples.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": schemas,
        },
    })
}

/// The document a server answers `GET /api/v1/openapi.json` with, built once at start.
pub struct ApiDocument(pub Value);

impl ApiDocument {
    pub fn of(routes: &[&[RouteSpec]]) -> actix_web::web::Data<Self> {
        actix_web::web::Data::new(Self(document(routes)))
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn serve_document(document: actix_web::web::Data<ApiDocument>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(&document.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_leave_the_path() {
        assert_eq!(
            openapi_path("/api/v1/media/{video_id}/{token}/{path:.*}"),
            "/api/v1/media/{video_id}/{token}/{path}"
        );
        assert_eq!(openapi_path("/api/v1/admin/users:import"), "/api/v1/admin/users:import");
        assert_eq!(
            openapi_path("/api/v1/uploads/{id:[0-9a-fA-F-]{36}}"),
            "/api/v1/uploads/{id}"
        );
    }
}
