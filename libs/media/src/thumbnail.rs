//! The poster: one decoded frame as a JPEG.

use std::path::Path;

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
