import { describe, expect, it } from "vitest";

import { NetworkError, ProtocolError, SyncError, createApi } from "../src/sync/api.js";
import { example, shapeErrors } from "./helpers/examples.js";

const SHA = example("blob-status").sha256;

/** A fetch that records its calls and answers with the given responses in turn. */
function scripted(...replies) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const next = replies.shift();
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next() : next;
  };
  return { fetch, calls };
}

const jsonReply = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

describe("api", () => {
  it("sends sync calls with the bearer token, no cookie, and the base URL", async () => {
    const { fetch, calls } = scripted(jsonReply(200, example("push-reply")));
    const api = createApi({ fetch, baseUrl: "https://jc.example.cn/" });
    const body = example("push-request");
    const reply = await api.push("tok", body);
    expect(reply).toEqual(example("push-reply"));
    expect(calls[0].url).toBe("https://jc.example.cn/api/sync/push");
    expect(calls[0].init).toMatchObject({ method: "POST", credentials: "omit", cache: "no-store" });
    expect(calls[0].init.headers).toMatchObject({ Authorization: "Bearer tok", "Content-Type": "application/json" });
    expect(JSON.parse(calls[0].init.body)).toEqual(body);
  });

  it("a problem reply becomes a SyncError with its code and both messages", async () => {
    const { fetch } = scripted(jsonReply(409, example("error"), { "Upload-Offset": "786432" }));
    const error = await createApi({ fetch }).blobPut("tok", SHA, new Uint8Array(10), { offset: 524288, length: 1843201 }).catch((e) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({
      status: 409, code: "409.40", uploadOffset: 786432,
      message: example("error").message, messages: example("error").messages, details: { received: 786432, offset: 524288 },
    });
  });

  it("a non-JSON error reply is a SyncError carrying the bare status", async () => {
    const { fetch } = scripted(new Response("<html>Bad Gateway</html>", { status: 502 }));
    await expect(createApi({ fetch }).pull("tok")).rejects.toMatchObject({ name: "SyncError", status: 502, code: "502", messages: {} });
  });

  it("a failed fetch is a NetworkError; a 2xx that is not the protocol's message is a ProtocolError", async () => {
    const { fetch } = scripted(new TypeError("Failed to fetch"), new Response("<html>portal</html>", { status: 200 }), jsonReply(200, { ok: true }));
    const api = createApi({ fetch });
    await expect(api.pull("tok")).rejects.toBeInstanceOf(NetworkError);
    await expect(api.pull("tok")).rejects.toBeInstanceOf(ProtocolError);
    await expect(api.push("tok", example("push-request"))).rejects.toBeInstanceOf(ProtocolError);
  });

  it("a push reply may carry the pull page that follows it, checked like a pull's", async () => {
    const { fetch } = scripted(jsonReply(200, example("push-reply-with-pull")), () => {
      const broken = example("push-reply-with-pull");
      broken.pull.has_more = "no";
      return jsonReply(200, broken);
    });
    const api = createApi({ fetch });
    expect(await api.push("tok", example("push-request-with-pull"))).toEqual(example("push-reply-with-pull"));
    await expect(api.push("tok", example("push-request-with-pull"))).rejects.toBeInstanceOf(ProtocolError);
  });

  it("pull passes cursor and limit in the query and returns the page", async () => {
    const page = example("pull-reply");
    const { fetch, calls } = scripted(jsonReply(200, page));
    expect(await createApi({ fetch }).pull("tok", { cursor: page.cursor, limit: 2 })).toEqual(page);
    const url = new URL(calls[0].url, "http://x");
    expect(url.pathname).toBe("/api/sync/pull");
    expect(Object.fromEntries(url.searchParams)).toEqual({ limit: "2", cursor: page.cursor });
  });

  it("uploads a chunk with Upload-Offset and Upload-Length, and reads HEAD's headers", async () => {
    const status = example("blob-status");
    const { fetch, calls } = scripted(
      jsonReply(200, status),
      new Response(null, { status: 200, headers: { "Upload-Offset": "786432", "Upload-Complete": "?0" } }),
      new Response(null, { status: 200, headers: { "Upload-Offset": "12" } }),
      new Response(null, { status: 404 }),
    );
    const api = createApi({ fetch });
    expect(await api.blobPut("tok", SHA, new Uint8Array(262144), { offset: 524288, length: 1843201 })).toEqual(status);
    expect(calls[0].init.headers).toMatchObject({
      "Content-Type": "application/offset+octet-stream", "Upload-Offset": "524288", "Upload-Length": "1843201",
    });
    expect(await api.blobHead("tok", SHA)).toEqual({ offset: 786432, complete: false });
    await expect(api.blobHead("tok", SHA)).rejects.toBeInstanceOf(ProtocolError);
    expect(await api.blobHead("tok", SHA)).toEqual({ offset: 0, complete: false });
    await expect(api.blobHead("tok", "../../api/admin")).rejects.toThrow(TypeError);
  });

  it("blobsMissing sends the example request shape and returns the missing list", async () => {
    const { fetch, calls } = scripted(jsonReply(200, example("blob-missing-reply")));
    const asked = example("blob-missing-request").sha256;
    expect(await createApi({ fetch }).blobsMissing("tok", asked)).toEqual(example("blob-missing-reply").missing);
    expect(shapeErrors(JSON.parse(calls[0].init.body), example("blob-missing-request"))).toEqual([]);
  });

  it("login and registration use the session cookie and the CSRF header", async () => {
    const { fetch, calls } = scripted(
      jsonReply(200, { user: { id: 12 }, csrf_token: "c" }),
      jsonReply(201, { device: { id: "d" }, token: "t" }),
      jsonReply(200, { kty: "EC", crv: "P-256", x: "x", y: "y", alg: "ES256", use: "sig" }),
    );
    const api = createApi({ fetch });
    expect(await api.login("u", "p")).toEqual({ user: { id: 12 }, csrf_token: "c" });
    expect(calls[0].init).toMatchObject({ credentials: "same-origin", method: "POST" });
    expect(JSON.parse(calls[0].init.body)).toEqual({ username: "u", password: "p" });
    await api.registerDevice("c", { device_id: "d", public_key: { kty: "EC", crv: "P-256", x: "x", y: "y" } });
    expect(calls[1]).toMatchObject({ url: "/api/devices", init: { credentials: "same-origin", headers: { "X-CSRF-Token": "c" } } });
    expect((await api.qrPublicKey()).crv).toBe("P-256");
    expect(calls[2].url).toBe("/api/qr/public-key");
  });
});

describe("the example shape check the fake server relies on", () => {
  it("reports a missing key, an extra key and a wrong type, and accepts free-form data", () => {
    const request = example("push-request");
    delete request.mutations[1].base_version;
    request.mutations[2].extra = 1;
    request.mutations[3].seq = "44";
    request.mutations[4].data = { anything: [1, 2] };
    expect(shapeErrors(request, example("push-request"))).toEqual([
      expect.stringContaining("$.mutations[1]: keys"),
      expect.stringContaining("$.mutations[2]: keys"),
      "$.mutations[3].seq: expected integer, got string",
    ]);
  });
});
