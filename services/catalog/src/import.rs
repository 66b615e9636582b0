//! `POST /api/v1/admin/users:import`: an admin loads the org chart (who reports to
//! whom, teams, roles), as JSON or CSV, before people first sign in. All or nothing:
//! one bad row refuses the whole file, with every bad row named.

use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};
use skillreel_auth::AuthUser;
use skillreel_db::users::{self, ImportedUser};
use skillreel_domain::{Role, Roles};
use skillreel_web::ApiError;
use utoipa::ToSchema;

use crate::CatalogContext;
use crate::access::require_admin;

/// Most rows one import takes.
const MAX_ROWS: usize = 20_000;

/// One person of the org chart, as JSON (CSV rows have the same columns).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrgChartRow)]
pub struct JsonRow {
    id: String,
    name: String,
    email: Option<String>,
    manager: Option<String>,
    team: Option<String>,
    #[serde(default)]
    roles: RolesField,
}

/// Roles as a list, or as one text of roles separated by `;` or spaces.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RolesField {
    #[default]
    None,
    List(Vec<String>),
    Text(String),
}

impl RolesField {
    fn items(&self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::List(l) => l.clone(),
            Self::Text(t) => split_roles(t),
        }
    }
}

fn split_roles(raw: &str) -> Vec<String> {
    raw.split([';', ' ', '|'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A field of an optional column: blank means absent.
fn optional(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

fn parse_csv(text: &str) -> Result<Vec<(usize, JsonRow)>, Vec<String>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(vec!["the file is empty".into()]);
    };
    let columns: Vec<String> = match csv_fields(header) {
        Ok(c) => c.into_iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => return Err(vec![format!("line 1: {e}")]),
    };
    for required in ["id", "name"] {
        if !columns.iter().any(|c| c == required) {
            return Err(vec![format!("the header has no `{required}` column")]);
        }
    }
    if let Some(unknown) = columns
        .iter()
        .find(|c| !["id", "name", "email", "manager", "team", "roles"].contains(&c.as_str()))
    {
        return Err(vec![format!(
            "unknown column `{unknown}`; columns are id, name, email, manager, team, roles"
        )]);
    }
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for (index, line) in lines {
        let fields = match csv_fields(line) {
            Ok(f) if f.len() == columns.len() => f,
            Ok(f) => {
                errors.push(format!(
                    "line {}: {} fields, the header has {}",
                    index + 1,
                    f.len(),
                    columns.len()
                ));
                continue;
            }
            Err(e) => {
                errors.push(format!("line {}: {e}", index + 1));
                continue;
            }
        };
        let get = |name: &str| columns.iter().position(|c| c == name).map(|i| fields[i].as_str());
        rows.push((
            index + 1,
            JsonRow {
                id: get("id").unwrap_or_default().trim().to_owned(),
                name: get("name").unwrap_or_default().trim().to_owned(),
                email: optional(get("email")),
                manager: optional(get("manager")),
                team: optional(get("team")),
                roles: RolesField::Text(get("roles").unwrap_or_default().to_owned()),
            },
        ));
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// Checks one row; `Err` names what is wrong.
fn validate(row: JsonRow) -> Result<ImportedUser, String> {
    let subject = row.id.trim().to_owned();
    if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
        return Err("`id` must be 1 to 255 characters".into());
    }
    let name = row.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err("`name` must be 1 to 200 characters".into());
    }
    let email = optional(row.email.as_deref());
    if email.as_ref().is_some_and(|e| e.len() > 320 || !e.contains('@')) {
        return Err("`email` is not an email address".into());
    }
    let manager = optional(row.manager.as_deref());
    if manager.as_ref().is_some_and(|m| m.len() > 255 || *m == subject) {
        return Err("`manager` must be another person's id".into());
    }
    let team = optional(row.team.as_deref());
    if team.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err("`team` is at most 200 characters".into());
    }
    let mut roles = Vec::new();
    for raw in row.roles.items() {
        let role: Role = raw
            .to_lowercase()
            .parse()
            .map_err(|_| format!("unknown role `{}`", raw.chars().take(40).collect::<String>()))?;
        roles.push(role.as_str().to_owned());
    }
    Ok(ImportedUser {
        subject,
        name,
        email,
        manager_subject: manager,
        team,
        roles: Roles::from_claims(roles),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: u64,
    pub updated: u64,
}

#[tracing::instrument(skip(ctx, user, req, body), fields(user = %user.subject))]
pub async fn import(
    user: AuthUser,
    ctx: web::Data<CatalogContext>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<ImportResult>, ApiError> {
    require_admin(&user, "import the org chart")?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body must be UTF-8"))?;
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rows: Vec<(usize, JsonRow)> = if content_type.starts_with("text/csv") {
        parse_csv(text).map_err(|errors| ApiError::validation(errors.join("; ")))?
    } else if content_type.starts_with("application/json") {
        let rows: Vec<JsonRow> =
            serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
        rows.into_iter().enumerate().map(|(i, r)| (i + 1, r)).collect()
    } else {
        return Err(ApiError::new(
            skillreel_web::ErrorCode::UnsupportedMediaType,
            "send `text/csv` or `application/json`",
        ));
    };
    if rows.len() > MAX_ROWS {
        return Err(ApiError::validation(format!("at most {MAX_ROWS} people per import")));
    }
    let (mut people, mut errors) = (Vec::new(), Vec::new());
    for (row, data) in rows {
        match validate(data) {
            Ok(p) if people.iter().any(|q: &ImportedUser| q.subject == p.subject) => {
                errors.push(format!("row {row}: `{}` appears twice", p.subject));
            }
            Ok(p) => people.push(p),
            Err(e) => errors.push(format!("row {row}: {e}")),
        }
    }
    if !errors.is_empty() {
        errors.truncate(50);
        return Err(ApiError::validation(errors.join("; ")));
    }
    let mut tx = ctx.pool.begin().await?;
    let (created, updated) = users::import(&mut tx, &people).await?;
    tx.commit().await?;
    Ok(web::Json(ImportResult { created, updated }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_follow_rfc_4180_quoting() {
        assert_eq!(
            csv_fields(r#"ana,"Doe, Ana","say ""hi""",x"#).ok(),
            Some(vec!["ana".into(), "Doe, Ana".into(), "say \"hi\"".into(), "x".into()])
        );
        assert!(csv_fields(r#"ana,"open"#).is_err());
    }

    #[test]
    fn a_csv_org_chart_parses_and_bad_rows_are_named() {
        let ok = parse_csv(
            "id,name,email,manager,team,roles\nana,Ana,ana@x.org,,Platform,manager;employee\nbob,Bob,,ana,Platform,\n",
        )
        .unwrap_or_default();
        assert_eq!(ok.len(), 2);
        let people: Vec<ImportedUser> = ok.into_iter().filter_map(|(_, r)| validate(r).ok()).collect();
        assert_eq!(people[1].manager_subject.as_deref(), Some("ana"));
        assert!(people[0].roles.contains(Role::Manager));
        assert!(parse_csv("name\nAna\n").is_err());
        let row = JsonRow {
            id: "x".into(),
            name: "X".into(),
            email: None,
            manager: None,
            team: None,
            roles: RolesField::Text("wizard".into()),
        };
        assert_eq!(validate(row).err().as_deref(), Some("unknown role `wizard`"));
    }
}
