// The new-token page (templates/api/token_created.html): a Copy button, shown only when the
// clipboard can be written; without it the box is selected on focus, to copy by hand.
document.querySelectorAll("[data-copy-source]").forEach((box) => {
  box.addEventListener("focus", () => box.select());
});
document.querySelectorAll("[data-copy-button]").forEach((button) => {
  const box = document.getElementById(button.dataset.copyButton);
  if (!box || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(box.value);
      button.textContent = "Copied";
    } catch {
      box.select();
      button.textContent = "Press Ctrl+C";
    }
  });
});
