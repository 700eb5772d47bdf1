// First use, online once (and again whenever the server asks): sign in and enrol this device.
import { setMeta } from "../db/store.js";
import { enrolDevice } from "../sync/enrol.js";

/** Enrol the device for this user (same id on a re-login), then fetch the bureau's QR key for offline checks. */
export async function registerThisDevice({ db, api, username, password, label }) {
  const registration = await enrolDevice({ db, api, username, password, label });
  try {
    await setMeta(db, "qrPublicKey", await api.qrPublicKey());
  } catch {
    // Scanning checks signatures offline; the key is fetched again at the next sign-in if this failed.
  }
  return registration;
}
