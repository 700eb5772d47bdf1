"""Photo media: image checks, EXIF facts and thumbnails (Pillow), and recording verified blobs."""
