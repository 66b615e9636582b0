//! Captions as people upload them (WebVTT or SRT), checked and turned into WebVTT, the
//! format HLS players read.

/// Largest caption file accepted, in bytes.
pub const MAX_CAPTION_BYTES: usize = 1024 * 1024;

/// A caption file that is not WebVTT or SRT, or is broken; the text says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaptionError(pub String);

/// Captions ready to serve: the WebVTT text, the cue text alone (for search) and how
/// long they run.
#[derive(Debug, Clone, PartialEq)]
pub struct Captions {
    pub webvtt: String,
    pub text: String,
    pub end_seconds: f64,
}

/// `HH:MM:SS.mmm` or `MM:SS.mmm` (`,` before the milliseconds in SRT).
fn parse_timestamp(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let (clock, millis) = raw.split_once(['.', ','])?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let nums: Vec<f64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    let (h, m, s) = match nums.as_slice() {
        [m, s] => (0.0, *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    if m >= 60.0 || s >= 60.0 {
        return None;
    }
    Some(h * 3600.0 + m * 60.0 + s + millis.parse::<f64>().ok()? / 1000.0)
}

/// `HH:MM:SS.mmm`, as WebVTT wants it.
pub fn webvtt_timestamp(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// A timing line: `start --> end [settings]`.
fn parse_timing(line: &str) -> Option<(f64, f64, String)> {
    let (start, rest) = line.split_once("-->")?;
    let rest = rest.trim_start();
    let (end, settings) = match rest.split_once(char::is_whitespace) {
        Some((end, settings)) => (end, settings.trim().to_owned()),
        None => (rest, String::new()),
    };
    let (start, end) = (parse_timestamp(start)?, parse_timestamp(end)?);
    (end >= start).then_some((start, end, settings))
}

/// Parses WebVTT (starting `WEBVTT`) or SRT, whichever `raw` is.
pub fn parse_captions(raw: &[u8]) -> Result<Captions, CaptionError> {
    if raw.len() > MAX_CAPTION_BYTES {
        return Err(CaptionError(format!(
            "captions are at most {} KiB",
            MAX_CAPTION_BYTES / 1024
        )));
    }
    let text = std::str::from_utf8(raw).map_err(|_| CaptionError("captions must be UTF-8 text".into()))?;
    let text = text
        .trim_start_matches('\u{feff}')
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err(CaptionError("captions must not contain control characters".into()));
    }
    let is_vtt = text.starts_with("WEBVTT") && text[6..].starts_with([' ', '\t', '\n']) || text == "WEBVTT";
    let blocks: Vec<&str> = text
        .split("\n\n")
        .map(|b| b.trim_matches('\n'))
        .filter(|b| !b.is_empty())
        .collect();
    let mut cues = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        if is_vtt && (n == 0 || block.starts_with("NOTE") || block.starts_with("STYLE") || block.starts_with("REGION"))
        {
            continue;
        }
        let mut lines = block.lines();
        let mut first = lines.next().unwrap_or_default();
        // An identifier (SRT's counter, or a WebVTT cue id) comes before the timing.
        if !first.contains("-->") {
            first = lines.next().unwrap_or_default();
        }
        let Some((start, end, settings)) = parse_timing(first) else {
            let kind = if is_vtt { "WebVTT" } else { "SRT" };
            return Err(CaptionError(format!(
                "cue {} is not valid {kind}: expected a timing line like `00:00:01.000 --> 00:00:04.000`, found `{}`",
                cues.len() + 1,
                first.chars().take(60).collect::<String>()
            )));
        };
        let body: Vec<&str> = lines.collect();
        cues.push((start, end, settings, body.join("\n")));
    }
    if cues.is_empty() {
        return Err(CaptionError("the captions contain no cues".into()));
    }
    let mut webvtt = String::from("WEBVTT\n");
    let mut plain = String::new();
    for (start, end, settings, body) in &cues {
        webvtt.push('\n');
        webvtt.push_str(&webvtt_timestamp(*start));
        webvtt.push_str(" --> ");
        webvtt.push_str(&webvtt_timestamp(*end));
        if is_vtt && !settings.is_empty() {
            webvtt.push(' ');
            webvtt.push_str(settings);
        }
        webvtt.push('\n');
        webvtt.push_str(body);
        webvtt.push('\n');
        plain.push_str(&strip_tags(body));
        plain.push(' ');
    }
    let end_seconds = cues.iter().map(|c| c.1).fold(0.0, f64::max);
    Ok(Captions {
        webvtt,
        text: plain.trim().to_owned(),
        end_seconds,
    })
}

/// Cue text without markup (`<i>`, `<v Speaker>`, `{\an8}`), for search.
fn strip_tags(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut depth = 0;
    for c in body.chars() {
        match c {
            '<' | '{' => depth += 1,
            '>' | '}' if depth > 0 => depth -= 1,
            '\n' => out.push(' '),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webvtt_timestamps_have_hours_minutes_seconds_and_millis() {
        assert_eq!(webvtt_timestamp(0.0), "00:00:00.000");
        assert_eq!(webvtt_timestamp(61.5), "00:01:01.500");
        assert_eq!(webvtt_timestamp(3723.004), "01:02:03.004");
    }

    #[test]
    fn srt_becomes_webvtt() {
        let srt = "1\r\n00:00:01,000 --> 00:00:04,500\r\nHello <i>world</i>\r\n\r\n2\r\n00:00:05,000 --> 00:01:02,250\r\nSecond line\r\nwraps\r\n";
        let c = parse_captions(srt.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.webvtt,
            "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\nHello <i>world</i>\n\n00:00:05.000 --> 00:01:02.250\nSecond line\nwraps\n"
        );
        assert_eq!(c.text, "Hello world Second line wraps");
        assert!((c.end_seconds - 62.25).abs() < 1e-9);
    }

    #[test]
    fn webvtt_keeps_settings_and_skips_notes() {
        let vtt = "WEBVTT - talk\n\nNOTE made by hand\n\nintro\n00:01.000 --> 00:02.000 line:0\n<v Ana>Hi\n";
        let c = parse_captions(vtt.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.webvtt, "WEBVTT\n\n00:00:01.000 --> 00:00:02.000 line:0\n<v Ana>Hi\n");
        assert_eq!(c.text, "Hi");
    }

    #[test]
    fn broken_captions_are_refused_with_the_reason() {
        for (raw, says) in [
            ("", "no cues"),
            (
                "WEBVTT\n\n00:01 --> 00:02\nmissing millis\n",
                "cue 1 is not valid WebVTT",
            ),
            (
                "1\n00:00:05,000 --> 00:00:01,000\nbackwards\n",
                "cue 1 is not valid SRT",
            ),
            ("just some text\n", "cue 1"),
            (
                "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nnul\u{0}\n",
                "control characters",
            ),
        ] {
            let err = parse_captions(raw.as_bytes())
                .err()
                .unwrap_or_else(|| panic!("{raw:?} accepted"));
            assert!(err.0.contains(says), "{raw:?}: {err}");
        }
        assert!(parse_captions(&[0xff, 0xfe]).is_err());
        assert!(parse_captions(&vec![b'a'; MAX_CAPTION_BYTES + 1]).is_err());
    }
}
