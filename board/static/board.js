// tracelock board: the only script. Copies the page's URL (the URL reproduces the page), and asks before
// a lock is written. Everything works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-copy-url]")) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(window.location.href);
        button.textContent = "Link copied";
      } catch (err) {
        button.textContent = window.location.href;
      }
    });
  }
});
