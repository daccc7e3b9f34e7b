// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the first field with an error so keyboard and screen-reader
  // users land where the form needs them.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
  document.querySelectorAll("[data-action=print]").forEach((b) =>
    b.addEventListener("click", () => window.print()));
});
