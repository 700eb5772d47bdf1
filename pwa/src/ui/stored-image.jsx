// An image kept on this device (a photo or a signature), shown from its bytes in IndexedDB.
import { useEffect, useState } from "preact/hooks";
import { getBlobBytes } from "../db/store.js";

/** The stored bytes of `sha256` as an <img>, or a placeholder while (or if) they are not on the device. */
export function StoredImage({ db, sha256, mime = "image/jpeg", className = "thumb", alt = "" }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    let made = null;
    getBlobBytes(db, sha256).then((bytes) => {
      if (bytes) setUrl((made = URL.createObjectURL(new Blob([bytes], { type: mime }))));
    });
    return () => made && URL.revokeObjectURL(made);
  }, [sha256]);
  return url ? <img class={className} src={url} alt={alt} /> : <span class={`${className} placeholder`}>✓</span>;
}
