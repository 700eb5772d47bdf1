// Form validation messages in the inspector's language instead of the browser's (which follow the browser's
// own locale, often English): one capture handler per form sets a message for the field that failed.
import { t } from "./i18n.js";

function messageFor(lang, field) {
  const v = field.validity;
  if (v.valueMissing) return t(lang, field.tagName === "SELECT" ? "invalid.choose" : "invalid.required");
  if (v.patternMismatch || v.typeMismatch || v.badInput) {
    return field.dataset.invalid ? t(lang, field.dataset.invalid) : t(lang, "invalid.pattern");
  }
  return "";
}

/** Props for a <form>: `onInvalidCapture` words each failed field in `lang`, `onInputCapture` clears it. */
export function localValidation(lang) {
  return {
    onInvalidCapture: (event) => {
      const field = event.target;
      field.setCustomValidity("");
      const message = messageFor(lang, field);
      if (message) field.setCustomValidity(message);
    },
    onInputCapture: (event) => event.target.setCustomValidity?.(""),
  };
}

/** Props for a day typed as YYYY-MM-DD (a date picker would show the browser's mm/dd/yyyy in English). */
export function dayInputProps(lang) {
  return { inputMode: "numeric", pattern: "\\d{4}-\\d{2}-\\d{2}", placeholder: t(lang, "datePlaceholder"), "data-invalid": "invalid.date", autoComplete: "off" };
}

/** Whether a YYYY-MM-DD text names a real calendar day (2026-02-30 does not). */
export function isRealDay(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}
