//! Which paths and methods a server answers, so that a known path asked with another
//! method gets `405 Method Not Allowed` with an `Allow` header (RFC 9110 §15.5.6)
//! instead of the 404 actix gives when no method guard matches.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{Route, web};

use crate::openapi::Doc;

/// One route a service serves: its method, its actix pattern, its handler and its
/// documentation (see [`crate::openapi`]).
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub route: fn() -> Route,
    pub doc: Option<Doc>,
}

impl RouteSpec {
    pub const fn new(method: Method, path: &'static str, route: fn() -> Route) -> Self {
        Self {
            method,
            path,
            route,
            doc: None,
        }
    }

    /// The same route, documented.
    pub fn doc(mut self, doc: Doc) -> Self {
        self.doc = Some(doc);
        self
    }
}

/// A documented route: what every service's and capability's route table is made of.
pub fn route(method: Method, path: &'static str, to: fn() -> Route, doc: Doc) -> RouteSpec {
    RouteSpec::new(method, path, to).doc(doc)
}

/// The pattern of the route that answered a request, as the route table spells it: the
/// metrics' label ([`crate::ops::record_metrics`]), read from the matched resource
/// instead of matching the path against every pattern again.
#[derive(Debug, Clone, Copy)]
pub struct RoutePattern(pub &'static str);

/// Registers `specs` on `cfg`: each a resource of its own, guarded by its method so a
/// request with another one goes on to the next (what `ServiceConfig::route` does),
/// carrying its pattern.
pub fn mount(cfg: &mut web::ServiceConfig, specs: &[RouteSpec]) {
    for spec in specs {
        cfg.service(
            web::resource(spec.path)
                .guard(actix_web::guard::Method(spec.method.clone()))
                .app_data(RoutePattern(spec.path))
                .route((spec.route)()),
        );
    }
}

/// Every (pattern, method) a server answers; shared by its workers as app data.
#[derive(Clone, Default)]
pub struct KnownRoutes(Vec<(ResourceDef, Method)>);

impl KnownRoutes {
    /// The routes `specs` register (what [`mount`] mounts).
    pub fn of(specs: &[RouteSpec]) -> Self {
        let mut known = Self::default();
        known.add_specs(specs);
        known
    }

    pub fn add(&mut self, method: Method, path: &str) -> &mut Self {
        self.0.push((ResourceDef::new(path), method));
        self
    }

    pub fn add_specs(&mut self, specs: &[RouteSpec]) -> &mut Self {
        for spec in specs {
            self.add(spec.method.clone(), spec.path);
        }
        self
    }

    /// The methods `path` answers to, sorted and without repeats; empty for an
    /// unknown path.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = self
            .0
            .iter()
            .filter(|(pattern, _)| pattern.is_match(path))
            .map(|(_, method)| method.clone())
            .collect();
        methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        methods.dedup();
        methods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_lists_its_methods_and_an_unknown_one_none() {
        let mut routes = KnownRoutes::default();
        routes
            .add(Method::GET, "/api/v1/videos/{id}")
            .add(Method::PATCH, "/api/v1/videos/{id}")
            .add(Method::GET, "/api/v1/videos/{id}");
        assert_eq!(routes.allowed("/api/v1/videos/abc"), vec![Method::GET, Method::PATCH]);
        assert!(routes.allowed("/api/v1/videos/abc/nothing").is_empty());
        assert!(routes.allowed("/elsewhere").is_empty());
    }
}
