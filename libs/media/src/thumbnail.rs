//! The poster: one decoded frame as a JPEG.

use std::path::{Path, PathBuf};

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Packet, codec, encoder, frame};

use crate::MediaError;

/// Encodes `source` as a JPEG at most `max_width` wide; returns its size.
pub(crate) fn write_jpeg(source: &frame::Video, max_width: u32, path: &Path) -> Result<(u32, u32), MediaError> {
    let err = |what: &'static str| move |e: ffmpeg_next::Error| MediaError::Internal(format!("thumbnail {what}: {e}"));
    let (sw, sh) = (source.width().max(2), source.height().max(2));
    let width = sw.min(max_width) / 2 * 2;
    let height = ((u64::from(sh) * u64::from(width) / u64::from(sw)) as u32 / 2 * 2).max(2);
    let mut scaler = scaling::Context::get(
        source.format(),
        sw,
        sh,
        Pixel::YUVJ420P,
        width,
        height,
        scaling::Flags::BICUBIC,
    )
    .map_err(err("scaler"))?;
    let mut scaled = frame::Video::empty();
    scaler.run(source, &mut scaled).map_err(err("scale"))?;
    scaled.set_pts(Some(0));

    let codec = encoder::find(codec::Id::MJPEG).ok_or_else(|| MediaError::Internal("no MJPEG encoder".into()))?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(err("context"))?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(Pixel::YUVJ420P);
    enc.set_time_base((1, 25));
    // Constant quality (like `-q:v 3`), not the default 200 kb/s which blurs a still.
    enc.set_flags(codec::Flags::QSCALE);
    enc.set_global_quality(3 * 118);
    enc.set_qmin(2);
    enc.set_qmax(4);
    let mut enc = enc.open().map_err(err("open"))?;
    enc.send_frame(&scaled).map_err(err("encode"))?;
    enc.send_eof().map_err(err("flush"))?;
    let mut packet = Packet::empty();
    enc.receive_packet(&mut packet).map_err(err("packet"))?;
    let data = packet
        .data()
        .ok_or_else(|| MediaError::Internal("empty thumbnail".into()))?;
    std::fs::write(path, data)?;
    Ok((width, height))
}

/// Picks the poster: among frames sampled early in the video (5 % to 40 % of it, at
/// most the first 30 s), the one with the most contrast, so a fade-in, a black title
/// card or a blank slide is not what people see in the catalog.
pub(crate) struct PosterPicker {
    from_s: f64,
    to_s: f64,
    step_s: f64,
    next_s: f64,
    best: Option<(f64, frame::Video)>,
}

impl PosterPicker {
    pub fn new(duration_s: f64) -> Self {
        let (from_s, to_s) = (duration_s * 0.05, (duration_s * 0.4).min(30.0));
        let step_s = ((to_s - from_s) / 12.0).max(0.2);
        Self {
            from_s,
            to_s,
            step_s,
            next_s: from_s,
            best: None,
        }
    }

    /// Offers the frame shown at `t` seconds; keeps a copy only if it is the best yet.
    pub fn offer(&mut self, t: f64, frame: &frame::Video) {
        if t < self.next_s || t > self.to_s.max(self.from_s) {
            return;
        }
        self.next_s = t + self.step_s;
        let score = contrast(frame);
        if self.best.as_ref().is_none_or(|(best, _)| score > *best) {
            self.best = Some((score, frame.clone()));
        }
    }

    pub fn chosen(self) -> Option<frame::Video> {
        self.best.map(|(_, frame)| frame)
    }
}

/// Spread of the luma (first plane) on a coarse grid; dark frames count for little.
fn contrast(frame: &frame::Video) -> f64 {
    let (width, height, stride) = (frame.width() as usize, frame.height() as usize, frame.stride(0));
    let data = frame.data(0);
    let mut samples = Vec::with_capacity(32 * 18);
    for gy in 0..18 {
        for gx in 0..32 {
            let (x, y) = (gx * width / 32, gy * height / 18);
            if let Some(v) = data.get(y * stride + x) {
                samples.push(f64::from(*v));
            }
        }
    }
    if samples.is_empty() {
        return 0.0;
    }
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let spread = (samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    if mean < 32.0 { spread * 0.1 } else { spread }
}

/// Writes the poster in its two sizes: `thumbnail.jpg` (at most 1280 wide) and
/// `thumbnail-small.jpg` (at most 320 wide, for lists).
pub(crate) fn write_posters(frame: &frame::Video, dir: &Path) -> Result<PathBuf, MediaError> {
    let large = dir.join("thumbnail.jpg");
    write_jpeg(frame, 1280, &large)?;
    write_jpeg(frame, 320, &dir.join("thumbnail-small.jpg"))?;
    Ok(large)
}
