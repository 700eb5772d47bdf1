// First use, online once: sign in, make the device's key pair, register, remember the device.
import { setMeta } from "../db/store.js";

/** Make a P-256 key pair whose private key never leaves WebCrypto, and register this device. */
export async function registerThisDevice({ db, api, username, password, label, subtle = crypto.subtle }) {
  const session = await api.login(username, password);
  const keys = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const jwk = await subtle.exportKey("jwk", keys.publicKey);
  const deviceId = crypto.randomUUID();
  const reply = await api.registerDevice(session.csrf_token, {
    device_id: deviceId,
    public_key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    label,
  });
  // CryptoKey objects are structured-cloneable: IndexedDB keeps them, non-extractable, across restarts.
  await setMeta(db, "deviceKey", keys);
  await setMeta(db, "device", { id: reply.device.id, token: reply.token, user: session.user });
  try {
    await setMeta(db, "qrPublicKey", await api.qrPublicKey());
  } catch {
    // Scanning checks signatures offline; the key is fetched again at the next sync if this failed.
  }
  return reply;
}
