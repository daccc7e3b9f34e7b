// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the first field with an error so keyboard and screen-reader
  // users land where the form needs them.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
  document.querySelectorAll("[data-action=print]").forEach((b) =>
    b.addEventListener("click", () => window.print()));
});

// htmx requests (live refresh, inline actions) carry the CSRF token the
// page was rendered with, as the form field does for plain posts.
document.addEventListener("htmx:configRequest", (e) => {
  const t = document.querySelector("meta[name=csrf-token]");
  if (t) e.detail.headers["X-CSRF-Token"] = t.content;
});
