//! Which renditions to make from a source, and at what bitrate.

/// One rendition: picture size and target bitrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub width: u32,
    pub height: u32,
    /// Target average video bitrate, bits per second.
    pub video_bitrate: u64,
    /// VBV max rate, bits per second.
    pub max_bitrate: u64,
    /// H.264 level (e.g. 31 for 3.1), for the `CODECS` attribute.
    pub level: u8,
}

impl Rung {
    /// Directory name of the rung, e.g. `720p`.
    pub fn name(&self) -> String {
        format!("{}p", self.width.min(self.height))
    }
}

/// Bits per pixel per frame by the rung's short side: smaller pictures need more bits
/// per pixel to look acceptable (the shape of PeerTube's table).
fn bits_per_pixel(short_side: u32) -> f64 {
    match short_side {
        0..=240 => 0.17,
        241..=360 => 0.15,
        361..=480 => 0.12,
        481..=720 => 0.11,
        _ => 0.10,
    }
}

fn level_for(width: u32, height: u32, fps: f64) -> u8 {
    let macroblocks_per_s = f64::from(width.div_ceil(16) * height.div_ceil(16)) * fps;
    match macroblocks_per_s {
        m if m <= 40_500.0 => 30,
        m if m <= 108_000.0 => 31,
        m if m <= 245_760.0 => 40,
        m if m <= 522_240.0 => 42,
        _ => 51,
    }
}

/// The renditions made for one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    pub rungs: Vec<Rung>,
}

impl Ladder {
    /// Picks the configured short-side sizes that fit the source (never upscaling);
    /// a source smaller than every size gets one rung at its own size. Portrait
    /// sources keep their orientation. `source_bitrate` caps each rung at 1.3x it.
    pub fn for_source(sizes: &[u32], width: u32, height: u32, fps: f64, source_bitrate: Option<u64>) -> Self {
        let short = width.min(height).max(2);
        let mut shorts: Vec<u32> = sizes.iter().copied().filter(|s| *s <= short).collect();
        if shorts.is_empty() {
            shorts.push(short);
        }
        shorts.sort_unstable();
        shorts.dedup();
        let fps = if fps.is_finite() && fps > 0.0 {
            fps.min(120.0)
        } else {
            30.0
        };
        let rungs = shorts
            .into_iter()
            .map(|s| {
                let scale = f64::from(s) / f64::from(short);
                let even = |v: f64| ((v / 2.0).round() as u32).max(1) * 2;
                let (w, h) = (even(f64::from(width) * scale), even(f64::from(height) * scale));
                let bpp = bits_per_pixel(s);
                let mut video_bitrate = (f64::from(w) * f64::from(h) * fps.min(60.0) * bpp) as u64;
                if let Some(cap) = source_bitrate.filter(|b| *b > 0) {
                    video_bitrate = video_bitrate.min(cap * 13 / 10).max(100_000);
                }
                Rung {
                    width: w,
                    height: h,
                    video_bitrate,
                    max_bitrate: video_bitrate * 3 / 2,
                    level: level_for(w, h, fps),
                }
            })
            .collect();
        Self { rungs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: [u32; 5] = [240, 360, 480, 720, 1080];

    #[test]
    fn a_1080p_source_gets_five_landscape_rungs() {
        let ladder = Ladder::for_source(&SIZES, 1920, 1080, 30.0, None);
        let sizes: Vec<_> = ladder.rungs.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(
            sizes,
            vec![(426, 240), (640, 360), (854, 480), (1280, 720), (1920, 1080)]
        );
        assert!(ladder.rungs.windows(2).all(|w| w[0].video_bitrate < w[1].video_bitrate));
    }

    #[test]
    fn a_portrait_source_gets_portrait_rungs() {
        let ladder = Ladder::for_source(&SIZES, 720, 1280, 30.0, None);
        let sizes: Vec<_> = ladder.rungs.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(sizes, vec![(240, 426), (360, 640), (480, 854), (720, 1280)]);
    }

    #[test]
    fn a_small_source_is_never_upscaled() {
        let ladder = Ladder::for_source(&SIZES, 320, 180, 25.0, None);
        assert_eq!(ladder.rungs.len(), 1);
        assert_eq!((ladder.rungs[0].width, ladder.rungs[0].height), (320, 180));
    }

    #[test]
    fn bitrates_are_capped_by_the_source() {
        let ladder = Ladder::for_source(&SIZES, 1280, 720, 30.0, Some(1_000_000));
        assert!(ladder.rungs.iter().all(|r| r.video_bitrate <= 1_300_000));
    }
}
