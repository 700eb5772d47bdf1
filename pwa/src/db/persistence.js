// Persistent storage keeps the browser from evicting the outbox and its photos under storage pressure.
// Firefox answers navigator.storage.persist() only through a permission prompt (headless: never), so it is
// asked and never waited on.

/**
 * Ask `storage` (navigator.storage) to persist this origin's data; resolves to whether it was granted, false
 * when the engine lacks the call, refuses, throws, or gives no answer within `timeoutMs`. Never rejects.
 */
export function askPersistentStorage(storage, timeoutMs = 10_000) {
  if (typeof storage?.persist !== "function") return Promise.resolve(false);
  let answer;
  try {
    answer = Promise.resolve(storage.persist()).then(Boolean, () => false);
  } catch {
    return Promise.resolve(false);
  }
  const silence = new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs));
  return Promise.race([answer, silence]);
}
