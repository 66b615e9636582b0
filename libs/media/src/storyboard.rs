//! The storyboard: small pictures at regular times in one sprite sheet, indexed by a
//! WebVTT file, for the preview a player shows while the viewer scrubs.

use std::fmt::Write as _;
use std::path::Path;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame;
use ffmpeg_next::software::scaling;
use skillreel_domain::webvtt_timestamp;

use crate::MediaError;
use crate::rotate::{Rotation, rotate_yuv420p};
use crate::thumbnail::write_jpeg;

/// Long side of one tile, in pixels.
const TILE_LONG_SIDE: u32 = 160;
/// Tiles per row of the sheet.
const COLUMNS: usize = 10;
/// At most this many tiles: a 15-minute video gets one every 9 s.
const MAX_TILES: f64 = 100.0;

pub(crate) const SPRITE_FILE: &str = "storyboard.jpg";
pub(crate) const INDEX_FILE: &str = "storyboard.vtt";

pub(crate) struct Storyboard {
    interval_s: f64,
    next_s: f64,
    rotation: Rotation,
    /// Tile size as shown (after rotation).
    tile: (u32, u32),
    scaler: Option<(Pixel, u32, u32, scaling::Context)>,
    /// Each tile with the time it starts to stand for.
    tiles: Vec<(f64, frame::Video)>,
}

impl Storyboard {
    /// `width` x `height` is the picture as shown.
    pub fn new(duration_s: f64, width: u32, height: u32, rotation: Rotation) -> Self {
        let interval_s = (duration_s / MAX_TILES).ceil().max(1.0);
        let even = |v: f64| ((v / 2.0).round() as u32).max(1) * 2;
        let long = f64::from(width.max(height).max(1));
        let scale = f64::from(TILE_LONG_SIDE) / long;
        Self {
            interval_s,
            next_s: 0.0,
            rotation,
            tile: (even(f64::from(width) * scale), even(f64::from(height) * scale)),
            scaler: None,
            tiles: Vec::new(),
        }
    }

    /// Offers the decoded frame shown at `t` seconds; keeps a tile when one is due.
    pub fn offer(&mut self, t: f64, decoded: &frame::Video) -> Result<(), MediaError> {
        // The interval came from the declared length; a file longer than it says
        // must not grow the sheet past its size.
        if t + 1e-6 < self.next_s || self.tiles.len() >= MAX_TILES as usize {
            return Ok(());
        }
        let slot = (t / self.interval_s).floor();
        self.next_s = (slot + 1.0) * self.interval_s;
        let (w, h) = self.rotation.stored_size(self.tile.0, self.tile.1);
        let key = (decoded.format(), decoded.width(), decoded.height());
        if !matches!(&self.scaler, Some((f, sw, sh, _)) if (*f, *sw, *sh) == key) {
            let context = scaling::Context::get(key.0, key.1, key.2, Pixel::YUV420P, w, h, scaling::Flags::AREA)
                .map_err(|e| MediaError::Internal(format!("storyboard scaler: {e}")))?;
            self.scaler = Some((key.0, key.1, key.2, context));
        }
        let Some((_, _, _, scaler)) = self.scaler.as_mut() else {
            return Ok(());
        };
        let mut small = frame::Video::empty();
        scaler
            .run(decoded, &mut small)
            .map_err(|e| MediaError::Corrupt(format!("picture could not be scaled: {e}")))?;
        let tile = if self.rotation == Rotation::None {
            small
        } else {
            rotate_yuv420p(&small, self.rotation)
        };
        self.tiles.push((slot * self.interval_s, tile));
        Ok(())
    }

    /// Writes the sprite sheet and its WebVTT index into `dir`; nothing when no tile
    /// was taken.
    pub fn write(&self, dir: &Path, duration_s: f64) -> Result<(), MediaError> {
        if self.tiles.is_empty() {
            return Ok(());
        }
        let (tw, th) = self.tile;
        let columns = self.tiles.len().min(COLUMNS);
        let rows = self.tiles.len().div_ceil(COLUMNS);
        let mut sheet = frame::Video::new(Pixel::YUV420P, tw * columns as u32, th * rows as u32);
        for plane in 0..3 {
            // Black: zero luma, mid-grey chroma.
            let fill = if plane == 0 { 16 } else { 128 };
            sheet.data_mut(plane).fill(fill);
        }
        let mut vtt = String::from("WEBVTT\n");
        for (i, (start, tile)) in self.tiles.iter().enumerate() {
            let (x, y) = ((i % COLUMNS) as u32 * tw, (i / COLUMNS) as u32 * th);
            paste(&mut sheet, tile, x, y);
            let next = self.tiles.get(i + 1).map_or(duration_s, |(t, _)| *t);
            let end = next.max(start + 0.001);
            let _ = write!(
                vtt,
                "\n{} --> {}\n{SPRITE_FILE}#xywh={x},{y},{tw},{th}\n",
                webvtt_timestamp(*start),
                webvtt_timestamp(end)
            );
        }
        write_jpeg(&sheet, sheet.width(), &dir.join(SPRITE_FILE))?;
        std::fs::write(dir.join(INDEX_FILE), vtt)?;
        Ok(())
    }
}

/// Copies a YUV 4:2:0 tile into the sheet at (`x`, `y`), both even.
fn paste(sheet: &mut frame::Video, tile: &frame::Video, x: u32, y: u32) {
    for plane in 0..3 {
        let shift = usize::from(plane > 0);
        let (px, py) = ((x as usize) >> shift, (y as usize) >> shift);
        let (w, h) = ((tile.width() as usize) >> shift, (tile.height() as usize) >> shift);
        let (src_stride, dst_stride) = (tile.stride(plane), sheet.stride(plane));
        let src = tile.data(plane);
        let dst = sheet.data_mut(plane);
        for row in 0..h {
            let from = &src[row * src_stride..row * src_stride + w];
            let at = (py + row) * dst_stride + px;
            dst[at..at + w].copy_from_slice(from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_keep_the_picture_shape_and_come_at_most_a_hundred_times() {
        let landscape = Storyboard::new(60.0, 1920, 1080, Rotation::None);
        assert_eq!((landscape.tile, landscape.interval_s), ((160, 90), 1.0));
        let portrait = Storyboard::new(900.0, 720, 1280, Rotation::Cw90);
        assert_eq!((portrait.tile, portrait.interval_s), ((90, 160), 9.0));
    }
}
