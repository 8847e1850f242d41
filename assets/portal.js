// mlat portal: the only script, and nothing depends on it. It shows the
// progress of an evidence upload; without it the form posts as any other.
"use strict";

function showStatus(form, text) {
  const status = form.querySelector(".upload-status");
  if (status) status.textContent = text;
}

function upload(form) {
  const progress = form.querySelector("progress");
  const button = form.querySelector("button[type=submit]");
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.floor((event.loaded / event.total) * 100);
    progress.value = percent;
    showStatus(form, `Sent ${percent}%`);
  });
  request.upload.addEventListener("load", () => {
    showStatus(form, "Sent. Checking and recording the file…");
  });
  request.addEventListener("load", () => {
    // Received: the server sent the browser on to the request page.
    if (request.responseURL.includes("?done=")) {
      // The redirect's fragment does not reach the script: add it back.
      window.location.assign(`${request.responseURL.split("#")[0]}#evidence`);
      return;
    }
    // Refused: show the page the server answered with, as a post would.
    const page = new DOMParser().parseFromString(request.responseText, "text/html");
    const main = page.querySelector("main");
    if (main) {
      document.querySelector("main").replaceWith(document.adoptNode(main));
      document.title = page.title;
      const problem = document.querySelector("[role=alert]");
      if (problem) problem.scrollIntoView();
    } else {
      showStatus(form, `The upload failed (${request.status}). Reload the page and try again.`);
      button.disabled = false;
    }
  });
  request.addEventListener("error", () => {
    showStatus(form, "The connection failed: nothing was received. Try again.");
    button.disabled = false;
    progress.hidden = true;
  });
  progress.hidden = false;
  progress.value = 0;
  button.disabled = true;
  showStatus(form, "Sending…");
  request.send(new FormData(form));
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload")) return;
  if (typeof XMLHttpRequest === "undefined" || typeof FormData === "undefined") return;
  event.preventDefault();
  upload(form);
});
