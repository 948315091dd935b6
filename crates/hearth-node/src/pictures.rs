//! Decoding pictures safely: every picture here comes from a file the user picked or
//! from the partner's device, so none is trusted with the memory it asks for or the
//! size it claims. The engine uses this for the thumbnails it makes; the app for
//! what it shows.

use std::io::Cursor;

use hearth_core::{Thumbnail, limits};
use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbaImage};

/// The widest and tallest picture decoded at all.
pub const MAX_SIDE: u32 = 65_535;
/// The most memory one decode may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// Why a picture was not decoded.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// Not a picture in a format Hearth decodes, or damaged.
    #[error("not a picture Hearth can show: {0}")]
    Unreadable(#[from] image::ImageError),
    /// Decodes, but not to what it claims to be.
    #[error("the picture is not what it claims to be")]
    Mismatch,
    /// The file could not be read.
    #[error("the file could not be read: {0}")]
    Io(#[from] std::io::Error),
}

fn limits(max_side: u32, max_alloc: u64) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(max_alloc);
    limits
}

/// Decodes a picture of any format Hearth knows, within [`MAX_SIDE`] and a memory
/// budget: a picture that claims more is refused before its pixels are allocated.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, PictureError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits(MAX_SIDE, MAX_ALLOC));
    Ok(reader.decode()?)
}

/// [`decode`] of a file on disk.
pub fn decode_file(path: &std::path::Path) -> Result<DynamicImage, PictureError> {
    let mut reader = ImageReader::open(path)?.with_guessed_format()?;
    reader.limits(limits(MAX_SIDE, MAX_ALLOC));
    Ok(reader.decode()?)
}

/// The picture scaled down, keeping its shape, so neither side exceeds `max_side`
/// (a renderer's largest texture); unchanged if it already fits. Never below one
/// pixel on a side.
pub fn fit(image: DynamicImage, max_side: u32) -> DynamicImage {
    let max_side = max_side.max(1);
    if image.width() <= max_side && image.height() <= max_side {
        return image;
    }
    image.thumbnail(max_side, max_side)
}

/// Decodes a thumbnail from the partner's device: a JPEG only, each side at most
/// [`limits::MAX_THUMBNAIL_SIDE`], and exactly the size it declares.
pub fn decode_thumbnail(thumbnail: &Thumbnail) -> Result<RgbaImage, PictureError> {
    if !thumbnail.is_plausible() {
        return Err(PictureError::Mismatch);
    }
    let side = u32::from(limits::MAX_THUMBNAIL_SIDE);
    let mut reader = ImageReader::with_format(Cursor::new(&thumbnail.jpeg), ImageFormat::Jpeg);
    reader.limits(limits(side, u64::from(side * side * 4) * 2));
    let image = reader.decode()?;
    if (image.width(), image.height()) != (u32::from(thumbnail.width), u32::from(thumbnail.height))
    {
        return Err(PictureError::Mismatch);
    }
    Ok(image.to_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new(&mut out))
            .map(|()| out)
            .unwrap_or_default()
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 120, 40]));
        let mut out = Cursor::new(Vec::new());
        image
            .write_to(&mut out, ImageFormat::Png)
            .map(|()| out.into_inner())
            .unwrap_or_default()
    }

    #[test]
    fn a_panorama_fits_the_renderer_and_keeps_its_shape() {
        let image = decode(&png(30_000, 200)).map(|i| fit(i, 2048));
        let Ok(image) = image else {
            panic!("the panorama did not decode: {image:?}");
        };
        assert_eq!(image.width(), 2048);
        assert!((13..=14).contains(&image.height()), "{}", image.height());
        // A picture that fits is left alone.
        let small = decode(&png(300, 200)).map(|i| fit(i, 2048));
        assert!(matches!(small, Ok(i) if (i.width(), i.height()) == (300, 200)));
    }

    #[test]
    fn thumbnails_must_be_small_jpegs_of_the_size_they_declare() {
        let good = Thumbnail {
            width: 200,
            height: 100,
            jpeg: jpeg(200, 100),
        };
        assert!(matches!(decode_thumbnail(&good), Ok(i) if i.dimensions() == (200, 100)));
        let forged = [
            // Declared within bounds, real size not.
            Thumbnail {
                width: 200,
                height: 200,
                jpeg: jpeg(1, 2000),
            },
            // Declared as big as it is.
            Thumbnail {
                width: 1,
                height: 2000,
                jpeg: jpeg(1, 2000),
            },
            // Not a JPEG.
            Thumbnail {
                width: 20,
                height: 20,
                jpeg: png(20, 20),
            },
            // Declared smaller than it is.
            Thumbnail {
                width: 100,
                height: 50,
                jpeg: jpeg(200, 100),
            },
            // Bytes that only start like a JPEG.
            Thumbnail {
                width: 20,
                height: 20,
                jpeg: vec![0xFF, 0xD8, 0xFF, 0, 1, 2, 3],
            },
        ];
        for thumbnail in &forged {
            assert!(
                decode_thumbnail(thumbnail).is_err(),
                "{}×{} declared, {} bytes",
                thumbnail.width,
                thumbnail.height,
                thumbnail.jpeg.len()
            );
        }
    }

    #[test]
    fn a_picture_claiming_more_than_the_limits_is_refused_without_a_crash() {
        // A BMP header (no checksum to fix up) that claims 60000×60000 pixels: within
        // the side limit, 14 GB of pixels.
        let image = image::RgbImage::from_pixel(1, 1, image::Rgb([1, 2, 3]));
        let mut bmp = Cursor::new(Vec::new());
        assert!(image.write_to(&mut bmp, ImageFormat::Bmp).is_ok());
        let mut huge = bmp.into_inner();
        huge[18..22].copy_from_slice(&60_000i32.to_le_bytes());
        huge[22..26].copy_from_slice(&60_000i32.to_le_bytes());
        let refused = decode(&huge);
        assert!(
            matches!(
                &refused,
                Err(PictureError::Unreadable(image::ImageError::Limits(_)))
            ),
            "{refused:?}"
        );
        assert!(decode(b"not a picture").is_err());
    }
}
