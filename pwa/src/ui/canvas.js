// Page-made stand-ins for what some engines lack off the page: a <canvas> where OffscreenCanvas cannot draw
// in 2D, and an <img> where createImageBitmap cannot decode a file. Handed to photo/encode.js.
import { makeCanvas } from "../photo/encode.js";

/** A page canvas of `width`×`height`. */
export function pageCanvas(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/** `file` decoded by an <img> (which applies EXIF orientation), as {source, width, height, close()}. */
export function pageImage(file) {
  const url = URL.createObjectURL(file);
  const image = new Image();
  return new Promise((resolve, reject) => {
    image.onload = () => resolve({ source: image, width: image.naturalWidth, height: image.naturalHeight, close: () => URL.revokeObjectURL(url) });
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("the image could not be decoded"));
    };
    image.src = url;
  });
}

/** The fallbacks photo/encode.js takes. */
export const PHOTO_FALLBACKS = { canvas: pageCanvas, image: pageImage };

/** A 2D canvas for frames and photos: an OffscreenCanvas where the engine has a usable one, else a page canvas. */
export function frameCanvas(width, height) {
  return makeCanvas(width, height, pageCanvas);
}
