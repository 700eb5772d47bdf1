// The print-only view of an enforcement document (现场检查记录 / 责令限期整改指令书) after submission, offline:
// the text from src/domain/documents.js, signatures and hazard photos from IndexedDB, the verification QR code
// drawn here as SVG. window.print() prints it; the app around it is hidden by the @media print rules.
import qrcode from "qrcode-generator";
import { useEffect, useMemo, useState } from "preact/hooks";
import { getBlobBytes, getMeta } from "../db/store.js";
import { buildDocuments, zhDate } from "../domain/documents.js";
import { t } from "./i18n.js";

/** Quiet zone around the code, in modules (the QR standard asks for four). */
const QUIET = 4;

/** The QR code of `text` (error correction Q, as the server's) as crisp SVG squares. */
export function QrCode({ text, label }) {
  const { d, size } = useMemo(() => {
    const qr = qrcode(0, "Q");
    qr.addData(text);
    qr.make();
    const count = qr.getModuleCount();
    let path = "";
    for (let row = 0; row < count; row += 1) {
      for (let col = 0; col < count; col += 1) {
        if (qr.isDark(row, col)) path += `M${col + QUIET} ${row + QUIET}h1v1h-1z`;
      }
    }
    return { d: path, size: count + 2 * QUIET };
  }, [text]);
  return (
    <svg class="doc-qr-code" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={label} shape-rendering="crispEdges" data-testid="doc-qr">
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/** An image kept on the tablet (a signature or a photo), or `fallback` when its bytes are not here. */
function StoredImage({ db, sha256, mime, alt, className, fallback }) {
  const [url, setUrl] = useState(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    let made = null;
    let live = true;
    if (!sha256) {
      setMissing(true);
      return undefined;
    }
    getBlobBytes(db, sha256).then((bytes) => {
      if (!live) return;
      if (bytes) setUrl((made = URL.createObjectURL(new Blob([bytes], { type: mime }))));
      else setMissing(true);
    });
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [sha256]);
  if (url) return <img class={className} src={url} alt={alt} />;
  return missing ? <span class={`${className} doc-missing`}>{fallback}</span> : <span class={className} />;
}

function Signers({ db, signers }) {
  return (
    <div class="doc-signers">
      {signers.map(({ label, signature }) => (
        <div class="doc-signer" key={label}>
          <div class="doc-signer-label">{label}</div>
          <StoredImage db={db} sha256={signature?.sha256} mime="image/png" alt={label} className="doc-signature"
            fallback={signature ? "本机未保留签名图像" : "未取得签名图像"} />
          <div class="doc-signer-at">{signature?.at && signature.at !== "—" ? `签名时间 ${signature.at}` : ""}</div>
        </div>
      ))}
    </div>
  );
}

function Seal({ seal }) {
  return (
    <section class="doc-seal">
      <h3>电子封存与核验</h3>
      {seal.url ? (
        <>
          <p>本文书内容取自执法终端现场封存的检查记录。</p>
          <p>封存记录 SHA-256：<span class="doc-hash">{seal.sha256}</span></p>
          <p>核验地址：<span class="doc-hash">{seal.url}</span></p>
          <p>扫描二维码或访问核验地址，可核对本文书与存档记录是否一致。</p>
        </>
      ) : <p>未封存，无法在线核验。</p>}
    </section>
  );
}

function RecordBody({ db, doc }) {
  return (
    <>
      <table class="doc-facts">
        <tbody>{doc.facts.map(([label, value]) => <tr key={label}><th>{label}</th><td>{value}</td></tr>)}</tbody>
      </table>
      <p class="doc-para">{doc.intro}</p>
      <h2>一、检查情况</h2>
      <table class="doc-table">
        <thead><tr><th class="doc-code">编号</th><th>检查内容</th><th class="doc-result">结果</th><th class="doc-note">备注</th></tr></thead>
        <tbody>
          {doc.checks.map((c) => (
            <tr key={c.code} class={c.nonCompliant ? "doc-flagged" : ""}>
              <td class="doc-code">{c.code}</td><td>{c.text}</td><td class="doc-result">{c.result}</td><td class="doc-note">{c.note}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {doc.unanswered > 0 && <p class="doc-small">目录中其余 {doc.unanswered} 项不适用于本单位，未列入。</p>}
      <h2>二、发现的事故隐患</h2>
      {doc.hazards.length === 0 ? <p class="doc-para">本次检查未发现事故隐患。</p> : (
        <>
          <table class="doc-table">
            <thead><tr><th class="doc-code">序号</th><th>隐患描述</th><th>部位</th><th>等级</th><th>整改期限</th></tr></thead>
            <tbody>
              {doc.hazards.map((h) => (
                <tr key={h.id}>
                  <td class="doc-code">{h.number}</td>
                  <td>{h.description}{h.itemCode ? `（检查项 ${h.itemCode}）` : ""}</td>
                  <td>{h.place || "—"}</td><td class="doc-nowrap">{h.level}</td>
                  <td class="doc-nowrap">{h.deadline ? `${zhDate(h.deadline)}前` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="doc-para">已当场下达《责令限期整改指令书》（{doc.orderNumber}）。</p>
        </>
      )}
      <h2>三、签名确认</h2>
      <Signers db={db} signers={doc.signers} />
    </>
  );
}

function OrderBody({ db, doc }) {
  return (
    <>
      <p class="doc-addressee">{doc.addressee}</p>
      <p class="doc-para">{doc.opening}</p>
      <ol class="doc-problems">
        {doc.problems.map((p) => (
          <li key={p.number}>
            <p>{p.text}</p>
            {p.photo && <StoredImage db={db} sha256={p.photo} mime="image/jpeg" alt={`隐患 ${p.number} 照片`} className="doc-photo" fallback="（照片已上传，本机未保留）" />}
          </li>
        ))}
      </ol>
      {doc.paragraphs.map((text) => <p class="doc-para" key={text.slice(0, 24)}>{text}</p>)}
      <Signers db={db} signers={doc.signers} />
      <p class="doc-stamp">{doc.stamp}<br />{doc.date}</p>
      <p class="doc-small">{doc.copies}</p>
    </>
  );
}

/** The document `kind` ("record" or "order") of a submitted inspection, ready for window.print(). */
export function PrintView({ lang, db, kind, inspection, enterprise, catalogue, answers, hazards, photos, onClose }) {
  const [region, setRegion] = useState(undefined);
  useEffect(() => {
    // The documents are issued by the inspector's bureau: the signed-in user's region, kept on the device.
    getMeta(db, "device").then((device) => setRegion(device?.user?.region ?? null));
  }, [db]);
  const docs = useMemo(() => (region === undefined ? null : buildDocuments({
    inspection, enterprise, items: catalogue?.data?.items ?? [], answers, hazards, photos, region,
    origin: globalThis.location?.origin ?? "",
  })), [region, inspection, enterprise, catalogue, answers, hazards, photos]);
  const doc = docs?.[kind];
  return (
    <div class="print-view">
      <div class="print-toolbar no-print">
        <button onClick={() => window.print()} disabled={!doc} data-testid="print-now">{t(lang, "printNow")}</button>
        <button class="secondary" onClick={onClose}>{t(lang, "back")}</button>
        <span class="meta">{t(lang, "printHint")}</span>
      </div>
      {doc && (
        <article class="print-doc" data-testid="print-doc" data-kind={kind}>
          <header class="doc-head">
            {doc.verifyUrl && (
              <figure class="doc-qr"><QrCode text={doc.verifyUrl} label={doc.verifyUrl} /><figcaption>扫码核验</figcaption></figure>
            )}
            <p class="doc-authority">{doc.authority}</p>
            <h1>{doc.title}</h1>
            <p class="doc-number" data-testid="doc-number">{doc.number}</p>
          </header>
          {kind === "record" ? <RecordBody db={db} doc={doc} /> : <OrderBody db={db} doc={doc} />}
          <Seal seal={doc.seal} />
        </article>
      )}
    </div>
  );
}
