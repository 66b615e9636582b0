//! Phones record sideways and say so in a display matrix; players that ignore it show
//! a lying-down picture. We apply the rotation to the pixels, so every rendition is
//! upright without relying on the player.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame;
use ffmpeg_next::software::scaling;

use crate::MediaError;

/// Clockwise quarter turns to apply to a decoded picture to show it upright.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rotation {
    #[default]
    None,
    Cw90,
    Cw180,
    Cw270,
}

impl Rotation {
    /// From the stream's display matrix (nine 32-bit native-endian integers, 16.16
    /// fixed point but for the last column), as `ffmpeg`'s own autorotate reads it.
    /// Angles that are not a multiple of 90° are treated as upright.
    pub fn from_display_matrix(raw: &[u8]) -> Self {
        let m: Vec<f64> = raw
            .chunks_exact(4)
            .take(9)
            .map(|c| f64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]])) / 65536.0)
            .collect();
        if m.len() < 5 {
            return Self::None;
        }
        let (sx, sy) = (m[0].hypot(m[3]), m[1].hypot(m[4]));
        if sx == 0.0 || sy == 0.0 {
            return Self::None;
        }
        // `ffmpeg` turns the picture clockwise by -av_display_rotation_get(m), which is this.
        let clockwise = (m[1] / sy).atan2(m[0] / sx).to_degrees();
        Self::from_degrees(clockwise)
    }

    /// From a clockwise angle in degrees.
    pub fn from_degrees(clockwise: f64) -> Self {
        match (clockwise / 90.0).round().rem_euclid(4.0) as u8 {
            1 => Self::Cw90,
            2 => Self::Cw180,
            3 => Self::Cw270,
            _ => Self::None,
        }
    }

    /// Whether width and height trade places.
    pub fn swaps_sides(self) -> bool {
        matches!(self, Self::Cw90 | Self::Cw270)
    }

    /// The stored size that shows as `width` x `height` once rotated.
    pub fn stored_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_sides() {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// Rotates a YUV 4:2:0 planar picture (even sides) into a new frame.
pub(crate) fn rotate_yuv420p(src: &frame::Video, rotation: Rotation) -> frame::Video {
    let (w, h) = (src.width(), src.height());
    let (dw, dh) = if rotation.swaps_sides() { (h, w) } else { (w, h) };
    let mut dst = frame::Video::new(Pixel::YUV420P, dw, dh);
    for plane in 0..3 {
        let (pw, ph) = if plane == 0 {
            (w as usize, h as usize)
        } else {
            (w.div_ceil(2) as usize, h.div_ceil(2) as usize)
        };
        let (src_stride, dst_stride) = (src.stride(plane), dst.stride(plane));
        let from = src.data(plane);
        let to = dst.data_mut(plane);
        for y in 0..ph {
            let row = &from[y * src_stride..y * src_stride + pw];
            for (x, &v) in row.iter().enumerate() {
                // Where source pixel (x, y) lands in the rotated picture.
                let (nx, ny) = match rotation {
                    Rotation::None => (x, y),
                    Rotation::Cw90 => (ph - 1 - y, x),
                    Rotation::Cw180 => (pw - 1 - x, ph - 1 - y),
                    Rotation::Cw270 => (y, pw - 1 - x),
                };
                to[ny * dst_stride + nx] = v;
            }
        }
    }
    dst.set_pts(src.pts());
    dst
}

/// The picture as it should be seen: converted to YUV 4:2:0 and rotated upright.
pub(crate) fn upright(src: &frame::Video, rotation: Rotation) -> Result<frame::Video, MediaError> {
    if rotation == Rotation::None {
        return Ok(src.clone());
    }
    let (w, h) = (src.width() / 2 * 2, src.height() / 2 * 2);
    let mut scaler = scaling::Context::get(
        src.format(),
        src.width(),
        src.height(),
        Pixel::YUV420P,
        w.max(2),
        h.max(2),
        scaling::Flags::BICUBIC,
    )
    .map_err(|e| MediaError::Internal(format!("rotation scaler: {e}")))?;
    let mut converted = frame::Video::empty();
    scaler
        .run(src, &mut converted)
        .map_err(|e| MediaError::Corrupt(format!("picture could not be converted: {e}")))?;
    Ok(rotate_yuv420p(&converted, rotation))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the mov muxer writes for a `rotate` tag of `clockwise` degrees.
    fn matrix(clockwise: f64) -> Vec<u8> {
        let r = clockwise.to_radians();
        let fixed = |v: f64| (v * 65536.0).round() as i32;
        let m = [
            fixed(r.cos()),
            fixed(r.sin()),
            0,
            fixed(-r.sin()),
            fixed(r.cos()),
            0,
            0,
            0,
            1 << 30,
        ];
        m.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn display_matrices_map_to_quarter_turns() {
        assert_eq!(Rotation::from_display_matrix(&matrix(0.0)), Rotation::None);
        assert_eq!(Rotation::from_display_matrix(&matrix(90.0)), Rotation::Cw90);
        assert_eq!(Rotation::from_display_matrix(&matrix(-90.0)), Rotation::Cw270);
        assert_eq!(Rotation::from_display_matrix(&matrix(180.0)), Rotation::Cw180);
        assert_eq!(Rotation::from_display_matrix(&[1, 2]), Rotation::None);
        assert_eq!(Rotation::Cw90.stored_size(720, 1280), (1280, 720));
    }

    #[test]
    fn a_quarter_turn_moves_the_bottom_left_corner_to_the_top_left() {
        crate::init().unwrap_or_else(|e| panic!("{e}"));
        let mut src = frame::Video::new(Pixel::YUV420P, 4, 2);
        let stride = src.stride(0);
        let luma = src.data_mut(0);
        for y in 0..2 {
            for x in 0..4 {
                luma[y * stride + x] = (10 * y + x) as u8;
            }
        }
        let turned = rotate_yuv420p(&src, Rotation::Cw90);
        assert_eq!((turned.width(), turned.height()), (2, 4));
        let (stride, luma) = (turned.stride(0), turned.data(0));
        // Top row of the result is the left column of the source, read bottom-up.
        assert_eq!((luma[0], luma[1]), (10, 0));
        assert_eq!((luma[3 * stride], luma[3 * stride + 1]), (13, 3));
        let back = rotate_yuv420p(&turned, Rotation::Cw270);
        assert_eq!(back.data(0)[..4], src.data(0)[..4]);
    }
}
