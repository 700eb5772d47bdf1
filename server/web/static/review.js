// The review page's photo viewer: a thumbnail opens its full-size photo in a dialog over the page, with the
// previous and next photos a key press away. Without this file each thumbnail simply links to the photo.
(() => {
  const viewer = document.querySelector("dialog.photo-viewer");
  if (!viewer || typeof viewer.showModal !== "function") return;
  const image = viewer.querySelector("img");
  const caption = viewer.querySelector("figcaption");
  const original = viewer.querySelector(".photo-viewer-original");
  const links = () => Array.from(document.querySelectorAll("a.photo-link"));
  let current = -1;

  function show(index) {
    const all = links();
    if (!all.length) return;
    current = (index + all.length) % all.length;
    const link = all[current];
    image.src = link.href;
    image.alt = link.querySelector("img")?.alt || "";
    caption.textContent = `${link.dataset.caption || ""}（${current + 1}/${all.length}）`;
    original.href = link.href;
    if (!viewer.open) viewer.showModal();
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.photo-link");
    // A modified click keeps its usual meaning (a new tab, a download).
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    show(links().indexOf(link));
  });
  viewer.addEventListener("click", (event) => {
    const step = event.target.closest("[data-step]");
    if (step) show(current + Number(step.dataset.step));
    else if (event.target === viewer || event.target.closest(".photo-viewer-close")) viewer.close();
  });
  viewer.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
  });
  viewer.addEventListener("close", () => {
    image.removeAttribute("src");
    links()[current]?.focus();
  });
})();
