// What a failed sync round tells the inspector: every failure in words, Chinese first, in the shape meta
// "lastError" keeps (and the same `messages` map a server problem carries). Which failures are worth retrying
// is decided here too, so the runner and the words agree.
import { NetworkError, ProtocolError, SyncError } from "./api.js";

// "Not now" rather than "never": retried with backoff like a 5xx.
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** Every attempt of one request failed with a transient error; `cause` is the last one. */
export class RetriesExhausted extends Error {
  constructor(message, cause) {
    super(message, { cause });
    this.name = "RetriesExhausted";
  }
}

/**
 * Whether a failed request is worth repeating: lost, untrustworthy, a 5xx or a "not now".
 * @param {unknown} error
 * @returns {boolean}
 */
export function isTransient(error) {
  if (error instanceof NetworkError || error instanceof ProtocolError) return true;
  return error instanceof SyncError && (error.status >= 500 || RETRYABLE_STATUS.has(error.status));
}

/**
 * A sync failure in words for the inspector, Chinese first (meta.lastError's shape).
 * @param {unknown} error
 * @param {Date} [at]
 * @returns {import("../db/store.js").SyncFailure}
 */
export function describeError(error, at = new Date()) {
  const info = explain(error, at);
  // The same `messages` map a server problem carries, so one helper can render either in the UI language.
  return { ...info, messages: { "zh-CN": info.message, en: info.message_en } };
}

function explain(error, at) {
  const base = { status: null, detail: null, reauth: false, offline: false, at: at.toISOString() };
  const cause = error instanceof RetriesExhausted ? error.cause : error;
  if (cause instanceof SyncError && cause.status === 401) {
    return {
      ...base,
      code: cause.code,
      status: 401,
      message: "需要重新登录：本设备的登录已失效或已被停用，未同步的记录仍安全保存在本机。",
      message_en: "Sign in again: this device's sign-in expired or was revoked. Unsynced records are safe on this device.",
      detail: cause.messages?.["zh-CN"] ?? null,
      reauth: true,
    };
  }
  if (cause instanceof NetworkError) {
    return {
      ...base,
      code: "network",
      message: "无法连接服务器，记录已保存在本机，联网后会自动同步。",
      message_en: "Cannot reach the server. Records are saved on this device and will sync when online.",
      detail: cause.message,
      offline: true,
    };
  }
  if (cause instanceof ProtocolError) {
    return {
      ...base,
      code: "protocol",
      message: "服务器的回复无法确认，记录仍保存在本机，稍后会重试。",
      message_en: "The server's reply could not be trusted. Records stay on this device; sync will retry.",
      detail: cause.message,
    };
  }
  if (cause instanceof SyncError) {
    const zh = cause.messages?.["zh-CN"];
    const en = cause.messages?.en;
    if (cause.status >= 500 || RETRYABLE_STATUS.has(cause.status)) {
      return {
        ...base,
        code: cause.code,
        status: cause.status,
        message: "服务器暂时无法处理，记录已保存在本机，稍后会自动重试。",
        message_en: "The server is temporarily unavailable. Records are saved on this device; sync will retry.",
        detail: zh ?? null,
      };
    }
    return {
      ...base,
      code: cause.code,
      status: cause.status,
      message: zh ?? `同步被服务器拒绝（${cause.code}）。`,
      message_en: en ?? cause.message,
    };
  }
  return {
    ...base,
    code: "internal",
    message: "同步时出现意外错误，记录仍保存在本机。",
    message_en: "An unexpected error stopped the sync. Records stay on this device.",
    detail: String(error?.message ?? error),
  };
}
