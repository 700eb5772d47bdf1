// Signing a tablet in: the device's key pair, its registration with the server and its id across users.
import { getMeta, setMeta, startNewDevice } from "../db/store.js";
import { ProtocolError, SyncError } from "./api.js";

/**
 * Sign in and register this device, with an ECDSA P-256 key pair whose private half never leaves it.
 * The device id is kept across re-registrations of the same user (a revoked token, a lost reply), so its
 * seq numbering goes on; another user gets a new device id, which is refused while records are unsynced.
 * @param {{db: import("idb").IDBPDatabase, api: ReturnType<typeof import("./api.js").createApi>, username: string, password: string, label?: string, subtle?: SubtleCrypto, randomUUID?: () => string}} options
 * @returns {Promise<{device: {id: string, token: string, user: object}}>}
 */
export async function enrolDevice({
  db,
  api,
  username,
  password,
  label = "",
  subtle = globalThis.crypto.subtle,
  randomUUID = () => globalThis.crypto.randomUUID(),
}) {
  let keys = await getMeta(db, "deviceKey", null);
  if (!keys) {
    // Non-extractable private key: it can sign seals on this device and cannot be copied off it.
    const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    keys = { privateKey: pair.privateKey, publicKey: pair.publicKey };
    await setMeta(db, "deviceKey", keys);
  }
  // A P-256 public key's JWK always has these four (JsonWebKey types them all as optional).
  const { kty, crv, x, y } = /** @type {{kty: string, crv: string, x: string, y: string}} */ (await subtle.exportKey("jwk", keys.publicKey));
  const session = await api.login(username, password);
  const previous = await getMeta(db, "device", null);
  let id = previous?.id ?? null;
  if (id && previous.user?.id != null && previous.user.id !== session.user.id) {
    // The server refuses a device id that belongs to someone else, and the queued records are the
    // previous inspector's: pushing them under another user's token would misattribute them.
    id = randomUUID();
    try {
      await startNewDevice(db, { id });
    } catch (error) {
      if (error.pending === undefined) throw error;
      const who = previous.user.display_name ?? previous.user.username ?? "上一位用户";
      const zh = `本机还有 ${error.pending} 条未同步的记录属于 ${who}，请由该用户登录完成同步后再更换用户。`;
      throw new SyncError({
        status: 409,
        code: "local.user_switch",
        message: zh,
        messages: { "zh-CN": zh, en: `${error.pending} unsynced records on this device belong to ${who}; let them sign in and sync first.` },
      });
    }
  } else if (!id) {
    id = randomUUID();
    // Kept before asking: a registration whose reply is lost is retried under the same id.
    await setMeta(db, "device", { id, token: null, user: null });
  }
  const registration = await api.registerDevice(session.csrf_token, {
    device_id: id,
    public_key: { kty, crv, x, y },
    ...(label ? { label } : {}),
  });
  if (registration.device.id.toLowerCase() !== id.toLowerCase()) {
    throw new ProtocolError(`registered as device ${registration.device.id}, not ${id}`);
  }
  const device = { id, token: registration.token, user: session.user };
  await setMeta(db, "device", device);
  const lastError = await getMeta(db, "lastError", null);
  if (lastError?.reauth) await setMeta(db, "lastError", null);
  return { device };
}
