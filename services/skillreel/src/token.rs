//! `skillreel token`: development tokens.

use std::path::{Path, PathBuf};
use std::time::Duration;

use skillreel_auth::{DevIdentity, DevTokenIssuer};
use skillreel_config::AuthSettings;

#[derive(clap::Args)]
pub struct TokenArgs {
    #[arg(long, default_value = "skillreel-data")]
    data_dir: PathBuf,
    /// The person's stable id.
    #[arg(long)]
    sub: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// employee, manager, moderator or admin; repeat for several.
    #[arg(long = "role")]
    roles: Vec<String>,
    /// The `sub` of the person's manager.
    #[arg(long)]
    manager: Option<String>,
    #[arg(long)]
    team: Option<String>,
    /// Lifetime: `90s`, `30m`, `12h`, `7d`.
    #[arg(long, default_value = "12h", value_parser = parse_ttl)]
    ttl: Duration,
}

pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 30m or 12h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("unknown unit `{unit}`; use s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

/// The development secret of a data folder, created on first use.
pub fn dev_secret(data_dir: &Path, name: &str) -> Result<String, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let path = data_dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 32
    {
        return Ok(existing.trim().to_owned());
    }
    let secret: String = {
        use rand::Rng;
        let bytes: [u8; 32] = rand::thread_rng().r#gen();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    std::fs::write(&path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret)
}

pub fn run(args: &TokenArgs) -> Result<(), String> {
    let secret = dev_secret(&args.data_dir, "dev-jwt-secret")?;
    let auth = AuthSettings::default();
    let issuer = DevTokenIssuer::new(&secret, &auth.issuer, &auth.audience);
    let who = DevIdentity {
        sub: args.sub.clone(),
        name: args.name.clone(),
        email: args.email.clone(),
        roles: args.roles.clone(),
        manager: args.manager.clone(),
        team: args.team.clone(),
    };
    let token = issuer.issue(&who, args.ttl).map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
