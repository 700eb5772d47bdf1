// Opening the camera: the rear one if the device has one, falling back where `exact` is refused.

/** A video stream from the best available camera (throws when there is none or permission is refused);
 * `extra` adds video constraints (e.g. an ideal resolution), dropped if the device refuses them. */
export async function openCamera(extra = null) {
  // `exact: environment` is refused by laptops and fake devices (OverconstrainedError): fall back.
  const wishes = [{ facingMode: { exact: "environment" } }, { facingMode: "environment" }, true];
  const tries = extra ? [...wishes.filter((w) => w !== true).map((w) => ({ ...w, ...extra })), { ...extra }, ...wishes] : wishes;
  for (const video of tries) {
    try {
      return await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (error) {
      if (error?.name !== "OverconstrainedError" && error?.name !== "NotFoundError") throw error;
    }
  }
  throw new Error("no camera");
}
