// Opening the camera: the rear one if the device has one, falling back where `exact` is refused.

/** A video stream from the best available camera (throws when there is none or permission is refused). */
export async function openCamera() {
  // `exact: environment` is refused by laptops and fake devices (OverconstrainedError): fall back.
  for (const video of [{ facingMode: { exact: "environment" } }, { facingMode: "environment" }, true]) {
    try {
      return await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (error) {
      if (error?.name !== "OverconstrainedError" && error?.name !== "NotFoundError") throw error;
    }
  }
  throw new Error("no camera");
}
